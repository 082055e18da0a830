#!/usr/bin/python3
"""The PyTorch peer of bench/maxsim_bench: MaxSim of a 25-token query against 100 candidate
pages of 1,030 x 128 tokens, on the inputs `maxsim_bench --dump DIR` wrote, the same candidate
set per repetition, the same threads.

Variants (each timed per candidate set, median over the sets after the warm-up set 0):
  einsum f32    colpali-engine's formulation of score_multi_vector: the candidates' page
                tensors padded into one batch (pad_sequence), einsum("bnd,csd->bcns"), max
                over page tokens, sum over query tokens
  einsum bf16   the same on bfloat16 pages and query (colpali-engine scores in the model's
                dtype, bf16 in its examples)
  bmm f32       index_select of the candidates, one batched matmul, max, sum
Each variant's scores are compared with vlbench's float32 scores (scores.npy).

  maxsim_torch.py --dir DIR [--threads N] [--json FILE]
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    pages = torch.from_numpy(np.load(f"{args.dir}/pages.npy"))          # [gallery, 1030, 128]
    query = torch.from_numpy(np.load(f"{args.dir}/query.npy"))          # [25, 128]
    sets = torch.from_numpy(np.load(f"{args.dir}/candidates.npy"))      # [reps + 1, 100]
    reference = np.load(f"{args.dir}/scores.npy")                       # [reps + 1, 100]
    pages_bf16 = pages.to(torch.bfloat16)
    query_bf16 = query.to(torch.bfloat16)

    def einsum(p, q, cands):
        ps = torch.nn.utils.rnn.pad_sequence([p[c] for c in cands.tolist()], batch_first=True)
        return torch.einsum("bnd,csd->bcns", q[None], ps).max(dim=3)[0].sum(dim=2)[0]

    def bmm(p, q, cands):
        ps = p.index_select(0, cands)                                   # [100, 1030, 128]
        return torch.matmul(ps, q.t()).max(dim=1)[0].sum(dim=1)

    variants = {
        "einsum f32": lambda c: einsum(pages, query, c),
        "einsum bf16": lambda c: einsum(pages_bf16, query_bf16, c),
        "bmm f32": lambda c: bmm(pages, query, c),
    }
    times = {name: [] for name in variants}
    max_rel = {name: 0.0 for name in variants}
    with torch.no_grad():
        for r in range(sets.shape[0]):  # interleaved: every variant on set r, then set r + 1
            for name, fn in variants.items():
                start = time.perf_counter()
                scores = fn(sets[r])
                elapsed = time.perf_counter() - start
                if r > 0:
                    times[name].append(elapsed)
                got = scores.to(torch.float64).numpy()
                rel = np.max(np.abs(got - reference[r]) / np.abs(reference[r]))
                max_rel[name] = max(max_rel[name], float(rel))
    result = {}
    print(f"PyTorch {torch.__version__}, {args.threads} threads, {sets.shape[0] - 1} sets")
    for name in variants:
        result[name] = {"median_ms": 1e3 * statistics.median(times[name]),
                        "min_ms": 1e3 * min(times[name]), "max_rel_vs_vlbench_f32": max_rel[name]}
        print(f"{name:<12} median {result[name]['median_ms']:8.3f} ms  min "
              f"{result[name]['min_ms']:8.3f} ms  max rel vs vlbench f32 {max_rel[name]:.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
