#!/usr/bin/env python3
"""Line coverage per Bedside target from `llvm-cov export -summary-only`, with the project's bars.

Usage: python3 scripts/coverage.py COVERAGE.json
Fails (exit 1) when overall line coverage is under 80% or the session hub and connection
handling (Sources/BedsideServer/Hub, Sources/BedsideServer/Connection) are under 90%.
"""
import json
import os
import sys

OVERALL_MIN = 80.0
CRITICAL_MIN = 90.0
CRITICAL = ("Sources/BedsideServer/Hub/", "Sources/BedsideServer/Connection/")


def main(path: str) -> int:
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    with open(path) as handle:
        export = json.load(handle)
    groups: dict[str, list[int]] = {}
    for data in export["data"]:
        for entry in data["files"]:
            name = os.path.relpath(entry["filename"], root)
            if not name.startswith("Sources/"):
                continue  # dependencies and tests
            lines = entry["summary"]["lines"]
            target = name.split("/")[1]
            for key in [target, "(overall)"] + ["(hub and connection)" for prefix in CRITICAL if name.startswith(prefix)]:
                counts = groups.setdefault(key, [0, 0])
                counts[0] += lines["covered"]
                counts[1] += lines["count"]

    def percent(key: str) -> float:
        covered, count = groups.get(key, [0, 0])
        return 100.0 * covered / count if count else 0.0

    print(f"{'target':<24}{'lines':>8}{'covered':>9}{'percent':>9}")
    for key in sorted(k for k in groups if not k.startswith("(")) + ["(hub and connection)", "(overall)"]:
        covered, count = groups.get(key, [0, 0])
        print(f"{key:<24}{count:>8}{covered:>9}{percent(key):>8.1f}%")

    failures = []
    if percent("(overall)") < OVERALL_MIN:
        failures.append(f"overall line coverage {percent('(overall)'):.1f}% is under {OVERALL_MIN}%")
    if percent("(hub and connection)") < CRITICAL_MIN:
        failures.append(f"hub and connection coverage {percent('(hub and connection)'):.1f}% is under {CRITICAL_MIN}%")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
