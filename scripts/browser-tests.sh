#!/usr/bin/env bash
# Runs the browser tests (Tests/browser: selenium, headless Chromium, axe-core) against the
# already-built .build/debug/bedside on a free port with a temporary database. Builds nothing.
# Needs chromium, chromium-driver and the Python packages selenium and axe-selenium-python
# (.ci/run installs them). The sign-in tests (Tests/browser/test_auth.py) also start the real
# OpenID provider of scripts/oidc-provider.sh (glewlwyd, sqlite3, openssl) on 127.0.0.1; they
# are skipped, saying so, when glewlwyd is not installed. BEDSIDE_BROWSER_FAKE_MODEL=1 answers
# with a scripted model; BEDSIDE_BINARY runs another build of bedside.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The tests name Debian's chromium and chromedriver; Selenium Manager must not go looking for
# drivers or send usage statistics over the network.
export SE_OFFLINE=true SE_AVOID_STATS=true
python3 Tests/browser/run.py "$@"
