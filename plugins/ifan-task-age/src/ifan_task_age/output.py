"""One age prediction as JSON and as a label drawn on the face."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

from ifan_task_age.bins import expected_age

TOP = 3
"""How many of the most probable bins the JSON lists."""
PREDICTED = (255, 255, 255)
TRUE = (255, 200, 64)
TEXT_FRACTION = 16
"""The text is 1/16 of the image's shorter side high (at least 10 pixels), readable on a 64-pixel
crop and on a large photo alike."""


def age_json(logits: Any, centres: torch.Tensor) -> dict[str, Any]:
    """``{"age": years, "top_bins": [{"age": bin centre, "probability": p}, ...]}`` for one
    image's logits ``K``: the expected age, and the ``TOP`` most probable bins."""
    logits = torch.as_tensor(logits).detach().float().cpu().reshape(-1)
    probabilities = logits.softmax(dim=0)
    order = probabilities.argsort(descending=True)[:TOP].tolist()
    return {
        "age": round(float(expected_age(logits, centres)), 2),
        "top_bins": [
            {"age": round(float(centres[i]), 2), "probability": float(probabilities[i])}
            for i in order
        ],
    }


def age_overlay(
    image: Image.Image, logits: Any, centres: torch.Tensor, target: Any = None
) -> Image.Image:
    """A copy of the face (same size, so it combines with other tasks' drawings) with the
    predicted age in a dark box at its top left, and the true age below it when given."""
    age = float(expected_age(torch.as_tensor(logits).detach().cpu().reshape(-1), centres))
    lines = [(f"age {age:.0f}", PREDICTED)]
    if target is not None:
        true = target["age"] if isinstance(target, dict) else target
        lines.append((f"true {float(true):.0f}", TRUE))
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    size = max(10, min(out.size) // TEXT_FRACTION)
    font = ImageFont.load_default(size)
    pad = max(2, size // 5)
    top: float = pad
    for text, colour in lines:
        box = draw.textbbox((2 * pad, top), text, font=font)
        draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(0, 0, 0))
        draw.text((2 * pad, top), text, fill=colour, font=font)
        top = box[3] + 2 * pad
    return out
