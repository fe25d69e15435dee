#!/usr/bin/env bash
# Bedside's chaos run: 100 sessions chat over WebSocket on 127.0.0.1 while clients drop and
# resume, the server is SIGKILLed and restarted, the model fails, an MCP server dies mid-call,
# the OTLP collector goes down and the event store's filesystem fills up; then every
# transcript is checked against the stored history (RELIABILITY.md has the details).
#
#   bash scripts/chaos.sh                 # full size (about 9 minutes on 2 cores)
#   bash scripts/chaos.sh --quick         # the CI size (about two minutes)
#   bash scripts/chaos.sh --bedside PATH  # another build, e.g. .build/release/bedside
#   bash scripts/chaos.sh --no-fill       # without the filled-disk fault (no root needed)
#   bash scripts/chaos.sh --help          # every option (--seed, --report, --keep, …)
#
# The filled-disk fault mounts a tmpfs for the event store and so runs as root. Needs python3
# with the PyPI packages websockets and aiohttp. First the driver's own checks are shown to
# catch violations (scripts/chaos/test_checks.py), then the run. Exits non-zero on any
# violation; the last line is `chaos: N passed, M failed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! python3 -c 'import websockets, aiohttp' 2>/dev/null; then
    echo "chaos: needs the Python packages websockets and aiohttp (python3 -m pip install websockets aiohttp)" >&2
    exit 2
fi
for arg in "$@"; do
    if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then exec python3 scripts/chaos/chaos.py --help; fi
done
python3 scripts/chaos/test_checks.py
work="$(mktemp -d "${TMPDIR:-/tmp}/bedside-chaos-XXXXXX")"
# Whatever happens to the driver, the event store's tmpfs does not stay mounted.
trap 'if mountpoint -q "$work/events" 2>/dev/null; then umount "$work/events" || umount -l "$work/events"; fi' EXIT
python3 scripts/chaos/chaos.py --work "$work" "$@"
