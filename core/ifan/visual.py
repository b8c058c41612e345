"""Drawing helpers shared by the tasks' overlays: class colours, blending, points, text and bars."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Colour = tuple[int, int, int]

BASE_PALETTE: tuple[Colour, ...] = (
    (0, 0, 0),
    (255, 224, 189),
    (128, 64, 0),
    (192, 96, 0),
    (0, 128, 255),
    (0, 64, 255),
    (0, 200, 200),
    (255, 64, 128),
    (128, 0, 64),
    (255, 0, 64),
    (96, 0, 160),
)
"""Colours of the first classes (Helen's order: background, skin, brows, eyes, nose, lips, hair)."""


def palette(count: int) -> list[Colour]:
    """``count`` distinct colours: the base palette, then evenly spread hues."""
    colours = list(BASE_PALETTE[:count])
    for index in range(count - len(colours)):
        hue = (index * 0.618034) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def blend_classes(
    image: Image.Image,
    classes: np.ndarray,
    colours: Sequence[Colour],
    alpha: float = 0.5,
    skip: Sequence[int] = (),
) -> Image.Image:
    """``image`` with each pixel's class colour blended in (classes ``H x W`` of the image's size);
    classes in ``skip`` (e.g. background) and out-of-range indices (e.g. 255, ignore) stay as is."""
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    table = np.asarray(colours, dtype=np.float32)
    valid = classes < len(colours)
    for index in skip:
        valid &= classes != index
    tinted = base.copy()
    tinted[valid] = (1 - alpha) * base[valid] + alpha * table[classes[valid]]
    return Image.fromarray(tinted.round().astype(np.uint8))


def draw_points(
    image: Image.Image, points: np.ndarray, colour: Colour, radius: float | None = None
) -> None:
    """Draw ``N x 2`` pixel points (x, y) on ``image`` in place as filled dots."""
    radius = radius if radius is not None else max(1.5, max(image.size) / 100)
    draw = ImageDraw.Draw(image)
    for x, y in points.tolist():
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def enlarge(image: Image.Image, min_side: int) -> Image.Image:
    """``image`` scaled up (nearest) so its shorter side is at least ``min_side`` pixels."""
    factor = -(-min_side // min(image.size))
    if factor <= 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def side_panel(
    image: Image.Image,
    title: str,
    bars: Sequence[tuple[str, float]],
    footer: str = "",
    width: int = 200,
    colour: Colour = (64, 160, 255),
) -> Image.Image:
    """``image`` with a panel on its right: a title, one bar per ``(name, value in [0, 1])`` and
    an optional footer line (e.g. the ground truth)."""
    line = 14
    height = max(image.height, line * (len(bars) + 3))
    out = Image.new("RGB", (image.width + width, height), (255, 255, 255))
    out.paste(image.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(out)
    left = image.width + 6
    draw.text((left, 2), title, fill=(0, 0, 0))
    for row, (name, value) in enumerate(bars, start=1):
        top = 2 + row * line
        extent = round((width - 12) * min(max(value, 0.0), 1.0))
        draw.rectangle((left, top, left + extent, top + line - 3), fill=colour)
        draw.text((left + 2, top), f"{name} {value:.2f}", fill=(0, 0, 0))
    if footer:
        draw.text((left, 2 + (len(bars) + 1) * line), footer, fill=(0, 0, 0))
    return out


def side_by_side(images: Sequence[Image.Image]) -> Image.Image:
    """Images placed left to right on a white canvas (e.g. prediction beside ground truth)."""
    out = Image.new(
        "RGB", (sum(i.width for i in images), max(i.height for i in images)), (255, 255, 255)
    )
    left = 0
    for image in images:
        out.paste(image.convert("RGB"), (left, 0))
        left += image.width
    return out
