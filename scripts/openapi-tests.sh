#!/usr/bin/env bash
# Checks docs/openapi.yaml against the real server: validates it (openapi-spec-validator), then
# starts .build/debug/bedside on 127.0.0.1 (a free port, a scratch data directory, --auth none so
# every request is the local admin, the embedded FHIR store, the offline model), gives it the
# data the document's examples name (Tests/openapi/seed.py), and runs schemathesis against it,
# bounded in examples per operation and in wall time. Its checks: the server never answers 5xx,
# every status is documented, every body and Content-Type matches the document.
#
# Not fuzzed, because random input cannot drive them meaningfully (docs/openapi.yaml still
# describes them, and OpenAPIRouteTests checks that they are there):
#   /mcp (POST, GET, DELETE)  JSON-RPC over Streamable HTTP; Tests/mcp/*.py drive it with the MCP SDK
#   GET /sessions/updates     a server-sent event stream that stays open
#   GET /auth/login, /auth/callback   the OpenID redirect flow (404 without --auth oidc); Tests/oidc
# GET /ws is fuzzed as the plain GET that diagnoses an upgrade; the WebSocket upgrade itself is not.
#
# Usage: bash scripts/openapi-tests.sh        (after swift build)
#   OPENAPI_MAX_EXAMPLES (default 25) test cases per operation and phase;
#   OPENAPI_MAX_TIME (default 70) seconds after which schemathesis is stopped (a failure): the
#   examples bound the run, this only keeps a hung one from hanging CI;
#   OPENAPI_SEED fixes the random seed (schemathesis prints the one it used).
# Ends with `openapi: N passed, M failed` (the validation, then one per operation fuzzed) and
# exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

binary=.build/debug/bedside
[ -x "$binary" ] || { echo "openapi: $binary is missing: run swift build first" >&2; exit 1; }
work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

passed=0
failed=0

echo "== openapi: validate docs/openapi.yaml"
if python3 Tests/openapi/check_openapi.py docs/openapi.yaml; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== openapi: start bedside"
BEDSIDE_LOG_LEVEL=warning "$binary" --host 127.0.0.1 --port 0 \
    --database "$work/bedside.sqlite" --fhir-database "$work/fhir.sqlite" --auth-database "$work/auth.sqlite" \
    --seed-patients 3 --llm offline --offline-delta-ms 1 >"$work/server.log" 2>&1 &
server_pid=$!
base=""
# Generous deadlines that end as soon as the condition holds: a loaded CI machine starts slowly.
for _ in $(seq 1 1200); do
    base="$(grep -oE 'running at http://127\.0\.0\.1:[0-9]+' "$work/server.log" | head -1 | sed 's/running at //' || true)"
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
ready=0
if [ -n "$base" ]; then
    for _ in $(seq 1 1200); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/ready" || true)" = 200 ]; then ready=1; break; fi
        sleep 0.1
    done
fi
if [ "$ready" != 1 ]; then
    echo "openapi: bedside did not become ready; its log:" >&2
    cat "$work/server.log" >&2
    failed=$((failed + 1))
    echo "openapi: $passed passed, $failed failed"
    exit 1
fi
echo "bedside is ready at $base"
if ! python3 Tests/openapi/seed.py "$base"; then
    echo "openapi: seeding the examples' data failed; the server's log:" >&2
    cat "$work/server.log" >&2
    echo "openapi: $passed passed, $((failed + 1)) failed"
    exit 1
fi

echo "== openapi: schemathesis against $base"
seed_args=()
[ -n "${OPENAPI_SEED:-}" ] && seed_args=(--seed "$OPENAPI_SEED")
set +e
# Run from the scratch directory: schemathesis keeps a cache (.schemathesis/) where it runs.
repo="$(pwd)"
(cd "$work" && timeout --signal=INT --kill-after=10 "${OPENAPI_MAX_TIME:-70}" schemathesis run "$repo/docs/openapi.yaml" --url "$base" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --exclude-path-regex '^/(mcp|sessions/updates|auth/login|auth/callback)$' \
    --max-examples "${OPENAPI_MAX_EXAMPLES:-25}" \
    --workers 1 --request-timeout 20 --max-redirects 0 --continue-on-failure \
    --report junit --report-junit-path "$work/junit.xml" --output-truncate false \
    --generation-database none --warnings off "${seed_args[@]}")
status=$?
set -e
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "openapi: bedside exited during the run; its log:" >&2
    cat "$work/server.log" >&2
    status=1
fi
stop_server

# One JUnit test case per operation; a failure or error element marks a failed one.
read -r cases bad < <(python3 - "$work/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as tree
try:
    cases = list(tree.parse(sys.argv[1]).getroot().iter("testcase"))
except (OSError, tree.ParseError):
    print(0, 0)
    raise SystemExit
bad = sum(1 for case in cases if case.find("failure") is not None or case.find("error") is not None)
print(len(cases), bad)
PY
)
if [ "$cases" = 0 ]; then
    echo "openapi: schemathesis produced no report" >&2
    failed=$((failed + 1))
else
    passed=$((passed + cases - bad))
    failed=$((failed + bad))
fi
# schemathesis failing with every operation passed (a crash, a broken run) still fails the script.
if [ "$status" != 0 ] && [ "$bad" = 0 ]; then failed=$((failed + 1)); fi
echo "openapi: $passed passed, $failed failed"
[ "$failed" = 0 ]
