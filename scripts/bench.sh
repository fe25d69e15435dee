#!/usr/bin/env bash
# Runs Bedside's load benchmark at full size (BENCHMARKS.md): builds release, then runs the
# chat (200 sessions, then 50 as chat-50), idle, slow-consumer, capacity and replay scenarios
# one after another, each against its own freshly started bedside process and then (all but
# replay) against a freshly started floor server, whose figures are printed beside Bedside's.
# Writes bench-results/<scenario>.json and the tables to bench-results/tables.txt. Takes about
# ten minutes on two cores once built.
#
#   bash scripts/bench.sh               every scenario
#   bash scripts/bench.sh chat replay   just these
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(chat chat-50 idle slow-consumer capacity replay)

echo "== build (release)"
swift build -c release --product bedside
swift build -c release --product bedside-bench
bench=".build/release/bedside-bench"

mkdir -p bench-results
: > bench-results/tables.txt
status=0
for scenario in "${scenarios[@]}"; do
    echo "== $scenario"
    # Full sizes are the defaults: 200 sessions x 10 turns, 1 tool call + 40 tokens at 5 ms,
    # 20,000 idle connections held 10 s, 25% slow consumers, capacity steps of 5 turns from 20
    # sessions up (at most 180 s per server), 10,000 replayed events.
    args=("$scenario")
    # chat-50: the chat scenario at 50 sessions, for the targets stated at that size.
    [ "$scenario" = chat-50 ] && args=(chat --sessions 50)
    if ! "$bench" "${args[@]}" --out "bench-results/$scenario.json" | tee -a bench-results/tables.txt; then
        status=1
    fi
done
echo "== tables in bench-results/tables.txt"
exit $status
