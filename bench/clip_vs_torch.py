#!/usr/bin/python3
"""PyTorch reference for bench/encode_bench: the same CLIPModel architecture built from torch.nn
layers, with the weights of the same checkpoint directory, timed at the same batch size and
thread count in fp32 (compute only, as encode_bench), and checked against vlbench's embeddings.

  /usr/bin/python3 bench/clip_vs_torch.py --model DIR [--batch 32] [--threads T] [--reps 3]
      [--images 64] [--captions 256] [--vlbench build/src/cli/vlbench] [--json OUT]

Needs Debian's python3-torch and python3-numpy (a benchmark dependency only). transformers and
safetensors are not used: model.safetensors is parsed here (8-byte header size, JSON header,
raw little-endian tensors).

Captions: caption i has 12 + (5*i mod 9) token ids (bos ... eos), as in encode_bench. A batch is
padded to its longest caption, as transformers' CLIPTokenizer(padding=True) does; with the causal
mask, padding after a caption does not change its pooled token.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
from torch import nn

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    """name -> float32 tensor, from the raw file."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_size])
    base = 8 + header_size
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or name.endswith("position_ids"):
            continue  # position_ids: an int64 buffer transformers recomputes
        if entry["dtype"] not in SAFETENSORS_DTYPES:
            raise SystemExit(f"{path}: tensor {name}: unsupported dtype {entry['dtype']}")
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = math.prod(entry["shape"])
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=base + begin) if count else \
            torch.empty(0, dtype=dtype)
        assert (end - begin) == count * flat.element_size(), name
        tensors[name] = flat.reshape(entry["shape"]).float().clone()
    return tensors


