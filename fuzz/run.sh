#!/usr/bin/env bash
# Fuzzes every target (or those named) for SECONDS each, in the sanitizer build, and fails on
# any finding. The working corpus grows in BUILD/fuzz-corpus/<target> (seeded from
# fuzz/seeds/<target> and fuzz/regressions/<target>); a crashing input is written to
# BUILD/fuzz-artifacts/<target>/ and printed. JOBS targets run at once (default: one per
# core); RUNS bounds the inputs per target as well (whichever comes first).
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
jobs=${JOBS:-$(nproc)}

# One target: its table row goes to BUILD/fuzz-<target>.row; non-zero on a finding.
fuzz_one() {
  local t=$1
  local corpus="$build/fuzz-corpus/$t" artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  local dirs=("$corpus")
  [ -d "fuzz/seeds/$t" ] && dirs+=("fuzz/seeds/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  local log="$build/fuzz-$t.log" result=ok
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: 2.5 GB is a memory finding.
  # -runs: at most RUNS inputs (default: no limit, only the time bound).
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -runs="${RUNS:--1}" -timeout=10 \
      -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dirs[@]}" \
      > "$log" 2>&1 || result=FINDING
  local execs speed cov
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  {
    printf '%-15s %12s %10s %8s %s\n' "$t" "$execs" "$speed" "$cov" "$result"
    if [ "$result" != ok ]; then
      grep -E 'ERROR|SUMMARY|Test unit written|uncaught|==[0-9]+==' "$log" | head -20 || true
      ls -la "$artifacts"
    fi
  } > "$build/fuzz-$t.row"
  [ "$result" = ok ]
}

# JOBS targets at a time (default: one per core), rows printed in target order at the end.
status=0
running=0
for t in "${targets[@]}"; do
  rm -f "$build/fuzz-$t.row"
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
printf '%-15s %12s %10s %8s %s\n' target executions exec/s cov result
for t in "${targets[@]}"; do
  cat "$build/fuzz-$t.row" 2>/dev/null || printf '%-15s did not report\n' "$t"
done
exit $status
