#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run
# `vlbench run` with no arguments: a generated random-weight tiny CLIP checkpoint (exact
# Hugging Face layout) encoded and evaluated on the four bundled mini datasets, printing the
# study's accuracy tables and the speed table. Results go to out/run/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/src/cli/vlbench run --out "${VLBENCH_OUT:-out/run}"
