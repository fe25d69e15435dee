#!/usr/bin/env bash
# Runs each benchmark scenario once at a small size against the debug build (CI): every run
# must finish, complete its turns and see 0 foreign events (an event of another session), on
# Bedside and on the floor server, which runs in each scenario but replay.
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
failures = []
for name, row in rows.items():
    # Bedside's figure, and the floor's beside it when the floor ran.
    for who, value in (("Bedside", row.get("value")), ("floor", row.get("floor"))):
        if value is None:
            continue
        if (name.endswith("foreign events") or name.endswith("turns failed or cut")) and value != 0:
            failures.append(f"{who}: {name}: {value}")
        if name.startswith("connections held") and value != float(row["target"]):
            failures.append(f"{who}: idle connections were dropped: {value} of {row['target']} held")
if sys.argv[2] == "chat" and rows["turns completed"].get("floor") is None:
    failures.append("the floor did not run")
if sys.argv[2] == "capacity" and rows[next(n for n in rows if n.startswith("capacity"))]["value"] is None:
    failures.append("no capacity found")
for failure in failures:
    print(f"error: {sys.argv[2]}: {failure}", file=sys.stderr)
if not failures:
    print(f"   {sys.argv[2]}: ok, 0 foreign events")
sys.exit(1 if failures else 0)
PY
}

run chat --sessions 6 --turns 2 --tokens 5 --token-interval-ms 2
run idle --connections 100 --hold-seconds 1
run slow-consumer --sessions 4 --turns 3 --tokens 30 --token-interval-ms 1 --slow-share 0.5
run capacity --capacity-steps 2,4 --capacity-turns 1 --capacity-seconds 30 --tokens 5 --token-interval-ms 2
run replay --events 600 --replays 2
echo "benchmark smoke run passed"
