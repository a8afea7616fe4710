#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (`make fuzz`).
#
# The sources are compiled directly with swiftc -sanitize=fuzzer,address (not through SwiftPM,
# which would rebuild async-http-client with sanitizer flags):
#   models: Sources/PolarisAPI/Models/*.swift + Client/PolarisError.swift + fuzz/ModelsFuzz.swift
#   config: a PolarisAPI module (the same model files) + Sources/Warden/Config/*.swift + fuzz/ConfigFuzz.swift
# Each target runs FUZZ_SECONDS (default 60) with -rss_limit_mb=512 -timeout=5 from a seed corpus;
# crashes land in fuzz/artifacts/<target>/ (a crash there means: add a regression test, fix).
#
#   fuzz/run.sh [build|run|all] [models|config|joblist ...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${FUZZ_BUILD_DIR:-$ROOT/.build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
MODE=${1:-all}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(models config)
    [ -e Sources/PolarisAPI/Models/JobListDecoder.swift ] && TARGETS+=(joblist)
fi
SWIFTC=${SWIFTC:-swiftc}
FLAGS=(-use-ld=lld -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -enable-upcoming-feature MemberImportVisibility)
# The Swift compiler's own LLVM does not register the Swift modules' globals for ASan with
# address-use-after-return checks, and leak detection on a Swift runtime is noisy: off.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

MODELS=("$ROOT"/Sources/PolarisAPI/Models/*.swift "$ROOT/Sources/PolarisAPI/Client/PolarisError.swift")
CONFIG=("$ROOT"/Sources/Warden/Config/*.swift)
# Types the config refers to that live outside Config/ (pure value types, no Logging/Systemd).
for extra in Sources/Warden/Metrics/MetricsAddress.swift; do
    [ -e "$ROOT/$extra" ] && CONFIG+=("$ROOT/$extra")
done

build() {
    mkdir -p "$OUT/polarisapi"
    case $1 in
    models)
        "$SWIFTC" "${FLAGS[@]}" -module-name FuzzModels "${MODELS[@]}" "$ROOT/fuzz/ModelsFuzz.swift" \
            -o "$OUT/fuzz-models"
        ;;
    joblist)
        # JSONDecoder inside JobList.init may itself use the scanner; the harness compares
        # JobListDecoder.decode with a JSONDecoder decode of the same bytes.
        "$SWIFTC" "${FLAGS[@]}" -module-name FuzzJobList "${MODELS[@]}" "$ROOT/fuzz/JobListFuzz.swift" \
            -o "$OUT/fuzz-joblist"
        ;;
    config)
        # PolarisAPI as its own module (the config sources `import PolarisAPI`).
        "$SWIFTC" "${FLAGS[@]}" -module-name PolarisAPI -wmo -emit-module -emit-module-path "$OUT/polarisapi/PolarisAPI.swiftmodule" \
            -emit-object -o "$OUT/polarisapi/PolarisAPI.o" "${MODELS[@]}"
        "$SWIFTC" "${FLAGS[@]}" -module-name FuzzConfig -I "$OUT/polarisapi" "${CONFIG[@]}" \
            "$ROOT/fuzz/ConfigFuzz.swift" "$OUT/polarisapi/PolarisAPI.o" -o "$OUT/fuzz-config"
        ;;
    *) echo "unknown target $1" >&2; exit 2 ;;
    esac
}

corpus() {
    local target=$1 dir="$OUT/corpus/$1"
    mkdir -p "$dir"
    case $target in
    models | joblist) cp "$ROOT"/fuzz/corpus-seed/models/* "$dir"/ 2>/dev/null || true ;;
    config)
        cp "$ROOT"/config/*.json "$dir"/
        for f in "$ROOT"/Tests/WardenTests/Fixtures/bad-configs/*.json; do [ -e "$f" ] && cp "$f" "$dir/bad-$(basename "$f")"; done
        ;;
    esac
    echo "$dir"
}

run() {
    local target=$1
    local dir artifacts
    dir=$(corpus "$target")
    artifacts="$ROOT/fuzz/artifacts/$target"
    mkdir -p "$artifacts"
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s (corpus $dir)"
    local status=0
    "$OUT/fuzz-$target" "$dir" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=512 -timeout=5 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        -dict="$ROOT/fuzz/json.dict" >"$OUT/$target.log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ *DONE|Done |stat::|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' "$OUT/$target.log" || true
    if [ $status -ne 0 ]; then
        echo "fuzz: $target FAILED (exit $status); log $OUT/$target.log; inputs in $artifacts/"
        FAILED=1
    fi
}
FAILED=0

for target in "${TARGETS[@]}"; do
    case $MODE in
    build) build "$target" ;;
    run) run "$target" ;;
    all) build "$target"; run "$target" ;;
    *) echo "usage: fuzz/run.sh [build|run|all] [models|config|joblist ...]" >&2; exit 2 ;;
    esac
done
exit $FAILED
