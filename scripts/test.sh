#!/usr/bin/env bash
# Installs dependencies, builds vlbench with its tests, and runs the whole suite; then builds it
# again with clang under AddressSanitizer + UndefinedBehaviorSanitizer with the libFuzzer
# targets (./build-asan, no benchmarks), runs the whole suite there too (each fuzz target
# replays its seeds and past findings), and fuzzes each target for FUZZ_SECONDS (default 20, two
# targets at a time on two cores).
# SKIP_SANITIZERS=1 skips the second pass. Each phase prints how long it took (CI's budget).
set -euo pipefail
cd "$(dirname "$0")/.."
phase() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "== test.sh: $name took $((SECONDS - start)) s (total $SECONDS s)"
}
phase install-deps bash scripts/install-deps.sh
phase build bash scripts/build.sh
phase ctest ctest --test-dir build --output-on-failure -j "$(nproc)"
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  phase configure-asan env CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja \
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -gline-tables-only" -DVLBENCH_SANITIZE=ON -DVLBENCH_FUZZ=ON \
    -DVLBENCH_BUILD_BENCH=OFF
  phase build-asan cmake --build build-asan -j "$(nproc)"
  phase ctest-asan ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
  phase fuzz bash fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi
