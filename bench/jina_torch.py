#!/usr/bin/python3
"""PyTorch peer for Jina-CLIP v1 encode speed: JinaCLIPModel's two towers from torch.nn layers.

The jina-clip-v1 forward pass as ../shared/fixtures/jina-clip-tiny/README.md gives it (from
jinaai/jina-clip-implementation eva_model.py / rope_embeddings.py / hf_model.py and the
JinaBERT it wraps), built from torch.nn modules in float32, loaded from the same checkpoint
directory as vlbench and timed at the same batch size and thread count as bench/encode_bench
(compute only):
  vision (EVA02): Conv2d patch embedding, CLS + pos_embed, blocks of LayerNorm (eps 1e-6), q/k/v
    Linear (k without bias), 2-D RoPE on the patch tokens (interleaved pairs), scaled dot-product
    attention, sub-LN, proj, SwiGLU (w1 silu, w2) with ffn_ln, w3; final LayerNorm of CLS.
  text (JinaBERT): word + token-type-0 embeddings, emb_ln, post-LN layers with packed Wqkv,
    symmetric ALiBi and the pad mask added to the scores, GLU MLP (gelu of the first half),
    mean over ids != pad.
Attention is eager (matmul + softmax), as the reference code's non-flash, non-xformers path.

  Check against the fixture's goldens (fp32, max abs diff <= 1e-4, exit status 1 otherwise):
    /usr/bin/python3 bench/jina_torch.py --check /work/shared/fixtures/jina-clip-tiny

  Timing:
    /usr/bin/python3 bench/jina_torch.py --model DIR --vlbench build/src/cli/vlbench
        [--batch 8] [--threads T] [--reps 1] [--images 8] [--captions 32]
        [--caption-length 20] [--json OUT]

Captions are encode_bench's synthetic captions of --caption-length words' worth of ids,
tokenized by `vlbench tokenize` so both engines run exactly the same ids; images are seeded
uniform pixels in [-1, 1] (already preprocessed). Needs Debian's python3-torch and
python3-numpy (a benchmark dependency only).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

F = nn.functional
BERT = dict(vocab_size=30528, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
            intermediate_size=3072, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        raw = json.load(f)
    if raw.get("model_type") != "jina_clip":
        raise SystemExit(f"{model_dir}/config.json: model_type {raw.get('model_type')!r}, "
                         "expected 'jina_clip'")
    v = raw.get("vision_config") or {}
    t = dict(BERT, **((raw.get("text_config") or {}).get("hf_model_config_kwargs") or {}))
    vision = dict(width=v.get("width", 768), layers=v.get("layers", 12),
                  head_width=v.get("head_width", 64), image_size=v.get("image_size", 224),
                  patch_size=v.get("patch_size", 16), mlp_ratio=v.get("mlp_ratio", 4.0),
                  pt=v.get("pt_hw_seq_len", 16), intp_freq=v.get("intp_freq", False),
                  rope=v.get("rope_embeddings", False))
    return {"vision": vision, "text": t}


def load_weights(model_dir):
    path = os.path.join(model_dir, "model.safetensors")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, _ = e["data_offsets"]
        count = math.prod(e["shape"]) or 1
        flat = torch.frombuffer(data, dtype=dtypes[e["dtype"]], count=count, offset=8 + size + begin)
        out[name] = flat.reshape(e["shape"]).float()
    return out


def rotate_interleaved(x):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


class EvaBlock(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d, bias=False), nn.Linear(d, d)
        self.attn_ln, self.proj = nn.LayerNorm(d, eps=1e-6), nn.Linear(d, d)
        self.w1, self.w2 = nn.Linear(d, mlp), nn.Linear(d, mlp)
        self.ffn_ln, self.w3 = nn.LayerNorm(mlp, eps=1e-6), nn.Linear(mlp, d)

    def forward(self, x, cos, sin):
        b, n, d = x.shape
        h = self.norm1(x)
        q, k, v = (f(h).reshape(b, n, self.heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
        if cos is not None:  # the patch tokens; CLS (index 0) unrotated
            q = torch.cat((q[:, :, :1], q[:, :, 1:] * cos + rotate_interleaved(q[:, :, 1:]) * sin), 2)
            k = torch.cat((k[:, :, :1], k[:, :, 1:] * cos + rotate_interleaved(k[:, :, 1:]) * sin), 2)
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        o = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(self.attn_ln(o))
        h = self.norm2(x)
        return x + self.w3(self.ffn_ln(F.silu(self.w1(h)) * self.w2(h)))


class Vision(nn.Module):
    def __init__(self, c, w):
        super().__init__()
        d, p = c["width"], c["patch_size"]
        grid = c["image_size"] // p
        self.patch = nn.Conv2d(3, d, p, stride=p)
        self.cls = nn.Parameter(w["vision_model.cls_token"])
        self.pos = nn.Parameter(w["vision_model.pos_embed"])
        mlp = int(d * c["mlp_ratio"])
        self.blocks = nn.ModuleList(EvaBlock(d, d // c["head_width"], mlp) for _ in range(c["layers"]))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.cos = self.sin = None
        if c["rope"]:
            half = c["head_width"] // 2
            ft = grid if c["intp_freq"] else c["pt"]
            freqs = 1.0 / 10000.0 ** (torch.arange(0, half, 2, dtype=torch.float64)[: half // 2] / half)
            t = torch.arange(ft, dtype=torch.float64) / ft * c["pt"]
            f = torch.einsum("i,f->if", t, freqs).repeat_interleave(2, dim=-1)
            full = torch.cat((f[:, None, :].expand(ft, ft, half), f[None, :, :].expand(ft, ft, half)), -1)
            full = full.reshape(ft * ft, 2 * half)
            self.cos, self.sin = full.cos().float(), full.sin().float()
        with torch.no_grad():
            self.patch.weight.copy_(w["vision_model.patch_embed.proj.weight"])
            self.patch.bias.copy_(w["vision_model.patch_embed.proj.bias"])
            for i, b in enumerate(self.blocks):
                pre = f"vision_model.blocks.{i}."
                for mod, name in ((b.norm1, "norm1"), (b.norm2, "norm2"), (b.attn_ln, "attn.inner_attn_ln"),
                                  (b.ffn_ln, "mlp.ffn_ln"), (b.proj, "attn.proj"), (b.w1, "mlp.w1"),
                                  (b.w2, "mlp.w2"), (b.w3, "mlp.w3")):
                    mod.weight.copy_(w[pre + name + ".weight"])
                    mod.bias.copy_(w[pre + name + ".bias"])
                b.q.weight.copy_(w[pre + "attn.q_proj.weight"])
                b.q.bias.copy_(w[pre + "attn.q_bias"])
                b.k.weight.copy_(w[pre + "attn.k_proj.weight"])
                b.v.weight.copy_(w[pre + "attn.v_proj.weight"])
                b.v.bias.copy_(w[pre + "attn.v_bias"])
            self.norm.weight.copy_(w["vision_model.norm.weight"])
            self.norm.bias.copy_(w["vision_model.norm.bias"])

    def forward(self, pixels):
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls.expand(x.shape[0], -1, -1), x), 1) + self.pos
        for b in self.blocks:
            x = b(x, self.cos, self.sin)
        return self.norm(x[:, 0])


class BertLayer(nn.Module):
    def __init__(self, d, heads, inter, eps):
        super().__init__()
        self.heads, self.inter = heads, inter
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.gated, self.wo = nn.Linear(d, 2 * inter, bias=False), nn.Linear(inter, d)

    def forward(self, x, bias):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5) + bias
        o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = self.norm1(x + self.out(o))
        g = self.gated(x)
        return self.norm2(x + self.wo(F.gelu(g[..., :self.inter]) * g[..., self.inter:]))


class Text(nn.Module):
    def __init__(self, c, w):
        super().__init__()
        d, heads = c["hidden_size"], c["num_attention_heads"]
        self.pad, self.heads = c["pad_token_id"], heads
        self.word = nn.Embedding(c["vocab_size"], d)
        self.type0 = nn.Parameter(w["text_model.transformer.embeddings.token_type_embeddings.weight"][0])
        self.emb_ln = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList(BertLayer(d, heads, c["intermediate_size"], c["layer_norm_eps"])
                                    for _ in range(c["num_hidden_layers"]))
        m = 1 << (heads.bit_length() - 1)
        slopes = [2.0 ** (-8.0 * (i + 1) / m) for i in range(m)]
        slopes += [2.0 ** (-8.0 * (2 * j + 1) / (2 * m)) for j in range(heads - m)]
        self.slopes = torch.tensor(slopes, dtype=torch.float32)
        with torch.no_grad():
            pre = "text_model.transformer."
            self.word.weight.copy_(w[pre + "embeddings.word_embeddings.weight"])
            self.emb_ln.weight.copy_(w[pre + "emb_ln.weight"])
            self.emb_ln.bias.copy_(w[pre + "emb_ln.bias"])
            for i, l in enumerate(self.layers):
                p = f"{pre}encoder.layers.{i}."
                for mod, name in ((l.qkv, "mixer.Wqkv"), (l.out, "mixer.out_proj"), (l.norm1, "norm1"),
                                  (l.norm2, "norm2"), (l.wo, "mlp.wo")):
                    mod.weight.copy_(w[p + name + ".weight"])
                    mod.bias.copy_(w[p + name + ".bias"])
                l.gated.weight.copy_(w[p + "mlp.gated_layers.weight"])

    def forward(self, ids):
        mask = ids != self.pad
        n = ids.shape[1]
        pos = torch.arange(n)
        alibi = self.slopes[:, None, None] * (pos[None, :] - pos[:, None]).abs().float()
        bias = torch.where(mask, 0.0, -10000.0)[:, None, None, :] - alibi[None]
        x = self.emb_ln(self.word(ids) + self.type0)
        for l in self.layers:
            x = l(x, bias)
        m = mask.float()
        return (x * m[..., None]).sum(1) / m.sum(-1, keepdim=True)


def build(model_dir):
    config = load_config(model_dir)
    w = load_weights(model_dir)
    vision, text = Vision(config["vision"], w).eval(), Text(config["text"], w).eval()
    return vision, text, config, float(w["logit_scale"].reshape(()))


def run_check(fixture):
    vision, text, _, _ = build(fixture)
    g = os.path.join(fixture, "golden")
    with torch.inference_mode():
        img = vision(torch.from_numpy(np.load(os.path.join(g, "pixel_values.npy"))))
        txt = text(torch.from_numpy(np.load(os.path.join(g, "text_input_ids.npy"))))
    ok = True
    for name, ours in (("image_embeds", img), ("text_embeds", txt)):
        diff = (ours.double() - torch.from_numpy(np.load(os.path.join(g, name + ".npy"))).double()).abs().max().item()
        ok &= diff <= 1e-4
        print(f"{name}: max abs diff {diff:.3e} ({'ok' if diff <= 1e-4 else 'FAIL'})")
    print(f"check {fixture} (fp32, torch {torch.__version__}): {'PASS' if ok else 'FAIL'}")
    return ok


def synthetic_caption(i, length):
    """bench/encode_bench.cpp's synthetic_caption: length - 2 words."""
    words = ["a", "the", "of", "on", "in", "with", "man", "dog", "cat", "red", "two", "white",
             "street", "table", "sitting", "next", "to", "black", "people", "water"]
    return " ".join(words[(i * 7 + w * 3) % len(words)] for w in range(length - 2))


