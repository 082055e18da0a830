#!/usr/bin/env bash
# vlbench vs PyTorch CLIP encode throughput on a random-weight ViT-B/32 (same weights, threads,
# batch; fp32, plus vlbench bf16 when the engine has it), printed side by side with the ratios.
# Builds nothing: expects ./build from scripts/build.sh (or BUILD_DIR). Installs Debian's
# python3-torch and python3-numpy when missing (a benchmark dependency only).
#
#   bench/clip_vs_torch.sh            environment: THREADS (default: all cores), BATCH (32),
#                                     REPS (3), IMAGES (64), CAPTIONS (256), BUILD_DIR (build),
#                                     MODEL_DIR (BUILD_DIR/bench-models/vit-b-32), OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-32}
REPS=${REPS:-3}
IMAGES=${IMAGES:-64}
CAPTIONS=${CAPTIONS:-256}
MODEL_DIR=${MODEL_DIR:-$BUILD_DIR/bench-models/vit-b-32}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
VLBENCH=$BUILD_DIR/src/cli/vlbench
ENCODE_BENCH=$BUILD_DIR/bench/encode_bench

source bench/torch_peer.sh
require_binaries clip_vs_torch.sh "$VLBENCH" "$ENCODE_BENCH"
ensure_torch

if [[ ! -f $MODEL_DIR/config.json ]]; then
  "$VLBENCH" make-model --size vit-b-32 --seed 0 --out "$MODEL_DIR"
fi
mkdir -p "$OUT_DIR"
common=(--model "$MODEL_DIR" --threads "$THREADS" --batch "$BATCH" --reps "$REPS"
        --images "$IMAGES" --captions "$CAPTIONS")

echo "== vlbench fp32 =="
"$ENCODE_BENCH" "${common[@]}" --dtype fp32 --json "$OUT_DIR/vlbench_fp32.json"
echo "== vlbench bf16 =="
rm -f "$OUT_DIR/vlbench_bf16.json"
if ! "$ENCODE_BENCH" "${common[@]}" --dtype bf16 --json "$OUT_DIR/vlbench_bf16.json"; then
  echo "(vlbench bf16 not available: left out of the table)"
fi
echo "== PyTorch fp32 =="
/usr/bin/python3 bench/clip_vs_torch.py "${common[@]}" --vlbench "$VLBENCH" \
  --json "$OUT_DIR/torch_fp32.json"

/usr/bin/python3 - "$OUT_DIR" <<'EOF'
import json, os, sys
out = sys.argv[1]
def read(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None
torch, fp32, bf16 = read("torch_fp32.json"), read("vlbench_fp32.json"), read("vlbench_bf16.json")
rows = [("PyTorch fp32", torch["images_per_second"], torch["captions_per_second"]),
        ("vlbench fp32", fp32["images"]["per_second_median"],
         fp32["captions"]["per_second_median"])]
if bf16:
    rows.append(("vlbench bf16", bf16["images"]["per_second_median"],
                 bf16["captions"]["per_second_median"]))
print(f"\nbatch {fp32['batch']}, {fp32['threads']} threads, {fp32['machine']}")
print(f"{'':14}{'images/s':>10}{'vs torch':>10}{'captions/s':>12}{'vs torch':>10}")
for name, images, captions in rows:
    print(f"{name:14}{images:10.2f}{images / rows[0][1]:9.2f}x{captions:12.2f}"
          f"{captions / rows[0][2]:9.2f}x")
peak = fp32["sgemm_peak_gflops"]
print(f"vlbench fp32 images: {fp32['image_gflops']:.1f} GFLOP/s = "
      f"{fp32['image_fraction_of_peak']:.2f} of the {fp32['gemm_backend']} sgemm peak "
      f"{peak:.1f} GFLOP/s (target >= 0.5); PyTorch "
      f"{torch['image_gflops']:.1f} GFLOP/s = {torch['image_gflops'] / peak:.2f}")
print("targets: fp32 >= 1.5x PyTorch, bf16 >= 3x PyTorch fp32")
EOF
