"""One mask prediction as JSON (a run-length mask, on the crop or on the photo's pixels) and as
class colours blended on its photo."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from ifan.contract import LabelSchema
from ifan.data.images import Box, box_window, letterbox, uncrop, uncrop_window
from ifan.visual import blend_classes, palette, side_by_side


def class_map(
    logits: torch.Tensor, size: tuple[int, int] | None = None, box: Box | None = None
) -> torch.Tensor:
    """Class indices ``H x W`` from logits ``C x S x S``: at ``S``, or resized bilinearly onto an
    image of ``size = (width, height)`` where the crop is ``box`` (default: the image
    letterboxed); outside the box, class 0."""
    logits = logits.detach().float().cpu()
    if logits.dim() == 4 and logits.shape[0] == 1:
        logits = logits[0]
    if size is None:
        return logits.argmax(dim=0)
    box = box or letterbox(*size)
    x0, y0, x1, y1 = window = box_window(box, *size)
    classes = torch.zeros((size[1], size[0]), dtype=torch.long)
    if x1 > x0 and y1 > y0:  # the argmax where the box lies: elsewhere every score is 0
        classes[y0:y1, x0:x1] = uncrop_window(logits, box, window).argmax(dim=0)
    return classes


def run_lengths(classes: torch.Tensor) -> list[int]:
    """Row-major run-length code ``[class, count, class, count, ...]`` of a class map."""
    values, counts = torch.unique_consecutive(classes.reshape(-1), return_counts=True)
    return torch.stack([values, counts], dim=1).reshape(-1).tolist()


def mask_json(
    logits: torch.Tensor,
    labels: LabelSchema,
    size: tuple[int, int] | None = None,
    box: Box | None = None,
) -> dict[str, Any]:
    """``{"width", "height", "classes", "fractions": {class: share of pixels}, "mask": {"encoding":
    "rle", "order": "row-major", "runs": [class, count, ...]}}``; the runs sum to width x height.
    On the crop, or with ``size`` on the image of that size where the crop is ``box`` (see
    :func:`class_map`)."""
    classes = class_map(logits, size, box)
    height, width = classes.shape
    counts = torch.bincount(classes.reshape(-1), minlength=len(labels.names)).tolist()
    return {
        "width": width,
        "height": height,
        "classes": list(labels.names),
        "fractions": {
            name: n / (width * height) for name, n in zip(labels.names, counts, strict=True)
        },
        "mask": {"encoding": "rle", "order": "row-major", "runs": run_lengths(classes)},
    }


def truth_map(target: dict[str, Any], size: tuple[int, int]) -> torch.Tensor:
    """The ground-truth classes on an image of ``size``: ``original`` when it has that size, else
    the ``S x S`` ``mask`` resized (nearest) onto the letterboxed image."""
    original = target.get("original")
    if original is not None and tuple(original.shape) == (size[1], size[0]):
        return original
    mask = torch.as_tensor(target["mask"])
    return uncrop(mask[None], letterbox(*size), *size, mode="nearest")[0]


def mask_overlay(
    image: Image.Image, logits: torch.Tensor, labels: LabelSchema, target: Any = None
) -> Image.Image:
    """Predicted class colours blended on ``image`` (a class named ``background`` left as it
    is); with a target, the ground truth beside it."""
    colours = palette(len(labels.names))
    skip = [i for i, name in enumerate(labels.names) if name == "background"]
    predicted = blend_classes(image, class_map(logits, image.size).numpy(), colours, skip=skip)
    if target is None:
        return predicted
    truth = blend_classes(image, truth_map(target, image.size).numpy(), colours, skip=skip)
    return side_by_side([predicted, truth])
