#!/usr/bin/env bash
# Runs each benchmark scenario once at a small size against the debug build (CI): every run
# must finish, complete its turns and see 0 foreign events (an event of another session).
# Figures from a debug build on a busy machine mean nothing; see scripts/bench.sh for those.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench=".build/debug/bedside-bench"
[ -x "$bench" ] || swift build --product bedside-bench
[ -x .build/debug/bedside ] || swift build --product bedside
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

run() {
    local scenario="$1"
    shift
    echo "-- $scenario $*"
    "$bench" "$scenario" "$@" --out "$out/$scenario.json" > "$out/$scenario.txt" 2>&1 || {
        cat "$out/$scenario.txt"
        echo "error: bedside-bench $scenario failed" >&2
        exit 1
    }
    python3 - "$out/$scenario.json" "$scenario" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = {row["metric"]: row for row in report["rows"]}
failures = [name for name, row in rows.items() if name.endswith("foreign events") and row["value"] != 0]
failures += [name for name, row in rows.items() if name.endswith("turns failed or cut") and row["value"] != 0]
if sys.argv[2] == "idle" and not rows[next(n for n in rows if n.startswith("connections held"))]["met"]:
    failures.append("idle connections were dropped")
if sys.argv[2] == "replay" and rows["foreign events"]["value"] != 0:
    failures.append("replay")
for name in failures:
    print(f"error: {sys.argv[2]}: {name}: {rows.get(name, {}).get('value')}", file=sys.stderr)
print(f"   {sys.argv[2]}: ok, 0 foreign events")
sys.exit(1 if failures else 0)
PY
}

run chat --sessions 6 --turns 2 --tokens 5 --token-interval-ms 2
run idle --connections 100 --hold-seconds 1
run slow-consumer --sessions 4 --turns 3 --tokens 30 --token-interval-ms 1 --slow-share 0.5
run replay --events 600 --replays 2
echo "benchmark smoke run passed"
