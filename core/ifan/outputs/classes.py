"""One class prediction as JSON and as a label panel beside the face."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from ifan.contract import LabelSchema
from ifan.visual import enlarge, side_panel

TOP = 3
"""How many of the most probable classes the overlay lists."""


def probabilities(logits: Any) -> torch.Tensor:
    """Softmax of one image's logits ``C`` (or ``1 x C``)."""
    return torch.as_tensor(logits).detach().float().cpu().reshape(-1).softmax(dim=0)


def class_json(logits: Any, labels: LabelSchema) -> dict[str, Any]:
    """``{"label": name, "score": probability, "probabilities": {name: probability}}`` of one
    image's logits."""
    probs = probabilities(logits)
    best = int(probs.argmax())
    return {
        "label": labels.names[best],
        "score": float(probs[best]),
        "probabilities": dict(zip(labels.names, probs.tolist(), strict=True)),
    }


def class_overlay(
    image: Image.Image, logits: Any, labels: LabelSchema, target: Any = None
) -> Image.Image:
    """The face (enlarged when small) with the label and the top probabilities as bars beside it;
    with a target (``{"label": index}``, or the index), the true label below them."""
    probs = probabilities(logits)
    order = probs.argsort(descending=True)[:TOP].tolist()
    bars = [(labels.names[i], float(probs[i])) for i in order]
    footer = ""
    if target is not None:
        label = target["label"] if isinstance(target, dict) else target
        footer = f"truth: {labels.names[int(label)]}"
    title = f"{labels.names[order[0]]} ({float(probs[order[0]]):.0%})"
    return side_panel(enlarge(image.convert("RGB"), 192), title, bars, footer)
