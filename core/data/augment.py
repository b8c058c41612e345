"""Joint augmentation of a face crop with its mask and points, by torchvision.transforms.v2.

The geometry (flip, then one affine map for rotation, zoom and a shifted crop window) is
torchvision's, applied to ``tv_tensors`` so that an
image, its class mask and its points move together; only the meaning of a flip is ours: a
horizontal flip makes a left eye a right eye, so the label schema's mirror pairs are swapped
afterwards (point order, mask class indices). Augmentation runs on the training split only, on
the ``S x S`` crop every task feeds the network, after the format has cropped the face.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from pydantic import BaseModel, ConfigDict, Field
from torchvision import tv_tensors
from torchvision.transforms import v2

from ifan.errors import IfanError

IGNORE = 255
"""Mask value of pixels that are not scored; areas a rotation or zoom brings in get it."""


class AugmentOptions(BaseModel):
    """``[tasks.<name>.augment]``: random changes to each training crop."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="augment the training split at all")
    flip: float = Field(
        0.5, ge=0, le=1, description="probability of a horizontal flip (left/right labels swap)"
    )
    rotate: float = Field(10.0, ge=0, le=180, description="largest rotation, degrees either way")
    scale: float = Field(
        0.1, ge=0, lt=1, description="largest zoom in or out (0.1: from 0.9x to 1.1x)"
    )
    crop: float = Field(
        0.05,
        ge=0,
        le=0.5,
        description="largest shift of the crop window, as a share of its side, each way",
    )
    colour: float = Field(
        0.2,
        ge=0,
        le=1,
        description="brightness, contrast and saturation jitter (hue: a tenth of it)",
    )


_SIDES = {"left": "right", "right": "left", "l": "r", "r": "l"}


def infer_mirror(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Pairs of names that differ only by a ``left``/``right`` (or ``l``/``r``) word, such as
    ``left_eye``/``right_eye`` or ``mouth_left``/``mouth_right``."""
    known = set(names)
    pairs = []
    for name in names:
        parts = re.split(r"([_\-\s])", name)
        mirrored = "".join(_SIDES.get(part, part) for part in parts)
        if mirrored != name and mirrored in known and (mirrored, name) not in pairs:
            pairs.append((name, mirrored))
    return tuple(pairs)


def mirror_permutation(names: Sequence[str], pairs: Sequence[Sequence[str]]) -> torch.Tensor:
    """Index ``i`` -> the index of what label ``i`` becomes under a horizontal flip."""
    index = {name: i for i, name in enumerate(names)}
    permutation = torch.arange(len(names))
    for first, second in pairs:
        permutation[index[first]], permutation[index[second]] = index[second], index[first]
    return permutation


@dataclass
class Augmented:
    """One augmented crop: image ``3 x S x S``, mask ``S x S`` and points ``K x 2`` in [0, 1]."""

    image: torch.Tensor
    mask: torch.Tensor | None = None
    points: torch.Tensor | None = None


class JointAugment:
    """Random flip, rotation, zoom, crop and colour jitter applied alike to image, mask and points.

    ``swap`` is the mirror permutation of the task's labels (classes or points); None means the
    labels' left and right are unknown, and then a flip is refused rather than done wrong.
    Randomness comes from torch's generator, which data-loader workers seed per worker.
    """

    def __init__(self, options: AugmentOptions, size: int, swap: torch.Tensor | None):
        if options.flip > 0 and swap is None:
            raise IfanError(
                "augment.flip needs to know which labels swap under a horizontal flip, and these "
                "labels do not say: give the data table's mirror pairs, or set augment.flip = 0"
            )
        self.options = options
        self.size = size
        self.swap = swap
        self.geometry = v2.RandomAffine(
            degrees=options.rotate,
            translate=(options.crop, options.crop),
            scale=(1 - options.scale, 1 + options.scale),
            interpolation=v2.InterpolationMode.BILINEAR,
            fill={tv_tensors.Image: 0.0, tv_tensors.Mask: IGNORE},
        )
        c = options.colour
        self.colour = v2.ColorJitter(brightness=c, contrast=c, saturation=c, hue=min(c / 10, 0.5))

    def __call__(
        self,
        image: torch.Tensor,
        mask: torch.Tensor | None = None,
        points: torch.Tensor | None = None,
    ) -> Augmented:
        """Augment one crop; ``points`` are ``K x 2`` (x, y) in [0, 1] of the crop."""
        size = image.shape[-1]
        items: list = [tv_tensors.Image(image)]
        if mask is not None:
            items.append(tv_tensors.Mask(mask))
        if points is not None:
            # Pixel-index coordinates (centre of pixel i at i), torchvision's convention.
            items.append(tv_tensors.KeyPoints(points * size - 0.5, canvas_size=(size, size)))
        if self.options.flip > 0 and float(torch.rand(())) < self.options.flip:
            items = [v2.functional.horizontal_flip(item) for item in items]
            items = self._swap_sides(items)
        items = list(self.geometry(tuple(items)))
        items[0] = self.colour(items[0]).clamp(0, 1)
        out = Augmented(items[0].as_subclass(torch.Tensor))
        rest = iter(items[1:])
        if mask is not None:
            out.mask = next(rest).as_subclass(torch.Tensor)
        if points is not None:
            out.points = (next(rest).as_subclass(torch.Tensor).reshape(-1, 2) + 0.5) / size
        return out

    def _swap_sides(self, items: list) -> list:
        assert self.swap is not None
        swapped = [items[0]]
        for item in items[1:]:
            if isinstance(item, tv_tensors.Mask):
                lookup = torch.arange(IGNORE + 1)
                lookup[: len(self.swap)] = self.swap
                swapped.append(tv_tensors.wrap(lookup[item.long()].to(item.dtype), like=item))
            else:
                swapped.append(tv_tensors.wrap(item[self.swap], like=item))
        return swapped
