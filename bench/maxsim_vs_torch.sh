#!/usr/bin/env bash
# vlbench vs PyTorch MaxSim re-ranking: a 25-token query against 100 candidate pages of
# 1,030 x 128 tokens (ColPali v1.3), drawn afresh per repetition from a 1,000-page gallery
# (527 MB of float32, so from memory), the same inputs, candidate sets and threads for both:
# bench/maxsim_bench (vlbench: float32, TokenStore f32 / bf16 / int8 / binary, the naive loop)
# writes its seeded inputs once (--dump), bench/maxsim_torch.py (PyTorch: colpali-engine's
# einsum formulation in f32 and bf16, a batched matmul) scores the same sets. ROUNDS rounds
# alternate the two programs; the table gives the median over rounds of each program's median
# over repetitions, and the ratio to PyTorch's einsum f32. Load average printed before and
# after. Builds nothing: expects ./build from scripts/build.sh (or BUILD_DIR).
#
#   bench/maxsim_vs_torch.sh      environment: THREADS (1), ROUNDS (3), REPS (15),
#                                 BUILD_DIR (build), OUT_DIR (BUILD_DIR/bench-results/maxsim)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-15}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/maxsim}
MAXSIM_BENCH=${MAXSIM_BENCH:-$BUILD_DIR/bench/maxsim_bench}

source bench/torch_peer.sh
require_binaries maxsim_vs_torch.sh "$MAXSIM_BENCH"
ensure_torch

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*_r*.json
echo "load average before: $(cat /proc/loadavg)"
"$MAXSIM_BENCH" --reps "$REPS" --threads "$THREADS" --dump "$OUT_DIR/inputs" > /dev/null
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS: vlbench =="
  "$MAXSIM_BENCH" --reps "$REPS" --threads "$THREADS" --json "$OUT_DIR/vlbench_r$round.json" |
    sed -n '/^page tokens/,/^maxsim_reference/p'
  echo "== round $round/$ROUNDS: PyTorch =="
  /usr/bin/python3 bench/maxsim_torch.py --dir "$OUT_DIR/inputs" --threads "$THREADS" \
    --json "$OUT_DIR/torch_r$round.json"
done
echo "load average after:  $(cat /proc/loadavg)"

/usr/bin/python3 - "$OUT_DIR" "$ROUNDS" "$THREADS" <<'PY'
import json, statistics, sys
out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def median_over_rounds(prefix):
    runs = [json.load(open(f"{out}/{prefix}_r{r}.json")) for r in range(1, rounds + 1)]
    return {name: statistics.median(run[name]["median_ms"] for run in runs) for name in runs[0]}, runs[0]
vl, vl0 = median_over_rounds("vlbench")
pt, pt0 = median_over_rounds("torch")
peer = pt["einsum f32"]
print(f"\nMaxSim, 25-token query x 100 candidates of 1,030 x 128, {threads} thread(s); "
      f"median of {rounds} rounds")
print(f"| engine | page tokens | bytes/page | ms per query | vs PyTorch einsum f32 |")
print(f"| --- | --- | ---: | ---: | ---: |")
for name, ms in pt.items():
    print(f"| PyTorch | {name} | {527360 if 'f32' in name else 263680} | {ms:.2f} | {peer / ms:.2f}x |")
for name, ms in vl.items():
    print(f"| vlbench | {name} | {vl0[name]['bytes_per_page']:.0f} | {ms:.2f} | {peer / ms:.2f}x |")
print("PyTorch scores vs vlbench float32: max relative difference "
      + ", ".join(f"{n} {pt0[n]['max_rel_vs_vlbench_f32']:.1e}" for n in pt0))
PY
