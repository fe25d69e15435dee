#!/usr/bin/env bash
# Runs every Bedside check: formatting, a strict build, all tests with code coverage, the
# coverage bars, the web UI's node tests (with the connection module's coverage bar), a small
# run of the load benchmark, a minute of fuzzing, the external MCP client test, the OpenAPI
# contract check (schemathesis), the quick chaos run and the browser tests. Expects the
# toolchain, system libraries and packages that .ci/run installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== format"
bash scripts/format.sh --check

echo "== build (warnings are errors; target imports must match declared dependencies)"
swift build --build-tests --enable-code-coverage --explicit-target-dependency-import-check error

# Tests with "Latency" in their name assert time bounds (cancel within 100 ms); they run on
# their own first, so that the rest of the suite running in parallel on few cores cannot
# stretch what they measure.
echo "== latency tests (alone)"
swift test --skip-build --enable-code-coverage --filter Latency

echo "== tests"
swift test --skip-build --enable-code-coverage --skip Latency

echo "== coverage"
# The toolchain's own llvm-cov: a system llvm-cov earlier on PATH may not read its profiles.
llvm_cov="$(dirname "$(readlink -f "$(command -v swift)")")/llvm-cov"
profdata=".build/debug/codecov/default.profdata"
binary=".build/debug/BedsidePackageTests.xctest"
summary=".build/debug/codecov/summary.json"
"$llvm_cov" export -summary-only -instr-profile "$profdata" "$binary" \
    -ignore-filename-regex '(\.build|Tests|BedsideTestSupport)/' > "$summary"
python3 scripts/coverage.py "$summary"

echo "== web unit tests (node --test, connection module at 85% of lines or more)"
bash scripts/web-tests.sh

echo "== benchmark smoke run (each scenario once, small; must see 0 foreign events)"
bash scripts/bench-smoke.sh

echo "== fuzzing (libFuzzer: client frames, FHIR import, dates, search; 15 s per target)"
bash scripts/fuzz.sh

echo "== MCP client test (the official MCP Python SDK against .build/debug/bedside's /mcp)"
python3 Tests/mcp/mcp_client_test.py .build/debug/bedside
python3 Tests/mcp/mcp_auth_test.py .build/debug/bedside

echo "== OpenAPI contract (docs/openapi.yaml validated, then schemathesis against .build/debug/bedside)"
bash scripts/openapi-tests.sh

echo "== OpenID provider check (the real glewlwyd the sign-in tests use, on loopback)"
python3 Tests/oidc/check_provider.py

echo "== chaos run, quick (drops, SIGKILLs, model and MCP faults, OTLP down, a full disk; about 2 minutes)"
if [ "$(id -u)" -eq 0 ]; then
    bash scripts/chaos.sh --quick
else
    # Filling the event store's filesystem mounts a tmpfs, which needs root (CI runs as root).
    echo "(not root: the filled-disk fault is left out)"
    bash scripts/chaos.sh --quick --no-fill
fi

echo "== browser tests (headless Chromium against .build/debug/bedside)"
bash scripts/browser-tests.sh
