#!/usr/bin/env bash
# Builds Bedside's libFuzzer targets (Fuzz/) and runs each for a bounded time.
#
#   scripts/fuzz.sh                            # CI: 15 s per target
#   scripts/fuzz.sh --seconds-per-target 600   # a long run, outside CI
#   scripts/fuzz.sh --seconds-per-target 600 --merge   # … and keep new coverage in Fuzz/corpus/
#   scripts/fuzz.sh --build-only               # compile only
#   scripts/fuzz.sh fhir-date client-frame     # only these targets
#
# Each target is compiled on its own with `swiftc -sanitize=fuzzer,address` from exactly the
# pure source files it exercises (no SwiftPM, no GRDB, no NIO: a package executable's `main`
# would clash with libFuzzer's). BedsideCore is built once as a module of its own. Binaries,
# logs and crash artifacts go to .build/fuzz/; the fuzzer's new inputs go to a temporary
# directory, which is deleted unless --merge folds them (minimised) into the committed corpus.
#
# Exits non-zero when a target crashes, hangs, leaks or runs out of memory; the last line says
# `fuzz: N passed, M failed`.
set -euo pipefail

# The whole script is one block, which bash reads before running it: editing or updating this
# file during a long run cannot change what the run does.
{
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.build/fuzz"
seconds=15
merge=0
build_only=0
selected=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds-per-target)
            [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || { echo "fuzz: --seconds-per-target needs a positive whole number" >&2; exit 2; }
            seconds=$2
            shift 2
            ;;
        --merge) merge=1; shift ;;
        --build-only) build_only=1; shift ;;
        -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
        *) selected+=("$1"); shift ;;
    esac
done

