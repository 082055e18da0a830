#!/usr/bin/python3
"""PyTorch peer for SigLIP encode speed: Hugging Face SiglipModel built from torch.nn layers.

The SigLIP / SigLIP 2 fixed-resolution architecture (config.json model_type "siglip"), built from
torch.nn modules with the parameter names of transformers' modeling_siglip.py and following its
forward pass operation by operation (SiglipVisionEmbeddings, SiglipTextEmbeddings, eager
SiglipAttention, SiglipMLP, pre-LN SiglipEncoderLayer, SiglipTextTransformer with last-position
pooling and `head`, SiglipVisionTransformer with post_layernorm and the MAP head
SiglipMultiheadAttentionPoolingHead on torch.nn.MultiheadAttention), loaded from the same
checkpoint directory as vlbench, timed in fp32 at the same batch size and thread count as
bench/encode_bench (compute only).

  Check against a fixture's goldens (fp32, max abs diff <= 1e-4, exit status 1 otherwise):
    /usr/bin/python3 bench/siglip_torch.py --check /work/shared/fixtures/siglip-tiny

  Timing (default mode):
    /usr/bin/python3 bench/siglip_torch.py --model DIR [--batch 32] [--threads T] [--reps 3]
        [--images 64] [--captions 256] [--vlbench build/src/cli/vlbench] [--json OUT]

Needs Debian's python3-torch and python3-numpy (a benchmark dependency only). transformers and
safetensors are not used: model.safetensors (or the shards of model.safetensors.index.json) is
parsed here (8-byte header size, JSON header, raw little-endian F32/F16/BF16 tensors).
config.json lists only the keys that differ from SiglipTextConfig / SiglipVisionConfig; the
missing ones take the defaults of configuration_siglip.py (below).

Inputs: images are seeded uniform pixels in [-1, 1] (already preprocessed, N x 3 x S x S);
captions are seeded random ids below the vocabulary size, always max_position_embeddings (64)
long, with no attention mask -- exactly what SiglipProcessor gives the model (padding="max_length"
to 64), so every caption costs the same.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}

# configuration_siglip.py defaults (SiglipTextConfig / SiglipVisionConfig)
TEXT_DEFAULTS = dict(vocab_size=32000, hidden_size=768, intermediate_size=3072,
                     num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=64,
                     hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, projection_size=None)
VISION_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                       num_attention_heads=12, num_channels=3, image_size=224, patch_size=16,
                       hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, vision_use_head=True)


# ------------------------------------------------------------------------------------------------
# checkpoint reading
# ------------------------------------------------------------------------------------------------
def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        raw = json.load(f)
    if raw.get("model_type") != "siglip":
        raise SystemExit(f"{model_dir}/config.json: model_type {raw.get('model_type')!r}, "
                         "expected 'siglip' (SiglipModel)")
    text = dict(TEXT_DEFAULTS, **(raw.get("text_config") or {}))
    if text["projection_size"] is None:
        text["projection_size"] = text["hidden_size"]
    vision = dict(VISION_DEFAULTS, **(raw.get("vision_config") or {}))
    if not vision["vision_use_head"]:
        raise SystemExit(f"{model_dir}: vision_use_head = false has no pooled image embedding")
    return {"text": text, "vision": vision, "raw": raw}


def read_safetensors(path, out):
    """Adds name -> float32 tensor for every tensor of one file. F32 tensors are views of the
    file's bytes (no copy): load_state_dict copies them into the model."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_size])
    base = 8 + header_size
    for name, entry in header.items():
        if name == "__metadata__" or name.endswith("position_ids"):
            continue  # position_ids: a non-persistent buffer, recomputed
        if entry["dtype"] not in SAFETENSORS_DTYPES:
            raise SystemExit(f"{path}: tensor {name}: unsupported dtype {entry['dtype']}")
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = math.prod(entry["shape"])
        if count:
            flat = torch.frombuffer(data, dtype=dtype, count=count, offset=base + begin)
        else:
            flat = torch.empty(0, dtype=dtype)
        assert (end - begin) == count * flat.element_size(), name
        out[name] = flat.reshape(entry["shape"]).float()


