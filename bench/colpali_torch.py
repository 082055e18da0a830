#!/usr/bin/python3
"""PyTorch peer for ColPali encode speed: the PaliGemma/ColPali forward pass from torch.nn layers.

The ColPali v1.3 architecture (colpali-engine 0.3.x on transformers 4.46) built from torch.nn
modules: the SigLIP vision tower without its head (bench/siglip_torch.py's EncoderLayer), the
multi-modal projector, the Gemma decoder run bidirectionally (GemmaRMSNorm with 1 + w, rotary
embeddings at positions 1..T, multi-query attention with a padding mask, GeGLU), the final norm and
custom_text_proj, L2-normalized per token. The PEFT LoRA adapter is merged in float32
(W += lora_alpha / r * B @ A) at load, as vlbench does. Timed in fp32 at the same batch size and
thread count as bench/encode_bench (compute only).

  Check against the fixture's goldens (fp32, max abs diff <= 1e-4, exit status 1 otherwise):
    /usr/bin/python3 bench/colpali_torch.py --check /work/shared/fixtures/colpali-tiny

  Timing (default mode):
    /usr/bin/python3 bench/colpali_torch.py --model ADAPTER_DIR [--base BASE_DIR] [--batch 1]
        [--threads T] [--reps 1] [--images 2] [--captions 8] [--vlbench build/src/cli/vlbench]
        [--json OUT]

Inputs: pages are seeded uniform pixels in [-1, 1] with the page prompt's ids (the image tokens,
<bos>, "Describe the image.", "\\n", from `vlbench tokenize`-equivalent ids passed by the caller
or built here from the fixture's ids); queries are seeded random ids of the length given.
Needs Debian's python3-torch and python3-numpy (a benchmark dependency only).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import siglip_torch as st  # noqa: E402  (the SigLIP tower, safetensors reading, timing helpers)

VISION_DEFAULTS = dict(hidden_size=1152, intermediate_size=4096, num_hidden_layers=27,
                       num_attention_heads=16, num_channels=3, image_size=224, patch_size=14,
                       hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
GEMMA_DEFAULTS = dict(hidden_size=2048, intermediate_size=16384, num_attention_heads=8,
                      num_key_value_heads=1, head_dim=256, num_hidden_layers=18,
                      rms_norm_eps=1e-6, rope_theta=10000.0)


def load_config(base):
    with open(os.path.join(base, "config.json")) as f:
        raw = json.load(f)
    if raw.get("model_type") != "paligemma":
        raise SystemExit(f"{base}/config.json: model_type {raw.get('model_type')!r}, expected "
                         "'paligemma'")
    vision = dict(VISION_DEFAULTS, **(raw.get("vision_config") or {}))
    text = dict(GEMMA_DEFAULTS, **(raw.get("text_config") or {}))
    text["vocab_size"] = text.get("vocab_size", raw.get("vocab_size", 257152))
    return {"vision": vision, "text": text, "hidden_size": raw.get("hidden_size", 2048),
            "image_token_index": raw.get("image_token_index", 256000)}


def find_base(adapter, base):
    if base:
        return base
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        name = json.load(f)["base_model_name_or_path"]
    parent = os.path.dirname(os.path.abspath(adapter))
    for candidate in (os.path.join(parent, name), os.path.join(parent, os.path.basename(name))):
        if os.path.exists(os.path.join(candidate, "config.json")):
            return candidate
    raise SystemExit(f"{adapter}: base {name!r} not found next to the adapter; give --base")


def load_adapter(adapter):
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        cfg = json.load(f)
    scale = cfg["lora_alpha"] / (math.sqrt(cfg["r"]) if cfg.get("use_rslora") else cfg["r"])
    tensors = {}
    st.read_safetensors(os.path.join(adapter, "adapter_model.safetensors"), tensors)
    lora = {}
    for name, t in tensors.items():
        module = name[len("base_model.model."):].rsplit(".lora_", 1)[0]
        lora.setdefault(module, {})["A" if ".lora_A." in name else "B"] = t
    return scale, lora


class RMSNorm(nn.Module):
    """GemmaRMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w), in float32."""

    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(d, device="meta"))

    def forward(self, x):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return y * (1.0 + self.weight)


class GemmaLayer(nn.Module):
    def __init__(self, t):
        super().__init__()
        d, hd = t["hidden_size"], t["head_dim"]
        self.heads, self.kv_heads, self.head_dim = t["num_attention_heads"], t["num_key_value_heads"], hd
        self.input_layernorm = RMSNorm(d, t["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, t["rms_norm_eps"])
        self.self_attn = nn.Module()
        for name, out in (("q_proj", self.heads * hd), ("k_proj", self.kv_heads * hd),
                          ("v_proj", self.kv_heads * hd)):
            setattr(self.self_attn, name, nn.Linear(d, out, bias=False, device="meta"))
        self.self_attn.o_proj = nn.Linear(self.heads * hd, d, bias=False, device="meta")
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, t["intermediate_size"], bias=False, device="meta")
        self.mlp.up_proj = nn.Linear(d, t["intermediate_size"], bias=False, device="meta")
        self.mlp.down_proj = nn.Linear(t["intermediate_size"], d, bias=False, device="meta")

    def forward(self, x, cos, sin, mask):
        n, length, _ = x.shape
        a = self.self_attn
        h = self.input_layernorm(x)

        def heads(y, count):
            return y.view(n, length, count, self.head_dim).transpose(1, 2)

        def rotate_half(y):
            half = y.shape[-1] // 2
            return torch.cat((-y[..., half:], y[..., :half]), dim=-1)

        q, k, v = heads(a.q_proj(h), self.heads), heads(a.k_proj(h), self.kv_heads), \
            heads(a.v_proj(h), self.kv_heads)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        w = nn.functional.softmax(w, dim=-1, dtype=torch.float32)
        out = torch.matmul(w, v).transpose(1, 2).reshape(n, length, self.heads * self.head_dim)
        x = x + a.o_proj(out)
        h = self.post_attention_layernorm(x)
        m = self.mlp
        return x + m.down_proj(nn.functional.gelu(m.gate_proj(h), approximate="tanh") * m.up_proj(h))


class ColPali(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        v, t = config["vision"], config["text"]
        self.vision = st.VisionTransformer(dict(v, vision_use_head=False), "meta")
        del self.vision.head  # PaliGemma's tower has no head
        self.projector = nn.Linear(v["hidden_size"], t["hidden_size"], device="meta")
        self.embed_tokens = nn.Embedding(t["vocab_size"], t["hidden_size"], device="meta")
        self.layers = nn.ModuleList(GemmaLayer(t) for _ in range(t["num_hidden_layers"]))
        self.norm = RMSNorm(t["hidden_size"], t["rms_norm_eps"])
        self.custom_text_proj = None  # [128, D] with bias, set at load

    def image_features(self, pixels):
        e = self.vision.embeddings
        x = e.patch_embedding(pixels).flatten(2).transpose(1, 2)
        x = x + e.position_embedding(torch.arange(self.vision.num_positions).unsqueeze(0))
        x = self.vision.post_layernorm(self.vision.encoder(x))
        return self.projector(x) / math.sqrt(self.config["hidden_size"])

    def forward(self, ids, lengths, pixels=None):
        """ids [n, T] int64 right-padded, lengths [n] -> per-token unit embeddings [n, T, 128]."""
        t = self.config["text"]
        n, length = ids.shape
        x = self.embed_tokens(ids)
        if pixels is not None:
            features = self.image_features(pixels)
            image = ids == self.config["image_token_index"]
            x[image] = features.reshape(-1, features.shape[-1])
        x = x * torch.tensor(math.sqrt(t["hidden_size"]), dtype=torch.float32)
        positions = torch.arange(length, dtype=torch.float64) + 1
        inv = 1.0 / (t["rope_theta"] ** (torch.arange(0, t["head_dim"], 2, dtype=torch.float64)
                                         / t["head_dim"]))
        freqs = positions[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().float(), emb.sin().float()
        keys = torch.arange(length)[None, :] < lengths[:, None]  # [n, T]
        mask = torch.zeros(n, 1, 1, length)
        mask[~keys[:, None, None, :]] = float("-inf")
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        y = self.custom_text_proj(self.norm(x))
        return y / y.norm(dim=-1, keepdim=True) * keys[..., None]


def set_tensor(module, dotted, value):
    *path, leaf = dotted.split(".")
    for p in path:
        module = getattr(module, p)
    setattr(module, leaf, nn.Parameter(value, requires_grad=False))


def load_model(adapter, base):
    """The model with the adapter's LoRA merged in float32 (no copy of the other weights)."""
    config = load_config(base)
    model = ColPali(config)
    tensors = st.load_weights(base)
    scale, lora = load_adapter(adapter) if adapter else (0.0, {})
    merged = set()

    def weight(name):
        w = tensors.pop(name)
        module = name[:-len(".weight")]
        if module in lora:
            w += scale * (lora[module]["B"] @ lora[module]["A"])
            merged.add(module)
        return w

    v = "model.vision_tower.vision_model."
    for name in [k for k in tensors if k.startswith(v)]:
        value = weight(name) if name.endswith(".weight") else tensors.pop(name)
        set_tensor(model.vision, name[len(v):], value)
    set_tensor(model.projector, "weight", weight("model.multi_modal_projector.linear.weight"))
    set_tensor(model.projector, "bias", tensors.pop("model.multi_modal_projector.linear.bias"))
    g = "model.language_model.model."
    set_tensor(model.embed_tokens, "weight", tensors.pop(g + "embed_tokens.weight"))
    set_tensor(model.norm, "weight", tensors.pop(g + "norm.weight"))
    for name in [k for k in tensors if k.startswith(g + "layers.")]:
        set_tensor(model.layers, name[len(g + "layers."):], weight(name))
    proj = weight("custom_text_proj.weight")
    model.custom_text_proj = nn.Linear(proj.shape[1], proj.shape[0], device="meta")
    set_tensor(model.custom_text_proj, "weight", proj)
    set_tensor(model.custom_text_proj, "bias", tensors.pop("custom_text_proj.bias"))
    if tensors:
        raise SystemExit(f"{base}: tensors not used: {sorted(tensors)[:5]}")
    if set(lora) != merged:
        raise SystemExit(f"{adapter}: LoRA modules not merged: {sorted(set(lora) - merged)[:5]}")
    return model.eval(), config


