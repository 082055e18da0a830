#!/usr/bin/env bash
# vlbench vs PyTorch ColPali encode speed on a random-weight real-size ColPali v1.3
# (make-model --arch colpali --size v1.3: the same weights, threads and batch; vlbench fp32 and
# bf16, PyTorch fp32 from torch.nn layers, bench/colpali_torch.py), side by side with ratios.
# The three runs are interleaved: each of ROUNDS rounds runs vlbench fp32, vlbench bf16 and
# PyTorch fp32 once (one timed pass after a warm-up), and the table shows the median over the
# rounds. The load average is printed before and after. Every run loads the 2.9 B-parameter
# model afresh (vlbench bf16 ~45 s, fp32 and PyTorch longer); a page is tens of seconds on 2 cores.
# Builds nothing: expects ./build from scripts/build.sh (or BUILD_DIR).
#
#   bench/colpali_vs_torch.sh         environment: THREADS (all cores), ROUNDS (3), IMAGES (1),
#                                     CAPTIONS (8), BUILD_DIR (build), MODEL_ROOT
#                                     (BUILD_DIR/bench-models/colpali-v1.3), OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-$(nproc)}
ROUNDS=${ROUNDS:-3}
IMAGES=${IMAGES:-1}
CAPTIONS=${CAPTIONS:-8}
MODEL_ROOT=${MODEL_ROOT:-$BUILD_DIR/bench-models/colpali-v1.3}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/colpali-v1.3}
VLBENCH=${VLBENCH:-$BUILD_DIR/src/cli/vlbench}
ENCODE_BENCH=${ENCODE_BENCH:-$BUILD_DIR/bench/encode_bench}
ADAPTER=$MODEL_ROOT/colpali-v1.3

source bench/torch_peer.sh
require_binaries colpali_vs_torch.sh "$VLBENCH" "$ENCODE_BENCH"
ensure_torch

if [[ ! -f $ADAPTER/adapter_config.json ]]; then
  "$VLBENCH" make-model --arch colpali --size v1.3 --seed 0 --out "$MODEL_ROOT"
fi
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*_r*.json
common=(--model "$ADAPTER" --threads "$THREADS" --batch 1 --reps 1 --images "$IMAGES"
        --captions "$CAPTIONS")

echo "load average before: $(cat /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  for dtype in fp32 bf16; do
    echo "== round $round/$ROUNDS: vlbench $dtype =="
    /usr/bin/time -f "peak RSS %M KiB" "$ENCODE_BENCH" "${common[@]}" --caption-length 14 \
      --dtype "$dtype" --json "$OUT_DIR/vlbench_${dtype}_r$round.json"
  done
  echo "== round $round/$ROUNDS: PyTorch fp32 =="
  cross_check=()
  [[ $round -eq 1 ]] && cross_check=(--vlbench "$VLBENCH")
  # Queries of the length vlbench's ran at (its synthetic captions through ColPali's prompt).
  query_length=$(/usr/bin/python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["caption_ids_mean"]))' \
    "$OUT_DIR/vlbench_fp32_r$round.json")
  /usr/bin/time -f "peak RSS %M KiB" /usr/bin/python3 bench/colpali_torch.py "${common[@]}" \
    --query-length "$query_length" "${cross_check[@]}" --json "$OUT_DIR/torch_fp32_r$round.json"
done
echo "load average after:  $(cat /proc/loadavg)"

/usr/bin/python3 - "$OUT_DIR" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def runs(prefix):
    docs = []
    for r in range(1, rounds + 1):
        path = os.path.join(out, f"{prefix}_r{r}.json")
        if os.path.exists(path):
            with open(path) as f:
                docs.append(json.load(f))
    return docs
torch_runs = runs("torch_fp32")
rows = [("PyTorch fp32", [d["pages_per_second"] for d in torch_runs],
         [d["query_latency_seconds_median"] for d in torch_runs])]
for dtype in ("fp32", "bf16"):
    docs = runs(f"vlbench_{dtype}")
    if docs:
        rows.append((f"vlbench {dtype}", [d["images"]["per_second_median"] for d in docs],
                     [d["query_latency_seconds_median"] for d in docs]))
tokens = torch_runs[0]["page_tokens"]
print(f"\nColPali v1.3 (random weights), {torch_runs[0]['threads']} threads, batch 1, "
      f"{torch_runs[0]['machine']}; median over {rounds} interleaved rounds")
base_pages, base_query = statistics.median(rows[0][1]), statistics.median(rows[0][2])
print(f"{'':14}{'pages/s':>10}{'s/page':>8}{'tokens/s':>10}{'vs torch':>10}"
      f"{'query ms':>10}{'vs torch':>10}   per round (pages/s)")
for name, pages, query in rows:
    mp, mq = statistics.median(pages), statistics.median(query)
    print(f"{name:14}{mp:10.4f}{1 / mp:8.1f}{mp * tokens:10.1f}{mp / base_pages:9.2f}x"
          f"{1e3 * mq:10.0f}{base_query / mq:9.2f}x   " + " ".join(f"{p:.4f}" for p in pages))
check = torch_runs[0].get("check_page_max_abs_diff")
if check is not None:
    print(f"PyTorch vs vlbench embed (fp32, one page): max abs diff {check:.3g}")
PY