def load_weights(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(single):
        read_safetensors(single, tensors)
    elif os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        for shard in shards:
            read_safetensors(os.path.join(model_dir, shard), tensors)
    else:
        raise SystemExit(f"{model_dir}: no model.safetensors or model.safetensors.index.json")
    for name in ("logit_scale", "logit_bias"):  # nn.Parameter(torch.randn(1)) in transformers
        if name in tensors:
            tensors[name] = tensors[name].reshape(1)
    return tensors


# ------------------------------------------------------------------------------------------------
# the model (parameter names as in modeling_siglip.py, so load_state_dict takes the file)
# ------------------------------------------------------------------------------------------------
def activation(name):
    # transformers/activations.py ACT2FN
    if name == "gelu_pytorch_tanh":
        return lambda x: nn.functional.gelu(x, approximate="tanh")
    if name == "gelu":
        return nn.functional.gelu
    if name == "gelu_new":
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                                     * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    raise SystemExit(f"hidden_act {name!r} is not supported "
                     "(gelu_pytorch_tanh, gelu, gelu_new, quick_gelu)")


class Attention(nn.Module):
    """SiglipAttention, eager path: softmax(q k^T * head_dim^-0.5) v in fp32, no mask."""

    def __init__(self, d, heads, dev):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(d, d, device=dev)
        self.v_proj = nn.Linear(d, d, device=dev)
        self.q_proj = nn.Linear(d, d, device=dev)
        self.out_proj = nn.Linear(d, d, device=dev)

    def forward(self, x):  # [n, t, d] -> [n, t, d]
        n, t, d = x.shape

        def split(y):  # -> [n, heads, t, head_dim]
            return y.view(n, t, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        w = torch.matmul(q, k.transpose(2, 3)) * self.scale
        w = nn.functional.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).contiguous().reshape(n, t, d)
        return self.out_proj(out)


class Mlp(nn.Module):
    """SiglipMLP: fc2(act(fc1(x)))."""

    def __init__(self, tower, dev):
        super().__init__()
        self.act = activation(tower["hidden_act"])
        self.fc1 = nn.Linear(tower["hidden_size"], tower["intermediate_size"], device=dev)
        self.fc2 = nn.Linear(tower["intermediate_size"], tower["hidden_size"], device=dev)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class EncoderLayer(nn.Module):
    """SiglipEncoderLayer: pre-LN attention and MLP residual blocks."""

    def __init__(self, tower, dev):
        super().__init__()
        d, eps = tower["hidden_size"], tower["layer_norm_eps"]
        self.self_attn = Attention(d, tower["num_attention_heads"], dev)
        self.layer_norm1 = nn.LayerNorm(d, eps=eps, device=dev)
        self.mlp = Mlp(tower, dev)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps, device=dev)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, tower, dev):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(tower, dev)
                                    for _ in range(tower["num_hidden_layers"]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TextTransformer(nn.Module):
    """SiglipTextTransformer + SiglipTextEmbeddings."""

    def __init__(self, t, dev):
        super().__init__()
        d = t["hidden_size"]
        self.max_positions = t["max_position_embeddings"]
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(t["vocab_size"], d, device=dev)
        self.embeddings.position_embedding = nn.Embedding(self.max_positions, d, device=dev)
        self.encoder = Encoder(t, dev)
        self.final_layer_norm = nn.LayerNorm(d, eps=t["layer_norm_eps"], device=dev)
        self.head = nn.Linear(d, t["projection_size"], device=dev)

    def forward(self, ids):  # [n, t] int64, no attention mask -> [n, projection_size]
        length = ids.shape[-1]
        if length > self.max_positions:
            raise ValueError(f"{length} tokens > max_position_embeddings {self.max_positions}")
        e = self.embeddings
        positions = torch.arange(length).unsqueeze(0)
        x = e.token_embedding(ids) + e.position_embedding(positions)
        x = self.final_layer_norm(self.encoder(x))
        return self.head(x[:, -1, :])  # the last position, whatever token it holds


class PoolingHead(nn.Module):
    """SiglipMultiheadAttentionPoolingHead: the probe attends to all tokens (packed
    in_proj_weight = [q; k; v]), then h + mlp(layernorm(h)), row 0."""

    def __init__(self, v, dev):
        super().__init__()
        d = v["hidden_size"]
        self.probe = nn.Parameter(torch.empty(1, 1, d, device=dev))
        self.attention = nn.MultiheadAttention(d, v["num_attention_heads"], batch_first=True,
                                               device=dev)
        self.layernorm = nn.LayerNorm(d, eps=v["layer_norm_eps"], device=dev)
        self.mlp = Mlp(v, dev)

    def forward(self, x):  # [n, tokens, d] -> [n, d]
        probe = self.probe.repeat(x.shape[0], 1, 1)
        h = self.attention(probe, x, x)[0]
        h = h + self.mlp(self.layernorm(h))
        return h[:, 0]


class VisionTransformer(nn.Module):
    """SiglipVisionTransformer + SiglipVisionEmbeddings (fixed resolution, no interpolation)."""

    def __init__(self, v, dev):
        super().__init__()
        d, p = v["hidden_size"], v["patch_size"]
        self.num_positions = (v["image_size"] // p) ** 2
        self.embeddings = nn.Module()
        self.embeddings.patch_embedding = nn.Conv2d(v["num_channels"], d, kernel_size=p, stride=p,
                                                    padding="valid", device=dev)
        self.embeddings.position_embedding = nn.Embedding(self.num_positions, d, device=dev)
        self.encoder = Encoder(v, dev)
        self.post_layernorm = nn.LayerNorm(d, eps=v["layer_norm_eps"], device=dev)
        self.head = PoolingHead(v, dev)

    def forward(self, pixels):  # [n, C, S, S] -> [n, d]
        e = self.embeddings
        # a valid stride-p convolution: remainder rows / columns are dropped
        x = e.patch_embedding(pixels).flatten(2).transpose(1, 2)
        if x.shape[1] != self.num_positions:
            raise ValueError(f"{x.shape[1]} patches but {self.num_positions} position embeddings")
        x = x + e.position_embedding(torch.arange(self.num_positions).unsqueeze(0))
        x = self.post_layernorm(self.encoder(x))
        return self.head(x)


class Siglip(nn.Module):
    """SiglipModel: get_image_features / get_text_features (unnormalised) and the logits."""

    def __init__(self, config, dev):
        super().__init__()
        self.text_model = TextTransformer(config["text"], dev)
        self.vision_model = VisionTransformer(config["vision"], dev)
        self.logit_scale = nn.Parameter(torch.empty(1, device=dev))
        self.logit_bias = nn.Parameter(torch.empty(1, device=dev))

    def encode_images(self, pixels):
        return self.vision_model(pixels)

    def encode_texts(self, ids):
        return self.text_model(ids)

    def logits_per_image(self, image_embeds, text_embeds):
        i = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
        t = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
        return (t @ i.T * self.logit_scale.exp() + self.logit_bias).T


def load_model(model_dir):
    config = load_config(model_dir)
    model = Siglip(config, "meta")  # no random initialisation: the file's weights replace it
    model.to_empty(device="cpu")
    state = load_weights(model_dir)
    model.load_state_dict(state, strict=True)
    del state
    model.requires_grad_(False)
    return model.eval(), config


# ------------------------------------------------------------------------------------------------
# analytic FLOPs (matmuls only: 2 * in * out per token per Linear, attention 4 * N^2 * D per layer)
# ------------------------------------------------------------------------------------------------
def layer_flop(tower, tokens):
    d = tower["hidden_size"]
    return 2 * (4 * d * d + 2 * d * tower["intermediate_size"]) * tokens + 4 * tokens ** 2 * d


def image_flop(config):
    v = config["vision"]
    d, p = v["hidden_size"], v["patch_size"]
    n = (v["image_size"] // p) ** 2
    patch = 2 * n * v["num_channels"] * p * p * d
    head = (2 * d * d              # q projection of the probe (1 token)
            + 2 * 2 * d * d * n    # k, v projections of the n tokens
            + 4 * n * d            # 1 query: scores and weighted sum
            + 2 * d * d            # out_proj (1 token)
            + 2 * 2 * d * v["intermediate_size"])  # head MLP (1 token)
    return patch + v["num_hidden_layers"] * layer_flop(v, n) + head


def text_flop(config, length):
    t = config["text"]
    return (t["num_hidden_layers"] * layer_flop(t, length)
            + 2 * t["hidden_size"] * t["projection_size"])


# ------------------------------------------------------------------------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


def time_reps(reps, fn):
    """Seconds of each of reps calls of fn."""
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def sgemm_peak(size):
    a, b = torch.rand(size, size) - 0.5, torch.rand(size, size) - 0.5
    a @ b.T
    return 2 * size ** 3 / min(time_reps(3, lambda: a @ b.T)) * 1e-9


def run_check(fixture, threads):
    """fp32 outputs vs the fixture's float64-reference goldens; True when within tolerance."""
    torch.set_num_threads(threads)
    model, _ = load_model(fixture)
    golden = os.path.join(fixture, "golden")
    pixels = torch.from_numpy(np.load(os.path.join(golden, "pixel_values.npy"))).float()
    ids = torch.from_numpy(np.load(os.path.join(golden, "text_input_ids.npy"))).long()
    with torch.inference_mode():
        images = model.encode_images(pixels)
        texts = model.encode_texts(ids)
        logits = model.logits_per_image(images, texts)
    ok = True
    for name, ours, file, bound in (("image_embeds", images, "image_embeds.npy", 1e-4),
                                    ("text_embeds", texts, "text_embeds.npy", 1e-4),
                                    ("logits_per_image", logits, "logits_per_image.npy", 1e-3)):
        path = os.path.join(golden, file)
        if not os.path.exists(path):
            continue
        want = torch.from_numpy(np.load(path)).double()
        if tuple(want.shape) != tuple(ours.shape):
            print(f"{name}: shape {tuple(ours.shape)}, golden {tuple(want.shape)}: FAIL")
            ok = False
            continue
        diff = (ours.double() - want).abs().max().item()
        passed = diff <= bound
        ok &= passed
        print(f"{name:17s} {str(tuple(ours.shape)):10s} max abs diff {diff:.3e} "
              f"(max |golden| {want.abs().max().item():.3g}, bound {bound:g}): "
              f"{'ok' if passed else 'FAIL'}")
    print(f"check {fixture} (fp32, torch {torch.__version__}): {'PASS' if ok else 'FAIL'}")
    return ok


def why(e):
    """One line about a failed vlbench call."""
    if isinstance(e, subprocess.CalledProcessError):
        lines = (e.stderr or "").strip().splitlines()
        return f"exit status {e.returncode}" + (f": {lines[-1][:200]}" if lines else "")
    return str(e).strip()[:200]


def check_against_vlbench(args, model, config, workdir):
    """Max abs diff against `vlbench embed` (fp32). Skipped (None) where vlbench cannot do it."""
    result = {}
    size = config["vision"]["image_size"]
    threads = ["--threads", str(args.threads)]
    pixels = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(2)) * 2 - 1
    pix_path, emb_path = os.path.join(workdir, "pixels.npy"), os.path.join(workdir, "emb.npy")
    np.save(pix_path, pixels.numpy())
    try:
        subprocess.run([args.vlbench, "embed", "--model", args.model, "--pixels", pix_path,
                        "--out", emb_path] + threads, check=True, capture_output=True, text=True)
        theirs = torch.from_numpy(np.load(emb_path)).double()
        with torch.inference_mode():
            ours = model.encode_images(pixels).double()
        result["image_max_abs_diff"] = (ours - theirs).abs().max().item()
        result["image_max_abs"] = ours.abs().max().item()
    except (OSError, subprocess.CalledProcessError, ValueError, RuntimeError) as e:
        print(f"(vlbench embed --pixels unavailable for this model: {why(e)})")

    captions = ["a photo of a cat and a zebra", "two dogs playing frisbee in the park"]
    text_path = os.path.join(workdir, "captions.txt")
    with open(text_path, "w") as f:
        f.write("\n".join(captions) + "\n")
    try:
        lines = subprocess.run([args.vlbench, "tokenize", "--model", args.model, "--text-list",
                                text_path], check=True, capture_output=True, text=True).stdout
        ids = [json.loads(line)["ids"] for line in lines.splitlines() if line.strip()]
        length = config["text"]["max_position_embeddings"]
        if len(ids) != len(captions) or any(len(i) != length for i in ids):
            raise ValueError(f"`vlbench tokenize` did not give {len(captions)} rows of "
                             f"{length} ids")
        subprocess.run([args.vlbench, "embed", "--model", args.model, "--text-list", text_path,
                        "--out", emb_path] + threads, check=True, capture_output=True, text=True)
        theirs = torch.from_numpy(np.load(emb_path)).double()
        with torch.inference_mode():
            ours = model.encode_texts(torch.tensor(ids, dtype=torch.int64)).double()
        result["text_max_abs_diff"] = (ours - theirs).abs().max().item()
        result["text_max_abs"] = ours.abs().max().item()
    except (OSError, subprocess.CalledProcessError, ValueError, RuntimeError, KeyError) as e:
        print(f"(vlbench tokenize/embed --text-list unavailable for this model: {why(e)})")
    if result:
        print("check vs vlbench embed (fp32): " + ", ".join(
            f"{k} {v:.3g}" for k, v in result.items()))
    return result or None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", metavar="FIXTURE",
                   help="compare against FIXTURE/golden/*.npy instead of timing")
    p.add_argument("--model", help="checkpoint directory (HF SiglipModel layout)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--captions", type=int, default=256)
    p.add_argument("--seed", type=int, default=1, help="seed of the random pixels and ids")
    p.add_argument("--peak-size", type=int, default=2048,
                   help="m = n = k of the torch sgemm peak measurement (0: skip)")
    p.add_argument("--vlbench", help="vlbench binary: also check against `vlbench embed` "
                   "(skipped where it cannot embed this model)")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    args = p.parse_args()

    if args.check:
        sys.exit(0 if run_check(args.check, args.threads) else 1)
    if not args.model:
        p.error("--model DIR (timing) or --check FIXTURE is required")
    if min(args.batch, args.reps, args.images, args.captions) < 1:
        p.error("--batch, --reps, --images and --captions must be >= 1")

    load_start = load_average()
    torch.set_num_threads(args.threads)
    machine = cpu_model()
    print(f"machine: {machine}, {os.cpu_count()} hardware threads; torch {torch.__version__} "
          f"using {torch.get_num_threads()} threads; load average "
          f"{' '.join(f'{x:.2f}' for x in load_start)}")
    model, config = load_model(args.model)
    n_params = sum(t.numel() for t in model.parameters())
    print(f"model: {args.model} ({n_params} parameters), fp32, batch {args.batch}, "
          f"{args.reps} reps after 1 warm-up batch")
    peak = sgemm_peak(args.peak_size) if args.peak_size > 0 else None
    if peak:
        print(f"baseline: torch sgemm peak ({args.peak_size}^3 matmul, best of 3): "
              f"{peak:.1f} GFLOP/s")

    results = {"program": "siglip_torch.py", "engine": "pytorch", "dtype": "fp32",
               "torch": torch.__version__, "machine": machine,
               "hardware_threads": os.cpu_count(), "threads": args.threads,
               "batch": args.batch, "reps": args.reps, "model": args.model,
               "parameters": n_params, "attention": "eager",
               "load_average_start": load_start, "sgemm_peak_gflops": peak}
    if args.vlbench:
        with tempfile.TemporaryDirectory() as workdir:
            results["check"] = check_against_vlbench(args, model, config, workdir)

    size, channels = config["vision"]["image_size"], config["vision"]["num_channels"]
    g = torch.Generator().manual_seed(args.seed)
    pixels = torch.rand(args.images, channels, size, size, generator=g) * 2 - 1
    length = config["text"]["max_position_embeddings"]  # 64: SigLIP always runs padded captions
    ids = torch.randint(0, config["text"]["vocab_size"], (args.captions, length), generator=g)
    image_batches = [pixels[b:b + args.batch] for b in range(0, args.images, args.batch)]
    text_batches = [ids[b:b + args.batch] for b in range(0, args.captions, args.batch)]

    with torch.inference_mode():
        model.encode_images(image_batches[0])  # warm-up
        image_s = time_reps(args.reps, lambda: [model.encode_images(x) for x in image_batches])
        model.encode_texts(text_batches[0])  # warm-up
        text_s = time_reps(args.reps, lambda: [model.encode_texts(x) for x in text_batches])

    image_rates = [args.images / s for s in image_s]
    text_rates = [args.captions / s for s in text_s]
    image_gflop, text_gflop = image_flop(config) * 1e-9, text_flop(config, length) * 1e-9
    image_gflops = image_gflop * args.images / statistics.median(image_s)
    text_gflops = text_gflop * args.captions / statistics.median(text_s)
    of_peak = (lambda x: f" = {x / peak:.3f} of the torch sgemm peak") if peak else (lambda x: "")
    print(f"images:   {statistics.median(image_rates):.3f} images/s median (reps "
          f"{', '.join(f'{r:.3f}' for r in image_rates)}) over {args.images} images of "
          f"{size}x{size} ({image_gflop:.2f} GFLOP each), {image_gflops:.1f} GFLOP/s"
          f"{of_peak(image_gflops)}")
    print(f"captions: {statistics.median(text_rates):.3f} captions/s median (reps "
          f"{', '.join(f'{r:.3f}' for r in text_rates)}) over {args.captions} captions of "
          f"{length} tokens ({text_gflop:.2f} GFLOP each), {text_gflops:.1f} GFLOP/s"
          f"{of_peak(text_gflops)}")
    load_end = load_average()
    print(f"load average after the run {' '.join(f'{x:.2f}' for x in load_end)}")

    results.update({
        "image_size": size,
        "caption_length": length,
        "images": args.images,
        "captions": args.captions,
        "images_per_second": statistics.median(image_rates),
        "images_per_second_min": min(image_rates),
        "images_per_second_max": max(image_rates),
        "images_per_second_reps": image_rates,
        "image_seconds_reps": image_s,
        "image_gflop_per_image": image_gflop,
        "image_gflops": image_gflops,
        "image_fraction_of_peak": image_gflops / peak if peak else None,
        "captions_per_second": statistics.median(text_rates),
        "captions_per_second_min": min(text_rates),
        "captions_per_second_max": max(text_rates),
        "captions_per_second_reps": text_rates,
        "caption_seconds_reps": text_s,
        "text_gflop_per_caption": text_gflop,
        "text_gflops": text_gflops,
        "text_fraction_of_peak": text_gflops / peak if peak else None,
        "load_average_end": load_end,
    })
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
