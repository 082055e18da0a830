#!/usr/bin/python3
"""Writes the bundled mini datasets under data/ (the quickstart and the tests use them).

Each is a small synthetic dataset in the exact published layout of the real one:
  data/coco-karpathy-mini/      dataset_coco.json (Karpathy split file) + val2014/, train2014/
  data/flickr30k-karpathy-mini/ dataset_flickr30k.json (Karpathy split file) + images
  data/winoground-mini/         examples.jsonl + images/ex_N_img_{0,1}.png
  data/jsonl-mini/              captions.jsonl + images/*.jpg
Images are flat-coloured shapes drawn with Pillow and the captions describe them, so a real
model could retrieve them. Deterministic: fixed seed, no timestamps; rerunning rewrites the
same bytes (with the same Pillow and libjpeg).

Usage: /usr/bin/python3 scripts/make_mini_datasets.py [--out DATA_DIR]   (needs python3-pil)
"""

import argparse
import json
import random
import re
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

SEED = 20240611

COLORS = {
    "red": (214, 40, 40),
    "blue": (40, 80, 210),
    "green": (40, 150, 70),
    "yellow": (235, 200, 30),
    "purple": (130, 50, 160),
    "orange": (240, 130, 20),
    "black": (25, 25, 25),
}
SHAPES = ["circle", "square", "triangle", "diamond"]
BACKGROUNDS = {
    "gray": (200, 200, 200),
    "cream": (245, 238, 215),
    "light blue": (205, 225, 245),
    "pale green": (215, 240, 210),
}

# relation -> (phrase, inverse phrase, where A is, where B is, axis)
RELATIONS = {
    "left of": ("to the left of", "to the right of", "on the left", "on the right", "h"),
    "above": ("above", "below", "at the top", "at the bottom", "v"),
}


def article(words):
    return ("an " if words[0] in "aeiou" else "a ") + words


def shape_pair(scene):
    """"a circle and a square", or "two circles" when both shapes are the same."""
    a, b = scene["a"][1], scene["b"][1]
    return f"two {a}s" if a == b else f"a {a} and a {b}"


def tokens(raw):
    """Karpathy's tokens: lower-case words without punctuation."""
    return re.findall(r"[a-z0-9]+", raw.lower())


def draw_shape(draw, shape, color, cx, cy, r):
    box = [cx - r, cy - r, cx + r, cy + r]
    if shape == "circle":
        draw.ellipse(box, fill=color)
    elif shape == "square":
        draw.rectangle(box, fill=color)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=color)
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=color)
    else:
        raise ValueError(shape)


def canvas_size(rng, axis, n_cells=2):
    """Varied sizes in 48..160 px, wide for side-by-side scenes, tall for stacked ones."""
    long_side = rng.randint(96 if n_cells == 2 else 120, 160)
    short_side = rng.randint(48, 96)
    return (long_side, short_side) if axis == "h" else (short_side, long_side)


def render(size, background, items, axis):
    """items: [(shape, colour name, scale)], placed in equal cells along `axis` in order
    (left to right, or top to bottom)."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    n = len(items)
    for i, (shape, color, scale) in enumerate(items):
        if axis == "h":
            cell_w, cell_h = width / n, height
            cx, cy = cell_w * (i + 0.5), cell_h / 2
        else:
            cell_w, cell_h = width, height / n
            cx, cy = cell_w / 2, cell_h * (i + 0.5)
        r = 0.36 * min(cell_w, cell_h) * scale
        draw_shape(draw, shape, COLORS[color], round(cx), round(cy), round(r))
    return image


def make_scenes(rng, n):
    """n two-shape scenes, no two sharing the same pair of (colour, shape) objects."""
    objects = [(c, s) for c in COLORS for s in SHAPES]
    seen = set()
    scenes = []
    while len(scenes) < n:
        a, b = rng.sample(objects, 2)
        if a[0] == b[0] or frozenset((a, b)) in seen:
            continue
        seen.add(frozenset((a, b)))
        relation = rng.choice(sorted(RELATIONS))
        background = rng.choice(sorted(BACKGROUNDS))
        axis = RELATIONS[relation][4]
        scenes.append({"a": a, "b": b, "relation": relation, "background": background,
                       "size": canvas_size(rng, axis)})
    return scenes


def render_scene(scene):
    axis = RELATIONS[scene["relation"]][4]
    items = [(scene["a"][1], scene["a"][0], 1.0), (scene["b"][1], scene["b"][0], 1.0)]
    return render(scene["size"], BACKGROUNDS[scene["background"]], items, axis)


def coco_captions(scene, count):
    a = f"{scene['a'][0]} {scene['a'][1]}"
    b = f"{scene['b'][0]} {scene['b'][1]}"
    phrase, inverse, where_a, where_b, _ = RELATIONS[scene["relation"]]
    captions = [
        f"{article(a).capitalize()} {phrase} {article(b)}.",
        f"{article(b)} {inverse} {article(a)}",
        f"Two shapes: {article(a)} and {article(b)}. ",
        f"A picture with {shape_pair(scene)}",
        f"{a.capitalize()} next to {b}",
        f"There is {article(a)} {where_a} and {article(b)} {where_b}.",
    ]
    return captions[:count]


def flickr_captions(scene):
    a = f"{scene['a'][0]} {scene['a'][1]}"
    b = f"{scene['b'][0]} {scene['b'][1]}"
    phrase, inverse, _, _, _ = RELATIONS[scene["relation"]]
    return [
        f"{article(a).capitalize()} is {phrase} {article(b)} on {article(scene['background'])} "
        "background.",
        f"{article(a).capitalize()} and {article(b)}.",
        f"Two simple shapes , one {scene['a'][0]} and one {scene['b'][0]} .",
        f"{shape_pair(scene).capitalize()} drawn on a plain {scene['background']} background.",
        f"The {b} is {inverse} the {a}.",
    ]


def save_jpeg(image, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=85)


def write_json(path, value):
    path.write_text(json.dumps(value) + "\n" if path.suffix == ".jsonl" else json.dumps(value))


def make_coco(rng, out):
    # File order mixes the splits as the real file does: 16 test (two with 6 captions),
    # 2 val, 1 train, 1 restval. Train images come from train2014; test, val and restval are
    # all carved out of val2014.
    splits = (["test"] * 5 + ["val"] + ["test"] * 5 + ["train"] + ["test"] * 3 + ["restval"] +
              ["test"] * 3 + ["val"])
    six_captions = {2, 9}  # positions in the file
    scenes = make_scenes(rng, len(splits))
    cocoids = rng.sample(range(1000, 581000), len(splits))
    sentids = iter(rng.sample(range(1, 830000), 6 * len(splits)))
    images = []
    for imgid, (split, scene, cocoid) in enumerate(zip(splits, scenes, cocoids)):
        folder = "train2014" if split == "train" else "val2014"
        filename = f"COCO_{folder}_{cocoid:012d}.jpg"
        raws = coco_captions(scene, 6 if imgid in six_captions else 5)
        ids = [next(sentids) for _ in raws]
        images.append({
            "filepath": folder,
            "sentids": ids,
            "filename": filename,
            "imgid": imgid,
            "split": split,
            "sentences": [{"tokens": tokens(raw), "raw": raw, "imgid": imgid, "sentid": sid}
                          for raw, sid in zip(raws, ids)],
            "cocoid": cocoid,
        })
        save_jpeg(render_scene(scene), out / folder / filename)
    write_json(out / "dataset_coco.json", {"images": images, "dataset": "coco"})


def make_flickr(rng, out):
    splits = ["train"] + ["test"] * 4 + ["val"] + ["test"] * 3 + ["train"] + ["test"] * 3 + ["val"]
    scenes = make_scenes(rng, len(splits))
    names = rng.sample(range(10**8, 5 * 10**9), len(splits))
    images = []
    for imgid, (split, scene, name) in enumerate(zip(splits, scenes, names)):
        raws = flickr_captions(scene)
        ids = list(range(5 * imgid, 5 * imgid + 5))
        images.append({
            "sentids": ids,
            "imgid": imgid,
            "sentences": [{"tokens": tokens(raw), "raw": raw, "imgid": imgid, "sentid": sid}
                          for raw, sid in zip(raws, ids)],
            "split": split,
            "filename": f"{name}.jpg",
        })
        save_jpeg(render_scene(scene), out / f"{name}.jpg")
    write_json(out / "dataset_flickr30k.json", {"images": images, "dataset": "flickr30k"})


# Winoground pairs: the two captions hold the same words in a different order; image j shows
# caption j. Items are (shape, colour, scale) in cell order along the axis.
WINOGROUND = [
    ("a red circle above a blue square", "a blue square above a red circle", "v",
     [("circle", "red", 1), ("square", "blue", 1)], [("square", "blue", 1), ("circle", "red", 1)],
     "Noun", "", 1, "Object"),
    ("a red circle and a blue square", "a blue circle and a red square", "h",
     [("circle", "red", 1), ("square", "blue", 1)], [("circle", "blue", 1), ("square", "red", 1)],
     "Adjective-Color", "", 1, "Relation"),
    ("a big red circle above a small blue square", "a small red square above a big blue circle",
     "v", [("circle", "red", 1.2), ("square", "blue", 0.5)],
     [("square", "red", 0.5), ("circle", "blue", 1.2)], "Noun, Adjective-Size", "", 1, "Both"),
    ("a green triangle left of a yellow circle", "a yellow circle left of a green triangle", "h",
     [("triangle", "green", 1), ("circle", "yellow", 1)],
     [("circle", "yellow", 1), ("triangle", "green", 1)], "Noun", "Symbolic", 1, "Object"),
    ("a circle above a square and below a triangle",
     "a circle below a square and above a triangle", "v",
     [("triangle", "green", 1), ("circle", "red", 1), ("square", "blue", 1)],
     [("square", "blue", 1), ("circle", "red", 1), ("triangle", "green", 1)],
     "Preposition", "", 1, "Relation"),
    ("the circle is green and the diamond is purple",
     "the circle is purple and the diamond is green", "h",
     [("circle", "green", 1), ("diamond", "purple", 1)],
     [("circle", "purple", 1), ("diamond", "green", 1)], "Adjective-Color", "", 2, "Relation"),
    ("an orange square right of a purple circle", "a purple circle right of an orange square",
     "h", [("circle", "purple", 1), ("square", "orange", 1)],
     [("square", "orange", 1), ("circle", "purple", 1)], "Noun", "Pragmatics", 1, "Object"),
    ("a big green triangle left of a small yellow diamond",
     "a small green diamond left of a big yellow triangle", "h",
     [("triangle", "green", 1.2), ("diamond", "yellow", 0.5)],
     [("diamond", "green", 0.5), ("triangle", "yellow", 1.2)], "Adjective-Size, Noun",
     "Symbolic", 1, "Both"),
]


def make_winoground(rng, out):
    (out / "images").mkdir(parents=True)
    lines = []
    for i, (c0, c1, axis, items0, items1, tag, secondary, preds, collapsed) in enumerate(
            WINOGROUND):
        size = canvas_size(rng, axis, max(len(items0), 2))
        background = BACKGROUNDS[rng.choice(sorted(BACKGROUNDS))]
        for j, items in enumerate((items0, items1)):
            render(size, background, items, axis).save(out / "images" / f"ex_{i}_img_{j}.png",
                                                       optimize=True)
        lines.append(json.dumps({
            "id": i, "caption_0": c0, "caption_1": c1, "image_0": f"ex_{i}_img_0",
            "image_1": f"ex_{i}_img_1", "tag": tag, "secondary_tag": secondary,
            "num_main_preds": preds, "collapsed_tag": collapsed}))
    (out / "examples.jsonl").write_text("\n".join(lines) + "\n")


def make_jsonl(rng, out):
    scenes = make_scenes(rng, 6)
    lines = []
    for i, scene in enumerate(scenes):
        a = f"{scene['a'][0]} {scene['a'][1]}"
        b = f"{scene['b'][0]} {scene['b'][1]}"
        phrase = RELATIONS[scene["relation"]][0]
        captions = [f"{article(a)} {phrase} {article(b)}",
                    f"{article(a)} and {article(b)} on a {scene['background']} background",
                    shape_pair(scene)][:1 + i % 3]
        name = f"images/{scene['a'][0]}_{scene['a'][1]}_{scene['b'][0]}_{scene['b'][1]}.jpg"
        save_jpeg(render_scene(scene), out / name)
        lines.append(json.dumps({"image": name, "captions": captions}))
    (out / "captions.jsonl").write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    args = parser.parse_args()
    rng = random.Random(SEED)
    for name, make in [("coco-karpathy-mini", make_coco), ("flickr30k-karpathy-mini", make_flickr),
                       ("winoground-mini", make_winoground), ("jsonl-mini", make_jsonl)]:
        folder = args.out / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        make(rng, folder)
        total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(f"{folder}: {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
