#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run
# `vlbench run` with no arguments: a generated random-weight tiny CLIP checkpoint (exact
# Hugging Face layout) encoded and evaluated on the four bundled mini datasets, printing the
# study's accuracy tables and the speed table. Results go to out/run/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
out=${VLBENCH_OUT:-out/run}
./build/src/cli/vlbench index bench --synthetic 20000,768 --synthetic-queries 200 \
  --latency-queries 200 --type flat --type flat-int8 --type hnsw --sweep efSearch=16,32,64,128 \
  --out "$out-index-bench"
./build/src/cli/vlbench run --index-bench "$out-index-bench/index_bench.json" --out "$out"