all_targets=(client-frame fhir-import fhir-date fhir-search)
[[ ${#selected[@]} -gt 0 ]] || selected=("${all_targets[@]}")
for target in "${selected[@]}"; do
    [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "fuzz: unknown target $target (known: ${all_targets[*]})" >&2; exit 2; }
done

fhir="$root/Sources/BedsideFHIR"
search_sources=(
    "$fhir/SearchQuery.swift" "$fhir/SearchParameter.swift" "$fhir/DateComparison.swift" "$fhir/FHIRDate.swift"
    "$fhir/FHIRStoreError.swift" "$fhir/FHIRText.swift"
)

# The module each target's harness is compiled into (it reaches that module's internals) …
module_of() {
    case "$1" in
        client-frame) echo BedsideProtocol ;;
        *) echo BedsideFHIR ;;
    esac
}

# … and the source files compiled with it: exactly what the code under test needs.
sources_of() {
    case "$1" in
        client-frame) printf '%s\n' "$root"/Sources/BedsideProtocol/*.swift ;;
        fhir-import)
            printf '%s\n' "$fhir/ImportPlan.swift" "$fhir/ImportPlan+Ownership.swift" "$fhir/PatientCompartment.swift" \
                "$fhir/ReferenceRewriter.swift" "$fhir/FHIRIdentifiers.swift" "$fhir/FHIRImportError.swift" \
                "$fhir/FHIRJSON.swift" "$fhir/ResourceIndex.swift" "$fhir/SearchParameter.swift" "$fhir/FHIRDate.swift" \
                "$fhir/FHIRText.swift"
            ;;
        fhir-date | fhir-search) printf '%s\n' "${search_sources[@]}" ;;
    esac
}

# The optimisation level per target: -O where the code under test is Swift of ours; the import
# spends its time in Foundation's JSON parser, so -Onone costs it little speed and saves ~25 s of
# build.
optimization_of() {
    case "$1" in
        fhir-import) echo -Onone ;;
        *) echo -O ;;
    esac
}

# Whether a target links BedsideCore.
needs_core() { [[ "$1" == client-frame || "$1" == fhir-import ]]; }

# libFuzzer's -max_len per target: long enough for the seeds, short enough to stay fast.
max_len_of() {
    case "$1" in
        client-frame) echo 4096 ;;
        fhir-import) echo 16384 ;;
        fhir-date) echo 128 ;;
        fhir-search) echo 1024 ;;
    esac
}

# The package's settings (Package.swift, strictSettings), optimised and instrumented.
swift_flags=(
    -swift-version 6
    -enable-upcoming-feature ExistentialAny
    -enable-upcoming-feature MemberImportVisibility
    -enable-upcoming-feature InternalImportsByDefault
    -warnings-as-errors
    -parse-as-library
    -sanitize=fuzzer,address
    -wmo -gline-tables-only
)

command -v swiftc >/dev/null || { echo "fuzz: swiftc (the Swift toolchain) is not on PATH" >&2; exit 1; }
mkdir -p "$out/modules" "$out/bin" "$out/logs"

# Whether $1 is missing or older than any of the remaining files (or this script).
stale() {
    local product=$1
    shift
    [[ -e "$product" ]] || return 0
    local input
    for input in "$@" "$0"; do
        [[ "$input" -nt "$product" ]] && return 0
    done
    return 1
}

build_core() {
    local core_sources=("$root"/Sources/BedsideCore/*.swift)
    stale "$out/modules/BedsideCore.o" "${core_sources[@]}" || return 0
    swiftc "${swift_flags[@]}" -O -module-name BedsideCore -emit-module \
        -emit-module-path "$out/modules/BedsideCore.swiftmodule" \
        -c -o "$out/modules/BedsideCore.o" "${core_sources[@]}"
}

build_target() {
    local target=$1
    local harness="$root/Fuzz/$target/Harness.swift"
    local shared=("$root"/Fuzz/Shared/*.swift)
    local sources
    mapfile -t sources < <(sources_of "$target")
    local extra=()
    if needs_core "$target"; then
        extra=(-I "$out/modules" "$out/modules/BedsideCore.o")
    fi
    stale "$out/bin/$target" "$harness" "${shared[@]}" "${sources[@]}" ${extra[@]:+"$out/modules/BedsideCore.o"} || return 0
    swiftc "${swift_flags[@]}" "$(optimization_of "$target")" -module-name "$(module_of "$target")" \
        "${extra[@]}" "$harness" "${shared[@]}" "${sources[@]}" -o "$out/bin/$target"
}

build_started=$SECONDS
echo "fuzz: building ${selected[*]} into ${out#"$root"/}"
rm -f "$out"/logs/build-*

# Runs one build step in the background, its output in logs/build-NAME.log; a failure leaves
# logs/build-NAME.failed.
spawn() {
    local name=$1
    shift
    ("$@" >"$out/logs/build-$name.log" 2>&1 || touch "$out/logs/build-$name.failed") &
}

# Two at a time (CI has two cores): BedsideCore beside a target that does not need it, then the rest.
queue=()
for target in "${selected[@]}"; do needs_core "$target" || queue+=("$target"); done
for target in "${selected[@]}"; do needs_core "$target" && queue+=("$target"); done
if [[ " ${queue[*]} " == *" client-frame "* || " ${queue[*]} " == *" fhir-import "* ]]; then
    spawn BedsideCore build_core
    core_pid=$!
else
    core_pid=
fi
for target in "${queue[@]}"; do
    if needs_core "$target" && [[ -n "$core_pid" ]]; then
        wait "$core_pid" || true
        core_pid=
        [[ -e "$out/logs/build-BedsideCore.failed" ]] && break
    fi
    while [[ $(jobs -rp | wc -l) -ge 2 ]]; do wait -n || true; done
    spawn "$target" build_target "$target"
done
wait || true
if compgen -G "$out/logs/build-*.failed" >/dev/null; then
    for marker in "$out"/logs/build-*.failed; do
        log="${marker%.failed}.log"
        echo "--- ${log#"$root"/}"
        grep -v 'ld.gold: warning: Cannot export local symbol' "$log" | tail -40
    done
    echo "fuzz: build failed"
    exit 1
fi
echo "fuzz: built in $((SECONDS - build_started)) s"
[[ $build_only -eq 1 ]] && exit 0

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
# Swift's own crash handler would fight ASan's; libFuzzer reports the crash and keeps the input.
export SWIFT_BACKTRACE=enable=no
# The toolchain's symbolizer names the source lines of a report; no system LLVM is needed.
symbolizer="$(dirname "$(readlink -f "$(command -v swiftc)")")/llvm-symbolizer"
[[ -x "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$symbolizer}"
passed=0
failed=0
work_root=$(mktemp -d "${TMPDIR:-/tmp}/bedside-fuzz.XXXXXX")
trap 'rm -rf "$work_root"' EXIT

for target in "${selected[@]}"; do
    work="$work_root/$target"
    artifacts="$out/artifacts/$target"
    corpus="$root/Fuzz/corpus/$target"
    log="$out/logs/$target.log"
    rm -rf "$artifacts"
    mkdir -p "$work" "$artifacts"
    options=(
        -max_total_time="$seconds"
        -rss_limit_mb=2048
        -malloc_limit_mb=2048
        -timeout=10
        -max_len="$(max_len_of "$target")"
        -use_value_profile=1
        -print_final_stats=1
        -artifact_prefix="$artifacts/"
    )
    [[ -f "$root/Fuzz/dictionaries/$target.dict" ]] && options+=(-dict="$root/Fuzz/dictionaries/$target.dict")
    started=$SECONDS
    status=0
    "$out/bin/$target" "${options[@]}" "$work" "$corpus" >"$log" 2>&1 || status=$?
    runs=$(grep -Eo '^stat::number_of_executed_units: [0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
    coverage=$(grep -Eo '#[0-9]+[[:space:]]+(DONE|INITED)[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | grep -Eo 'cov: [0-9]+ ft: [0-9]+' || true)
    if [[ $status -eq 0 ]]; then
        passed=$((passed + 1))
        echo "fuzz: $target passed: ${runs:-?} runs in $((SECONDS - started)) s (${coverage:-no coverage line}), $(find "$work" -type f | wc -l) new inputs"
        if [[ $merge -eq 1 ]]; then
            before=$(find "$corpus" -type f | wc -l)
            "$out/bin/$target" -merge=1 -max_len="$(max_len_of "$target")" "$corpus" "$work" >"$out/logs/$target-merge.log" 2>&1
            echo "fuzz: $target merged $(($(find "$corpus" -type f | wc -l) - before)) inputs into ${corpus#"$root"/}"
        fi
    else
        failed=$((failed + 1))
        echo "fuzz: $target FAILED (exit $status) after ${runs:-?} runs; log ${log#"$root"/}:"
        grep -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Fatal error|SUMMARY|Test unit written' "$log" | head -20 || true
        tail -60 "$log"
        for artifact in "$artifacts"/*; do
            [[ -f "$artifact" ]] || continue
            echo "fuzz: input ${artifact#"$root"/} ($(wc -c <"$artifact") bytes), base64:"
            head -c 4096 "$artifact" | base64 -w 0
            echo
        done
    fi
done

echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]] || exit 1
exit 0
}
