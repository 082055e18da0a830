#!/usr/bin/env bash
# vlbench vs PyTorch Jina-CLIP v1 encode throughput on a random-weight jina-clip-v1 (same weights,
# threads, batch and token ids; vlbench fp32 and bf16, PyTorch fp32), images/s and captions/s at
# 20, 77 and 512 tokens (the study credits jina-clip with long captions), side by side with the
# ratios. Interleaved: each of ROUNDS rounds runs, for every caption length, vlbench fp32,
# vlbench bf16 and PyTorch fp32 once (one timed pass each after a warm-up batch); the table shows
# the median over the rounds. The load average is printed before and after.
# Builds nothing: expects ./build from scripts/build.sh (or BUILD_DIR). Installs Debian's
# python3-torch and python3-numpy when missing (a benchmark dependency only). The PyTorch peer
# (bench/jina_torch.py) is first checked against the jina-clip-tiny fixture's goldens.
#
#   bench/jina_vs_torch.sh     environment: THREADS (default: all cores), BATCH (8), ROUNDS (3),
#                              IMAGES (8), LENGTHS ("20 77 512"), CAPTIONS_20 (32),
#                              CAPTIONS_77 (16), CAPTIONS_512 (8; other lengths: 8), BUILD_DIR
#                              (build), MODEL_DIR
#                              (BUILD_DIR/bench-models/jina-clip-v1), OUT_DIR
#                              (BUILD_DIR/bench-results/jina-clip-v1)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-8}
ROUNDS=${ROUNDS:-3}
IMAGES=${IMAGES:-8}
LENGTHS=${LENGTHS:-20 77 512}
CAPTIONS_20=${CAPTIONS_20:-32}
CAPTIONS_77=${CAPTIONS_77:-16}
CAPTIONS_512=${CAPTIONS_512:-8}
MODEL_DIR=${MODEL_DIR:-$BUILD_DIR/bench-models/jina-clip-v1}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/jina-clip-v1}
VLBENCH=${VLBENCH:-$BUILD_DIR/src/cli/vlbench}
ENCODE_BENCH=${ENCODE_BENCH:-$BUILD_DIR/bench/encode_bench}
FIXTURE=${FIXTURE:-../shared/fixtures/jina-clip-tiny}

source bench/torch_peer.sh
require_binaries jina_vs_torch.sh "$VLBENCH" "$ENCODE_BENCH"
ensure_torch
if [[ -d $FIXTURE ]]; then
  /usr/bin/python3 bench/jina_torch.py --check "$FIXTURE"
fi
if [[ ! -f $MODEL_DIR/config.json ]]; then
  "$VLBENCH" make-model --arch jina-clip --size v1 --seed 0 --out "$MODEL_DIR"
fi
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*_r*.json

echo "load average before: $(cat /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  for length in $LENGTHS; do
    captions_var=CAPTIONS_$length
    captions=${!captions_var:-8}
    common=(--model "$MODEL_DIR" --threads "$THREADS" --batch "$BATCH" --images "$IMAGES"
            --captions "$captions" --caption-length "$length")
    for dtype in fp32 bf16; do
      echo "== round $round/$ROUNDS, $length tokens: vlbench $dtype =="
      "$ENCODE_BENCH" "${common[@]}" --reps 1 --dtype "$dtype" \
        --json "$OUT_DIR/vlbench_${dtype}_${length}_r$round.json" ||
        { echo "(vlbench $dtype failed)"; rm -f "$OUT_DIR/vlbench_${dtype}_${length}_r$round.json"; }
    done
    echo "== round $round/$ROUNDS, $length tokens: PyTorch fp32 =="
    /usr/bin/python3 bench/jina_torch.py "${common[@]}" --reps 1 --vlbench "$VLBENCH" \
      --json "$OUT_DIR/torch_fp32_${length}_r$round.json"
  done
done
echo "load average after:  $(cat /proc/loadavg)"

/usr/bin/python3 - "$OUT_DIR" "$ROUNDS" "$LENGTHS" <<'EOF'
import json, os, statistics, sys
out, rounds, lengths = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def load(prefix, length):
    docs = []
    for r in range(1, rounds + 1):
        path = os.path.join(out, f"{prefix}_{length}_r{r}.json")
        if os.path.exists(path):
            with open(path) as f:
                docs.append(json.load(f))
    return docs
engines = [("PyTorch fp32", "torch_fp32"), ("vlbench fp32", "vlbench_fp32"),
           ("vlbench bf16", "vlbench_bf16")]
def rates(prefix, length, what):
    docs = load(prefix, length)
    if prefix.startswith("torch"):
        key = "images_per_second" if what == "images" else "captions_per_second"
        return [d[key] for d in docs]
    return [d[what]["per_second_median"] for d in docs]
first = load("vlbench_fp32", lengths[0]) or load("torch_fp32", lengths[0])
print(f"\nJina-CLIP v1 (random weights, {first[0].get('model', '')}): batch {first[0]['batch']}, "
      f"{first[0]['threads']} threads; median over {rounds} interleaved rounds")
header = f"{'':14}{'images/s':>10}{'vs torch':>9}"
for n in lengths:
    header += f"{f'captions/s @{n}':>18}{'vs torch':>9}"
print(header)
base = {}
for name, prefix in engines:
    row = f"{name:14}"
    for i, (what, length) in enumerate([("images", lengths[0])] + [("captions", n) for n in lengths]):
        r = rates(prefix, length, what)
        if not r:
            row += f"{'–':>10 if i == 0 else 18}{'':>9}"
            continue
        m = statistics.median(r)
        base.setdefault((what, length), m)
        width = 10 if i == 0 else 18
        row += f"{m:{width}.3f}{m / base[(what, length)]:8.2f}x"
    print(row)
for n in lengths:
    docs = load("torch_fp32", n)
    v = load("vlbench_fp32", n)
    if docs and v:
        print(f"{n} tokens: PyTorch ran {docs[0]['caption_ids_mean']:.1f} ids per caption, "
              f"vlbench {v[0].get('caption_ids_mean', float('nan')):.1f} (the same ids)")
EOF
