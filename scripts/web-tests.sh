#!/usr/bin/env bash
# Runs the web UI's unit tests (node --test over Web/test) with coverage, and fails when the
# connection module (reconnect, resume, resend) has under 85% line coverage. Needs Node 20+.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../Web"

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
node --test --experimental-test-coverage test/*.test.js | tee "$report" | grep -E '^(not ok|# (tests|pass|fail)|# [a-z/.-]+\.js +\|)' || true
if grep -q '^not ok' "$report" || ! grep -q '^# fail 0$' "$report"; then
    echo "error: web unit tests failed (the full TAP output follows)" >&2
    cat "$report" >&2
    exit 1
fi
node ../scripts/web-coverage.mjs "$report" public/lib/connection.js 85
