#!/usr/bin/env bash
# Fuzzes every target (or those named) for SECONDS each, in the sanitizer build, and fails on
# any finding. The working corpus grows in BUILD/fuzz-corpus/<target> (seeded from
# fuzz/seeds/<target> and fuzz/regressions/<target>); a crashing input is written to
# BUILD/fuzz-artifacts/<target>/ and printed.
#
#   bash fuzz/run.sh SECONDS [TARGET ...]      (BUILD defaults to ./build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET ...]}
shift
build=${BUILD:-build-asan}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(safetensors npy torch_bin config dataset tokenizer_json tokenize image index http)
fi
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizer/lsan.supp"
status=0
printf '%-15s %12s %10s %8s %s\n' target executions exec/s cov result
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dirs=("$corpus")
  [ -d "fuzz/seeds/$t" ] && dirs+=("fuzz/seeds/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  log="$build/fuzz-$t.log"
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: 2.5 GB is a memory finding.
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "${dirs[@]}" > "$log" 2>&1; then
    result=ok
  else
    result=FINDING
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  printf '%-15s %12s %10s %8s %s\n' "$t" "$execs" "$speed" "$cov" "$result"
  if [ "$result" != ok ]; then
    grep -E 'ERROR|SUMMARY|Test unit written|uncaught|==[0-9]+==' "$log" | head -20 || true
    ls -la "$artifacts"
  fi
done
exit $status
