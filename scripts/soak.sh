#!/usr/bin/env bash
# Bedside's soak: 50 sessions chat for 30 minutes (with a think time between turns) against
# .build/debug/bedside on 127.0.0.1; prints RSS, open descriptors and delivery latency at the
# start and at the end, then checks every transcript against the stored history. Outside CI.
#
#   bash scripts/soak.sh                  # 30 minutes, 50 sessions
#   bash scripts/soak.sh --minutes 5      # shorter
#   bash scripts/soak.sh --bedside PATH --sessions N --think MIN MAX --report soak.json
#
# Needs python3 with the PyPI packages websockets and aiohttp. The last line is
# `soak: N passed, M failed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! python3 -c 'import websockets, aiohttp' 2>/dev/null; then
    echo "soak: needs the Python packages websockets and aiohttp (python3 -m pip install websockets aiohttp)" >&2
    exit 2
fi
exec python3 scripts/chaos/soak.py "$@"
