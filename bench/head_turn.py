"""What ``augment.yaw`` does to a face: one photo's face, cropped by the pretrained model's crop
rule, turned from -30 to +30 degrees by :mod:`ifan.data.head_turn`, with the model's five points
moved by the same map. The picture in ``docs/training.md``.

    .venv/bin/python -m bench.head_turn --out docs/img/head-turn.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from bench.lib import options
from bench.lib.paths import ROOT
from ifan.data.augment import AugmentOptions
from ifan.data.batch_augment import DRAWS, BatchAugment, SeededAugment
from ifan.inference import load

FACES3 = ROOT / "plugins/ifan-model-faces3/src/ifan_model_faces3/faces3.safetensors"
YAWS = (-30.0, -15.0, 0.0, 15.0, 30.0)
SIDE = 192
ROOM = 1.25


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = options.parser(__doc__)
    parser.add_argument("--photo", type=Path, default=ROOT / "examples/photos/einstein.jpg")
    parser.add_argument("--model", default=str(FACES3), help="a model name, run or weights file")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/head-turn.png")
    return parser.parse_args(argv)


def turned(photo: Path, model: str) -> list[Image.Image]:
    """The photo's largest face turned by each of :data:`YAWS`, its five points drawn."""
    face = max(load(model, device="cpu").predict(photo).faces, key=lambda f: f.crop.side)
    crop = face.crop  # the model's crop rule (square, not turned: faces3 does not align)
    half = crop.side * ROOM / 2
    cx, cy = crop.x0 + crop.side / 2, crop.y0 + crop.side / 2
    window = (cx - half, cy - half, cx + half, cy + half)
    side = round(SIDE * ROOM)
    image = Image.open(photo).convert("RGB").crop(tuple(round(v) for v in window))
    pixels = torch.from_numpy(np.array(image.resize((side, side)))).permute(2, 0, 1)
    points = np.array(list(face.to_json()["tasks"]["landmarks"]["points"].values()), dtype=float)
    points = torch.tensor((points - window[:2]) / (2 * half), dtype=torch.float32)
    augment = BatchAugment(
        AugmentOptions(flip=0.0, rotate=0.0, scale=0.0, crop=0.0, colour=0.0, yaw=30.0),
        SIDE,
        None,
        room=ROOM,
    )
    draws = torch.full((len(YAWS), DRAWS), 0.5, dtype=torch.float64)
    draws[:, DRAWS - 1] = (torch.tensor(YAWS, dtype=torch.float64) / 30.0 + 1) / 2
    out = SeededAugment(augment, draws)(
        pixels.expand(len(YAWS), -1, -1, -1), points=points.expand(len(YAWS), -1, -1)
    )
    tiles = []
    for image_tensor, moved in zip(out.image, out.points, strict=True):
        tile = Image.fromarray((image_tensor.permute(1, 2, 0).numpy() * 255).astype(np.uint8))
        draw = ImageDraw.Draw(tile)
        for x, y in moved.numpy() * SIDE:
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), outline=(255, 60, 60), width=2)
        tiles.append(tile)
    return tiles


def main(argv: list[str] | None = None) -> int:
    """Draw the turned faces side by side into ``--out``."""
    args = parse_args(argv)
    tiles = turned(args.photo, args.model)
    strip = Image.new("RGB", (SIDE * len(tiles), SIDE), "white")
    for k, tile in enumerate(tiles):
        strip.paste(tile, (SIDE * k, 0))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    strip.save(args.out)
    print(f"wrote {args.out}: yaw {', '.join(f'{y:+.0f}' for y in YAWS)} degrees")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
