#!/usr/bin/env bash
# Runs the browser tests (Tests/browser: selenium, headless Chromium, axe-core) against the
# already-built .build/debug/bedside on a free port with a temporary database. Builds nothing.
# Needs chromium, chromium-driver and the Python packages selenium and axe-selenium-python
# (.ci/run installs them). BEDSIDE_BROWSER_FAKE_MODEL=1 answers with a scripted model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 Tests/browser/run.py "$@"
