#!/usr/bin/env bash
# Formats Bedside's Swift sources with swift-format and the repository's .swift-format.
#
#   bash scripts/format.sh          rewrite Sources, Tests and Package.swift in place
#   bash scripts/format.sh --check  change nothing; fail if any file is not formatted
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

paths=(Sources Tests Web/BedsideWeb.swift Package.swift)

case "${1:-}" in
"")
    swift format format --configuration .swift-format --in-place --recursive --parallel "${paths[@]}"
    ;;
--check)
    if ! swift format lint --configuration .swift-format --strict --recursive --parallel "${paths[@]}"; then
        echo "error: the Swift sources are not formatted: run bash scripts/format.sh" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: bash scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac
