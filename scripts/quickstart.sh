#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and evaluate on the
# bundled mini datasets, printing the study's tables.
#
# Until the native model engine lands, the embeddings are vlbench's deterministic synthetic
# ones (`vlbench synth-embeddings`), so the numbers show the pipeline, not a model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

out=${VLBENCH_OUT:-out/quickstart}
mkdir -p "$out"
vlbench=./build/src/cli/vlbench
results=()
for spec in coco-karpathy:data/coco-karpathy-mini \
            flickr30k-karpathy:data/flickr30k-karpathy-mini \
            winoground:data/winoground-mini \
            jsonl:data/jsonl-mini/captions.jsonl; do
  name=${spec%%:*}
  "$vlbench" synth-embeddings --dataset "$spec" --allow-any-size --dim 64 --noise 2.0 --seed 0 \
    --out "$out/$name/synth" > /dev/null
  "$vlbench" eval --dataset "$spec" --allow-any-size --protocol standard \
    --image-embeddings "$out/$name/synth/IMAGES.npy" --text-embeddings "$out/$name/synth/TEXTS.npy" \
    --model-name synthetic --out "$out/$name/results.json" > /dev/null
  results+=("$out/$name/results.json")
done
"$vlbench" report "${results[@]}" --format md
echo "results documents: ${results[*]}"
