#!/usr/bin/env bash
# build.sh BLOCK_LIBRARY_VERSION OUT_DIR: a page-loadable bundle.js of the block editor's block
# API and core blocks at that @wordpress/block-library version, with the @wordpress packages of
# its own release (pin.js). Needs node and npm (the npm registry); esbuild comes from npm too.
# OVERRIDES='{"pkg": "version"}' adds npm overrides (for a registry mirror missing a version).
set -euo pipefail
version=$1
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cd "$out"
printf '{"name": "editor-bundle", "private": true, "version": "0.0.0", "dependencies": {"@wordpress/block-library": "%s", "esbuild": "^0.25.0"}, "overrides": %s}\n' \
    "$version" "${OVERRIDES:-{\}}" >package.json
npm install --no-audit --no-fund --loglevel=error
count=0
while true; do
    pins=$(node "$here/pin.js" .)
    [[ $pins == "$count" ]] && break
    count=$pins
    npm install --no-audit --no-fund --loglevel=error
done
cp "$here/entry.js" .
# --ignore-annotations: keep every module's side effects (hook registrations), whatever the
# packages' "sideEffects" say, as WordPress's own scripts do.
./node_modules/.bin/esbuild entry.js --bundle --format=iife --minify --outfile=bundle.js \
    --ignore-annotations --loader:.css=empty --loader:.scss=empty --log-level=error \
    --define:process.env.NODE_ENV='"production"' --define:process.env.IS_GUTENBERG_PLUGIN=false \
    --define:globalThis.IS_GUTENBERG_PLUGIN=false --define:globalThis.SCRIPT_DEBUG=false
echo "$out/bundle.js: @wordpress/block-library $version, @wordpress/blocks" \
    "$(node -p "require('./node_modules/@wordpress/blocks/package.json').version")"