def vlbench_ids(vlbench, model, captions, workdir):
    path = os.path.join(workdir, "captions.txt")
    with open(path, "w") as f:
        f.write("\n".join(captions) + "\n")
    out = subprocess.run([vlbench, "tokenize", "--model", model, "--text-list", path],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["ids"] for line in out.splitlines() if line.strip()]


def time_reps(reps, fn):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FIXTURE")
    p.add_argument("--model")
    p.add_argument("--vlbench", help="vlbench binary (tokenizes the captions)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--captions", type=int, default=32)
    p.add_argument("--caption-length", type=int, default=20)
    p.add_argument("--json")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        sys.exit(0 if run_check(a.check) else 1)
    if not a.model or not a.vlbench:
        p.error("--model DIR and --vlbench BINARY (or --check FIXTURE) are required")
    load_start = os.getloadavg()
    vision, text, config, _ = build(a.model)
    size = config["vision"]["image_size"]
    pixels = torch.rand(a.images, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with tempfile.TemporaryDirectory() as workdir:
        ids = vlbench_ids(a.vlbench, a.model,
                          [synthetic_caption(i, a.caption_length) for i in range(a.captions)], workdir)
    lengths = sorted({len(i) for i in ids})
    # Captions of one length run together, as vlbench groups them (no padding).
    groups = {n: [i for i in ids if len(i) == n] for n in lengths}
    text_batches = [torch.tensor(g[b:b + a.batch]) for g in groups.values() for b in range(0, len(g), a.batch)]
    image_batches = [pixels[b:b + a.batch] for b in range(0, a.images, a.batch)]
    with torch.inference_mode():
        vision(image_batches[0])
        image_s = time_reps(a.reps, lambda: [vision(x) for x in image_batches])
        text(text_batches[0])
        text_s = time_reps(a.reps, lambda: [text(x) for x in text_batches])
    result = {"program": "jina_torch.py", "engine": "pytorch", "dtype": "fp32",
              "torch": torch.__version__, "threads": a.threads, "batch": a.batch,
              "model": a.model, "images": a.images, "captions": a.captions,
              "caption_lengths": lengths,
              "caption_ids_mean": sum(len(i) for i in ids) / len(ids),
              "images_per_second": a.images / statistics.median(image_s),
              "captions_per_second": a.captions / statistics.median(text_s),
              "load_average_start": load_start, "load_average_end": os.getloadavg()}
    print(f"PyTorch fp32: {result['images_per_second']:.3f} images/s, "
          f"{result['captions_per_second']:.3f} captions/s of {result['caption_ids_mean']:.1f} ids")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
