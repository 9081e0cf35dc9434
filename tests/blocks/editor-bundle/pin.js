// Pins every @wordpress/* package to one Gutenberg release set: the version its dependents declare
// as the least of their caret ranges, or a later patch of it (Gutenberg publishes all packages
// together and each names the others at their versions of that release). Run after each `npm install` until
// the number of pins stops growing: it writes package.json's "overrides".
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const manifest = path.join(dir, 'package.json');
const pkg = JSON.parse(fs.readFileSync(manifest));
const pins = { ...(pkg.overrides || {}) };
for (const name of ['@wordpress/block-library', '@wordpress/blocks']) {
  if (pkg.dependencies[name] && !(name in pins)) pins[name] = pkg.dependencies[name];
}
// "~X.Y.Z": that version or a later patch of the same line (a backport, or what a registry
// mirror has when it misses the exact version).
const sameLine = (pin, version) => {
  if (!pin) return false;
  const [want, have] = [pin.replace(/^~/, ''), version].map((v) => v.split('.').map(Number));
  return want[0] === have[0] && want[1] === have[1] && have[2] >= want[2];
};
const seen = new Set();
const walk = (moduleDir) => {
  const scope = path.join(moduleDir, 'node_modules', '@wordpress');
  if (!fs.existsSync(scope)) return;
  for (const name of fs.readdirSync(scope)) {
    const file = path.join(scope, name, 'package.json');
    if (!fs.existsSync(file) || seen.has(file)) continue;
    seen.add(file);
    const meta = JSON.parse(fs.readFileSync(file));
    if (sameLine(pins[`@wordpress/${name}`], meta.version)) {
      for (const [dep, range] of Object.entries(meta.dependencies || {})) {
        if (dep.startsWith('@wordpress/') && !(dep in pins)) pins[dep] = `~${range.replace(/^[\^~]/, '')}`;
      }
    }
    walk(path.join(scope, name));
  }
};
walk(dir);
pkg.overrides = pins;
// What entry.js imports must be top-level packages.
for (const name of ['@wordpress/block-library', '@wordpress/blocks', '@wordpress/block-editor']) {
  if (pins[name]) pkg.dependencies[name] = pins[name];
}
fs.writeFileSync(manifest, JSON.stringify(pkg, null, 1) + '\n');
console.log(Object.keys(pins).length);