def activation(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return nn.functional.gelu
    if name == "gelu_pytorch_tanh":
        return lambda x: nn.functional.gelu(x, approximate="tanh")
    raise SystemExit(f"hidden_act {name!r} is not supported (quick_gelu, gelu, gelu_pytorch_tanh)")


class Attention(nn.Module):
    """transformers' CLIPAttention (eager): q scaled by head_dim^-0.5, softmax in fp32."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.q_proj, self.k_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.v_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, mask):  # x: [n, t, d] -> [n, t, d]
        n, t, d = x.shape

        def split(y):  # -> [n, heads, t, head_dim]
            return y.view(n, t, self.heads, self.head_dim).transpose(1, 2)

        q = split(self.q_proj(x) * self.head_dim ** -0.5)
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-1, -2)  # [n, heads, t, t]
        if mask is not None:
            scores = scores + mask
        out = torch.softmax(scores, dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(n, t, d))


class Layer(nn.Module):
    def __init__(self, tower):
        super().__init__()
        d, eps = tower["hidden_size"], tower.get("layer_norm_eps", 1e-5)
        self.self_attn = Attention(d, tower["num_attention_heads"])
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, tower["intermediate_size"])
        self.mlp.fc2 = nn.Linear(tower["intermediate_size"], d)
        self.act = activation(tower.get("hidden_act", "quick_gelu"))

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp.fc2(self.act(self.mlp.fc1(self.layer_norm2(x))))


class Encoder(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.layers = nn.ModuleList(Layer(tower) for _ in range(tower["num_hidden_layers"]))

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class Clip(nn.Module):
    """transformers' CLIPModel, with its parameter names (so load_state_dict takes the file)."""

    def __init__(self, config):
        super().__init__()
        text, vision = config["text_config"], config["vision_config"]
        self.eos_token_id = text.get("eos_token_id", 49407)
        dt, dv, proj = text["hidden_size"], vision["hidden_size"], config["projection_dim"]
        self.patch, self.image_size = vision["patch_size"], vision["image_size"]
        n_patches = (self.image_size // self.patch) ** 2

        self.text_model = nn.Module()
        self.text_model.embeddings = nn.Module()
        self.text_model.embeddings.token_embedding = nn.Embedding(text["vocab_size"], dt)
        self.text_model.embeddings.position_embedding = nn.Embedding(
            text["max_position_embeddings"], dt)
        self.text_model.encoder = Encoder(text)
        self.text_model.final_layer_norm = nn.LayerNorm(dt, eps=text.get("layer_norm_eps", 1e-5))
        self.text_projection = nn.Linear(dt, proj, bias=False)

        self.vision_model = nn.Module()
        self.vision_model.embeddings = nn.Module()
        self.vision_model.embeddings.class_embedding = nn.Parameter(torch.empty(dv))
        self.vision_model.embeddings.patch_embedding = nn.Conv2d(
            vision.get("num_channels", 3), dv, self.patch, stride=self.patch, bias=False)
        self.vision_model.embeddings.position_embedding = nn.Embedding(n_patches + 1, dv)
        eps = vision.get("layer_norm_eps", 1e-5)
        self.vision_model.pre_layrnorm = nn.LayerNorm(dv, eps=eps)
        self.vision_model.encoder = Encoder(vision)
        self.vision_model.post_layernorm = nn.LayerNorm(dv, eps=eps)
        self.visual_projection = nn.Linear(dv, proj, bias=False)
        self.logit_scale = nn.Parameter(torch.empty(()))

    def encode_images(self, pixels):  # [n, 3, S, S] -> [n, proj]
        e = self.vision_model.embeddings
        patches = e.patch_embedding(pixels).flatten(2).transpose(1, 2)  # [n, patches, dv]
        cls = e.class_embedding.expand(pixels.shape[0], 1, -1)
        x = torch.cat([cls, patches], dim=1) + e.position_embedding.weight
        x = self.vision_model.encoder(self.vision_model.pre_layrnorm(x))
        return self.visual_projection(self.vision_model.post_layernorm(x[:, 0]))

    def encode_texts(self, ids):  # [n, t] int64 (padded after eos) -> [n, proj]
        t = ids.shape[1]
        e = self.text_model.embeddings
        x = e.token_embedding(ids) + e.position_embedding.weight[:t]
        mask = torch.full((t, t), float("-inf")).triu(1)  # causal
        x = self.text_model.final_layer_norm(self.text_model.encoder(x, mask))
        if self.eos_token_id == 2:
            pool = ids.argmax(dim=-1)
        else:
            pool = (ids == self.eos_token_id).int().argmax(dim=-1)  # the first eos
        return self.text_projection(x[torch.arange(ids.shape[0]), pool])


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = Clip(config)
    state = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    model.load_state_dict(state, strict=True)
    return model.eval(), config


def caption_ids(n, vocab_size, eos_token_id, seed=1):
    """Caption i: bos, 12 + (5*i mod 9) - 2 random ordinary ids, eos (as encode_bench)."""
    bos = vocab_size - 2
    eos = bos + 1 if eos_token_id == 2 else eos_token_id
    g = torch.Generator().manual_seed(seed)
    captions = []
    for i in range(n):
        length = 12 + (5 * i) % 9
        middle = torch.randint(0, bos, (length - 2,), generator=g).tolist()
        captions.append([bos] + middle + [eos])
    return captions


def pad_batch(captions, eos):
    t = max(len(c) for c in captions)
    return torch.tensor([c + [eos] * (t - len(c)) for c in captions], dtype=torch.int64)


def time_reps(reps, fn):
    t = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        t.append(time.perf_counter() - start)
    return statistics.median(t), min(t), max(t)


def sgemm_peak(size=2048):
    a, b = torch.rand(size, size) - 0.5, torch.rand(size, size) - 0.5
    a @ b.T
    best = time_reps(3, lambda: a @ b.T)[1]
    return 2 * size ** 3 / best * 1e-9


def layer_flop(tower, tokens):
    d = tower["hidden_size"]
    return 2 * (4 * d * d + 2 * d * tower["intermediate_size"]) * tokens + 4 * tokens ** 2 * d


def image_flop(config):
    v = config["vision_config"]
    n_patches = (v["image_size"] // v["patch_size"]) ** 2
    patch = 2 * n_patches * v.get("num_channels", 3) * v["patch_size"] ** 2 * v["hidden_size"]
    return (patch + v["num_hidden_layers"] * layer_flop(v, n_patches + 1)
            + 2 * v["hidden_size"] * config["projection_dim"])


def text_flop(config, length):
    t = config["text_config"]
    return (t["num_hidden_layers"] * layer_flop(t, length)
            + 2 * t["hidden_size"] * config["projection_dim"])


def check_against_vlbench(args, model, config, workdir):
    """Max abs diff of image and text embeddings against `vlbench embed` (fp32)."""
    size = config["vision_config"]["image_size"]
    g = torch.Generator().manual_seed(2)
    pixels = torch.rand(args.check, 3, size, size, generator=g) * 4 - 2
    pix_path, emb_path = os.path.join(workdir, "pixels.npy"), os.path.join(workdir, "emb.npy")
    np.save(pix_path, pixels.numpy())
    threads = ["--threads", str(args.threads)]
    subprocess.run([args.vlbench, "embed", "--model", args.model, "--pixels", pix_path,
                    "--out", emb_path] + threads, check=True)
    theirs = torch.from_numpy(np.load(emb_path))
    with torch.inference_mode():
        ours = model.encode_images(pixels)
    image_diff = (ours - theirs).abs().max().item()
    image_scale = ours.abs().max().item()

    captions = ["a man riding a wave on top of a surfboard.",
                "Two dogs play with a red frisbee in the park",
                "A kitchen with wooden cabinets, a stove & a fridge!",
                "a plate of food"][:max(1, args.check)]
    text_path = os.path.join(workdir, "captions.txt")
    with open(text_path, "w") as f:
        f.write("\n".join(captions) + "\n")
    lines = subprocess.run([args.vlbench, "tokenize", "--model", args.model, "--text-list",
                            text_path], check=True, capture_output=True, text=True).stdout
    ids = [json.loads(line)["ids"] for line in lines.splitlines()]
    subprocess.run([args.vlbench, "embed", "--model", args.model, "--text-list", text_path,
                    "--out", emb_path] + threads, check=True)
    theirs = torch.from_numpy(np.load(emb_path))
    with torch.inference_mode():
        ours = torch.cat([model.encode_texts(torch.tensor([c])) for c in ids])
    text_diff = (ours - theirs).abs().max().item()
    text_scale = ours.abs().max().item()
    print(f"check vs vlbench embed (fp32): images max abs diff {image_diff:.3g} "
          f"(max |value| {image_scale:.3g}), captions max abs diff {text_diff:.3g} "
          f"(max |value| {text_scale:.3g})")
    return {"image_max_abs_diff": image_diff, "image_max_abs": image_scale,
            "text_max_abs_diff": text_diff, "text_max_abs": text_scale}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="checkpoint directory (HF CLIPModel layout)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--captions", type=int, default=256)
    p.add_argument("--vlbench", help="vlbench binary: check embeddings against `vlbench embed`")
    p.add_argument("--check", type=int, default=4, help="images and captions to check")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} hardware "
          f"threads; torch {torch.__version__} using {torch.get_num_threads()} threads; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    model, config = load_model(args.model)
    n_params = sum(t.numel() for t in model.parameters())
    print(f"model: {args.model} ({n_params} parameters), fp32, batch {args.batch}, "
          f"{args.reps} reps after 1 warm-up batch")
    peak = sgemm_peak()
    print(f"baseline: torch sgemm peak (2048^3 matmul, best of 3): {peak:.1f} GFLOP/s")

    results = {"program": "clip_vs_torch.py", "torch": torch.__version__,
               "threads": args.threads, "batch": args.batch, "reps": args.reps,
               "sgemm_peak_gflops": peak}
    if args.vlbench:
        with tempfile.TemporaryDirectory() as workdir:
            results["check"] = check_against_vlbench(args, model, config, workdir)

    size = config["vision_config"]["image_size"]
    pixels = torch.rand(args.images, 3, size, size, generator=torch.Generator().manual_seed(1))
    pixels = pixels * 4 - 2
    text = config["text_config"]
    eos_token_id = text.get("eos_token_id", 49407)
    captions = caption_ids(args.captions, text["vocab_size"], eos_token_id)
    eos = captions[0][-1]
    batches = [pad_batch(captions[b:b + args.batch], eos)
               for b in range(0, args.captions, args.batch)]

    with torch.inference_mode():
        model.encode_images(pixels[:args.batch])  # warm-up
        image_t = time_reps(args.reps, lambda: [model.encode_images(pixels[b:b + args.batch])
                                                for b in range(0, args.images, args.batch)])
        model.encode_texts(batches[0])  # warm-up
        text_t = time_reps(args.reps, lambda: [model.encode_texts(ids) for ids in batches])

    image_gflops = image_flop(config) * args.images / image_t[0] * 1e-9
    text_gflops = sum(text_flop(config, len(c)) for c in captions) / text_t[0] * 1e-9
    print(f"images:   {args.images / image_t[0]:.2f} images/s median (min "
          f"{args.images / image_t[2]:.2f}, max {args.images / image_t[1]:.2f}) over "
          f"{args.images} images, {image_gflops:.1f} GFLOP/s = {image_gflops / peak:.3f} of "
          f"the torch sgemm peak")
    print(f"captions: {args.captions / text_t[0]:.2f} captions/s median (min "
          f"{args.captions / text_t[2]:.2f}, max {args.captions / text_t[1]:.2f}) over "
          f"{args.captions} captions of 12-20 tokens (batches padded to the longest), "
          f"{text_gflops:.1f} GFLOP/s (true lengths) = {text_gflops / peak:.3f} of the peak")
    print(f"load average after the run {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    results.update({
        "images_per_second": args.images / image_t[0],
        "images_per_second_min": args.images / image_t[2],
        "images_per_second_max": args.images / image_t[1],
        "image_gflops": image_gflops,
        "captions_per_second": args.captions / text_t[0],
        "captions_per_second_min": args.captions / text_t[2],
        "captions_per_second_max": args.captions / text_t[1],
        "text_gflops": text_gflops,
        "load_average_end": os.getloadavg(),
    })
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