def pad(rows):
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
    return ids, lengths


def run_check(fixture, threads):
    torch.set_num_threads(threads)
    model, _ = load_model(os.path.join(fixture, "adapter"), os.path.join(fixture, "base"))
    golden = os.path.join(fixture, "golden")
    with open(os.path.join(golden, "manifest.json")) as f:
        m = json.load(f)
    pixels = torch.from_numpy(np.load(os.path.join(golden, "pixel_values.npy")))
    ok = True
    with torch.inference_mode():
        ids, lengths = pad([m["image_ids_unpadded"]] * pixels.shape[0])
        pages = model(ids, lengths, pixels)
        want = torch.from_numpy(np.load(os.path.join(golden, "image_embeddings.npy")))
        diff = (pages - want).abs().max().item()
        print(f"page tokens: max abs diff {diff:.3e}")
        ok &= diff <= 1e-4
        ids, lengths = pad(m["query_ids_unpadded"])
        queries = model(ids, lengths)
        want = torch.from_numpy(np.load(os.path.join(golden, "query_embeddings.npy")))
        worst = 0.0
        for i, length in enumerate(lengths.tolist()):  # the goldens are left-padded
            worst = max(worst, (queries[i, :length] - want[i, want.shape[1] - length:]).abs().max().item())
        print(f"query tokens: max abs diff {worst:.3e}")
        ok &= worst <= 1e-4
    print(f"check {fixture} (fp32, torch {torch.__version__}): {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FIXTURE")
    p.add_argument("--model", help="the adapter folder (or a base folder with --no-adapter)")
    p.add_argument("--base")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--captions", type=int, default=8)
    p.add_argument("--query-length", type=int, default=25)
    p.add_argument("--vlbench", help="vlbench binary: the page prompt's ids from `vlbench "
                   "tokenize`-consistent ids and a cross-check of one page against `vlbench embed`")
    p.add_argument("--json")
    args = p.parse_args()
    if args.check:
        sys.exit(0 if run_check(args.check, args.threads) else 1)
    if not args.model:
        p.error("--model ADAPTER (timing) or --check FIXTURE is required")

    load_start = st.load_average()
    torch.set_num_threads(args.threads)
    machine = st.cpu_model()
    print(f"machine: {machine}; torch {torch.__version__} using {torch.get_num_threads()} "
          f"threads; load average {' '.join(f'{x:.2f}' for x in load_start)}")
    base = find_base(args.model, args.base)
    model, config = load_model(args.model, base)
    n_params = sum(t.numel() for t in model.parameters())
    print(f"model: {args.model} on {base} ({n_params} parameters, LoRA merged), fp32, batch "
          f"{args.batch}")
    v, t = config["vision"], config["text"]
    size = v["image_size"]
    patches = (size // v["patch_size"]) ** 2
    # The page prompt: <image> x patches, then the prompt's ids from the model's own tokenizer
    # (the same ones vlbench uses: read from `vlbench tokenize`'s tokenizer is not needed here,
    # the fixture-style tokenizer shipped by make-model gives these 7 ids).
    prompt = [2, 577, 379, 289, 380, 557, 600]
    page_ids = [config["image_token_index"]] * patches + prompt
    g = torch.Generator().manual_seed(1)
    pixels = torch.rand(args.images, 3, size, size, generator=g) * 2 - 1
    queries = torch.randint(4, min(t["vocab_size"], 600), (args.captions, args.query_length),
                            generator=g)
    results = {"program": "colpali_torch.py", "engine": "pytorch", "dtype": "fp32",
               "torch": torch.__version__, "machine": machine, "threads": args.threads,
               "batch": args.batch, "model": args.model, "parameters": n_params,
               "page_tokens": len(page_ids), "load_average_start": load_start}
    with torch.inference_mode():
        ids, lengths = pad([page_ids] * args.batch)
        model(ids, lengths, pixels[:args.batch])  # warm-up
        page_s = st.time_reps(args.reps, lambda: [
            model(*pad([page_ids] * len(pixels[b:b + args.batch])), pixels[b:b + args.batch])
            for b in range(0, args.images, args.batch)])
        query_ids, query_lengths = queries, torch.full((args.captions,), args.query_length)
        model(query_ids[:1], query_lengths[:1])  # warm-up
        single = sorted(st.time_reps(1, lambda: model(query_ids[i:i + 1], query_lengths[i:i + 1]))[0]
                        for i in range(args.captions))
    pages_per_s = [args.images / s for s in page_s]
    results.update({"pages_per_second": statistics.median(pages_per_s),
                    "page_seconds": statistics.median(page_s) / args.images,
                    "page_tokens_per_second": statistics.median(pages_per_s) * len(page_ids),
                    "query_latency_seconds_median": single[len(single) // 2],
                    "query_length": args.query_length,
                    "load_average_end": st.load_average()})
    print(f"pages: {results['pages_per_second']:.4f} pages/s ({results['page_seconds']:.1f} s a "
          f"page of {len(page_ids)} tokens, {results['page_tokens_per_second']:.1f} tokens/s); "
          f"query latency {1e3 * results['query_latency_seconds_median']:.0f} ms median "
          f"({args.query_length} tokens)")
    if args.vlbench:
        with tempfile.TemporaryDirectory() as work:
            np.save(os.path.join(work, "p.npy"), pixels[:1].numpy())
            cmd = [args.vlbench, "embed", "--model", args.model, "--pixels",
                   os.path.join(work, "p.npy"), "--out", os.path.join(work, "t"),
                   "--threads", str(args.threads)] + (["--base", args.base] if args.base else [])
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            theirs = torch.from_numpy(np.load(os.path.join(work, "t", "TOKENS.npy")))[0]
            with torch.inference_mode():
                ours = model(*pad([page_ids]), pixels[:1])[0]
            if theirs.shape != ours.shape:
                print(f"check vs vlbench embed: shapes differ {tuple(theirs.shape)} vs "
                      f"{tuple(ours.shape)} (another page prompt)")
            else:
                results["check_page_max_abs_diff"] = (ours - theirs).abs().max().item()
                print(f"check vs vlbench embed (fp32, one page): max abs diff "
                      f"{results['check_page_max_abs_diff']:.3g}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
