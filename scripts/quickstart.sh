#!/usr/bin/env bash
# The quick start: install, start the local WordPress, and run the example series through the
# real pipeline, scheduled a minute apart (QUICKSTART_GAP seconds to change that). Announcements
# are recorded as skipped: there are no X credentials. Ends with `pipeline status` and `log`.
#
# The demo site lives in .demo/ (a pipeline.toml pointing at posts/ and at the local WordPress);
# each run starts from an empty WordPress and an empty state.
set -euo pipefail
cd "$(dirname "$0")/.."
gap="${QUICKSTART_GAP:-60}"
bash scripts/setup.sh
bash scripts/wordpress.sh install
bash scripts/wordpress.sh start
bash scripts/wordpress.sh reset
pipeline=.venv/bin/pipeline

mkdir -p .demo
rm -rf .demo/state
eval "$(.venv/bin/python - <<'PY'
import json, shlex
import os
env = json.load(open(os.path.join(os.environ.get("WP_STATE_DIR", ".wordpress"), "env.json")))
print(f"export PIPELINE_WORDPRESS_USER={shlex.quote(env['user'])}")
print(f"export PIPELINE_WORDPRESS_APP_PASSWORD={shlex.quote(env['app_password'])}")
print(f"wp_url={shlex.quote(env['url'])}")
PY
)"
.venv/bin/python - "$gap" "$wp_url" <<'PY'
import sys
from datetime import datetime, timedelta
gap, url = int(sys.argv[1]), sys.argv[2]
start = datetime.now().astimezone().replace(microsecond=0) + timedelta(seconds=10)
slugs = ["paper-lanterns-part-1", "physical-media.md", "paper-lanterns-part-2",
         "paper-lanterns-part-3"]
schedule = "".join(
    f'\n[[schedule]]\npost = "{slug}"\nat = "{(start + i * timedelta(seconds=gap)).isoformat()}"\n'
    for i, slug in enumerate(slugs))
open(".demo/pipeline.toml", "w").write(f'''# Written by scripts/quickstart.sh
timezone = "UTC"
posts_dir = "../posts"
state_dir = "state"

[wordpress]
url = "{url}"

[x]
template = "New on the blog: {{title}} {{url}} {{hashtags}}"
thread_series = true
{schedule}''')
PY
export PIPELINE_CONFIG=.demo/pipeline.toml
echo "== pipeline check"
$pipeline check
echo "== pipeline preview"
$pipeline preview --out .demo/preview
echo "== pipeline run (until the four posts are live; Ctrl-C stops it early)"
$pipeline run &
runner=$!
trap 'kill -TERM $runner 2>/dev/null || true' EXIT
for _ in $(seq 1 $((gap * 4 + 120))); do
    live=$($pipeline status --json | .venv/bin/python -c \
        'import json,sys; print(sum(1 for p in json.load(sys.stdin) if p["state"] == "live"))')
    [[ "$live" -ge 4 ]] && break
    sleep 1
done
kill -TERM $runner && wait $runner || true
trap - EXIT
echo "== pipeline status"
$pipeline status
echo "== pipeline log"
$pipeline log --limit 30
echo
echo "Open $wp_url/ to see the posts; .demo/preview/index.html is the offline preview."
