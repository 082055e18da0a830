#!/usr/bin/env bash
# Installs dependencies, builds vlbench with its tests, and runs the whole suite; then builds it
# again with clang under AddressSanitizer + UndefinedBehaviorSanitizer (./build-asan, no
# benchmarks) and runs the whole suite there too. SKIP_SANITIZERS=1 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVLBENCH_SANITIZE=ON -DVLBENCH_BUILD_BENCH=OFF
  cmake --build build-asan -j "$(nproc)"
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
fi
