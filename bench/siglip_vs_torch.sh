#!/usr/bin/env bash
# vlbench vs PyTorch SigLIP encode throughput on a random-weight SigLIP so400m-patch14-384 (same
# weights, threads, batch; vlbench fp32 and bf16, PyTorch fp32), printed side by side with the
# ratios. The three runs are interleaved: each of ROUNDS rounds runs vlbench fp32, vlbench bf16 and
# PyTorch fp32 once (one timed pass each, after a warm-up batch), and the table shows the median
# over the rounds, so a change in machine load hits all three alike. The load average is printed
# before and after.
# Builds nothing: expects ./build from scripts/build.sh (or BUILD_DIR). Installs Debian's
# python3-torch and python3-numpy when missing (a benchmark dependency only).
#
# One so400m-384 image is ~670 GFLOP and one 64-token caption ~53 GFLOP, hence the small defaults
# (at 2 cores a round takes minutes).
#
#   bench/siglip_vs_torch.sh          environment: THREADS (default: all cores), BATCH (4),
#                                     ROUNDS (3), IMAGES (4), CAPTIONS (32), SIZE (so400m-384),
#                                     BUILD_DIR (build), MODEL_DIR (BUILD_DIR/bench-models/
#                                     siglip-SIZE), OUT_DIR (BUILD_DIR/bench-results/siglip-SIZE),
#                                     VLBENCH, ENCODE_BENCH (the binaries under BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-4}
ROUNDS=${ROUNDS:-3}
IMAGES=${IMAGES:-4}
CAPTIONS=${CAPTIONS:-32}
SIZE=${SIZE:-so400m-384}
MODEL_DIR=${MODEL_DIR:-$BUILD_DIR/bench-models/siglip-$SIZE}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/siglip-$SIZE}
VLBENCH=${VLBENCH:-$BUILD_DIR/src/cli/vlbench}
ENCODE_BENCH=${ENCODE_BENCH:-$BUILD_DIR/bench/encode_bench}

source bench/torch_peer.sh
require_binaries siglip_vs_torch.sh "$VLBENCH" "$ENCODE_BENCH"
ensure_torch

if [[ ! -f $MODEL_DIR/config.json ]]; then
  "$VLBENCH" make-model --arch siglip --size "$SIZE" --seed 0 --out "$MODEL_DIR"
fi
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/vlbench_fp32_r*.json "$OUT_DIR"/vlbench_bf16_r*.json "$OUT_DIR"/torch_fp32_r*.json
common=(--model "$MODEL_DIR" --threads "$THREADS" --batch "$BATCH" --reps 1
        --images "$IMAGES" --captions "$CAPTIONS")

echo "load average before: $(cat /proc/loadavg)"
fp32_failed=0
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS: vlbench fp32 =="
  if ! "$ENCODE_BENCH" "${common[@]}" --dtype fp32 --json "$OUT_DIR/vlbench_fp32_r$round.json"; then
    echo "(vlbench fp32 failed in round $round)"
    rm -f "$OUT_DIR/vlbench_fp32_r$round.json"
    fp32_failed=1
  fi
  echo "== round $round/$ROUNDS: vlbench bf16 =="
  if ! "$ENCODE_BENCH" "${common[@]}" --dtype bf16 --json "$OUT_DIR/vlbench_bf16_r$round.json"; then
    echo "(vlbench bf16 not available in round $round: left out of the table)"
    rm -f "$OUT_DIR/vlbench_bf16_r$round.json"
  fi
  echo "== round $round/$ROUNDS: PyTorch fp32 =="
  cross_check=()
  # the first round also checks the embeddings against `vlbench embed` (skipped where vlbench
  # cannot embed this model yet)
  [[ $round -eq 1 ]] && cross_check=(--vlbench "$VLBENCH")
  /usr/bin/python3 bench/siglip_torch.py "${common[@]}" "${cross_check[@]}" \
    --json "$OUT_DIR/torch_fp32_r$round.json"
done
echo "load average after:  $(cat /proc/loadavg)"

/usr/bin/python3 - "$OUT_DIR" "$ROUNDS" <<'EOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def runs(prefix):
    found = []
    for r in range(1, rounds + 1):
        path = os.path.join(out, f"{prefix}_r{r}.json")
        if os.path.exists(path):
            with open(path) as f:
                found.append(json.load(f))
    return found
def vlbench_rates(docs):
    return ([d["images"]["per_second_median"] for d in docs],
            [d["captions"]["per_second_median"] for d in docs])
torch_runs, fp32_runs, bf16_runs = runs("torch_fp32"), runs("vlbench_fp32"), runs("vlbench_bf16")
rows = [("PyTorch fp32", [d["images_per_second"] for d in torch_runs],
         [d["captions_per_second"] for d in torch_runs])]
if fp32_runs:
    rows.append(("vlbench fp32",) + vlbench_rates(fp32_runs))
if bf16_runs:
    rows.append(("vlbench bf16",) + vlbench_rates(bf16_runs))
first = (fp32_runs or torch_runs)[0]
print(f"\nSigLIP {first.get('model', '')}: batch {first['batch']}, {first['threads']} threads, "
      f"{first['machine']}; median over {rounds} interleaved rounds (1 timed pass each)")
base_images, base_captions = statistics.median(rows[0][1]), statistics.median(rows[0][2])
print(f"{'':14}{'images/s':>11}{'vs torch':>10}{'captions/s':>12}{'vs torch':>10}   per round")
for name, images, captions in rows:
    mi, mc = statistics.median(images), statistics.median(captions)
    per_round = " ".join(f"{i:.3g}/{c:.3g}" for i, c in zip(images, captions))
    print(f"{name:14}{mi:11.3f}{mi / base_images:9.2f}x{mc:12.3f}{mc / base_captions:9.2f}x"
          f"   {per_round} (runs: {len(images)})")
torch_gflops = statistics.median(d["image_gflops"] for d in torch_runs)
if fp32_runs:
    gflops = statistics.median(d["image_gflops"] for d in fp32_runs)
    peak = statistics.median(d["sgemm_peak_gflops"] for d in fp32_runs)
    print(f"vlbench fp32 images: {gflops:.1f} GFLOP/s = {gflops / peak:.2f} of the "
          f"{fp32_runs[0].get('gemm_backend', '')} sgemm peak {peak:.1f} GFLOP/s; PyTorch "
          f"{torch_gflops:.1f} GFLOP/s = {torch_gflops / peak:.2f}")
else:
    print(f"PyTorch fp32 images: {torch_gflops:.1f} GFLOP/s (no vlbench fp32 run succeeded)")
check = torch_runs[0].get("check")
if check:
    print("PyTorch vs vlbench embed (fp32): " + ", ".join(f"{k} {v:.3g}" for k, v in check.items()))
loads = [d.get("load_average_start") for d in torch_runs] + [torch_runs[-1].get("load_average_end")]
print("1-minute load average at each PyTorch run start, and at the end: "
      + " ".join(f"{l[0]:.2f}" for l in loads if l))
print("targets: fp32 >= 1.5x PyTorch, bf16 >= 3x PyTorch fp32")
EOF
exit "$fp32_failed"
