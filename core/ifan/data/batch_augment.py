"""Augmentation of whole batches of face crops, on whatever device holds them, seeded per sample.

Each sample gets one similarity (flip, rotation, zoom, shift), and with ``yaw`` a turn of the head
after it (:mod:`ifan.data.head_turn`), done by a single ``grid_sample`` for the batch, and a colour
jitter done with per-sample factors and a 3 x 3 colour matrix; points follow analytically by the
same maps. The random numbers of a sample come from its own seed on a CPU generator, always the
same count in the same order, so a sample is augmented alike whatever batch, position or device
it is in, and torch's global generator is never touched. The input is the network's crop enlarged
by ``room`` about its centre (so that rotations and zooms out bring in real pixels); the output is
the network's ``S x S`` crop. A flip swaps the labels' left and right by the mirror permutation
(:func:`~ifan.data.augment.mirror_permutation`): point order, mask classes, and class labels (a
head pose's left and right).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ifan.data import head_turn
from ifan.data.augment import IGNORE, AugmentOptions
from ifan.errors import IfanError

DRAWS = 10
"""Random numbers drawn per sample, in this order: flip, rotation, zoom, shift x, shift y,
brightness, contrast, saturation, hue, yaw (drawn even when their option is 0; yaw came last, so
the others are what they were before it)."""

_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
    dtype=torch.float64,
)
"""RGB -> YIQ. The I and Q rows sum to 0, so scaling them blends with the greyscale ``Y``."""
_GREY = _YIQ[0].float()

# Columns of the packed per-sample parameters.
_THETA = slice(0, 6)  # output -> input, normalised [-1, 1] coordinates (for affine_grid)
_FORWARD = slice(6, 12)  # input -> output, [0, 1] coordinates: 2 x 2 matrix then offset
_SCALE, _FLIP, _BRIGHT, _CONTRAST = 12, 13, 14, 15
_COLOUR = slice(16, 25)  # 3 x 3 saturation and hue matrix
_YAW = 25  # radians


@dataclass
class AugmentedBatch:
    """Augmented crops: image ``B x 3 x S x S`` in [0, 1], mask ``B x S x S`` (int64, IGNORE where
    the input did not reach), points ``B x K x 2`` in [0, 1] of the output crop, ``scale``
    (``B``): how much lengths grew from the input's [0, 1] units to the output's (the zoom times
    ``room``), to rescale distances held in the input's units by, and class indices ``B`` with
    the flipped samples' swapped (contract 1.3).
    :meth:`SeededAugment.sample` gives the same without the batch dimension."""

    image: torch.Tensor
    mask: torch.Tensor | None
    points: torch.Tensor | None
    scale: torch.Tensor
    classes: torch.Tensor | None = None


class BatchAugment:
    """Random flip, rotation, zoom, shift, head turn and colour jitter of batches, seeded per
    sample.

    ``size`` is the side ``S`` of the output; ``swap`` the mirror permutation of the task's labels
    (classes or points), None when their left and right are unknown, and then a flip is refused
    rather than done wrong; ``room`` how much larger than the network's crop the input crop is.
    """

    def __init__(
        self, options: AugmentOptions, size: int, swap: torch.Tensor | None, room: float = 1.0
    ):
        if options.flip > 0 and swap is None:
            raise IfanError(
                "augment.flip needs to know which labels swap under a horizontal flip, and these "
                "labels do not say: give the data table's mirror pairs, or set augment.flip = 0"
            )
        if room <= 0:
            raise ValueError(f"room must be positive, not {room}")
        self.options = options
        self.size = size
        self.swap = None if swap is None else torch.as_tensor(swap, dtype=torch.int64)
        self.room = float(room)

    def seeded(self, seeds: torch.Tensor) -> SeededAugment:
        """The augmentation of a batch whose samples have these seeds (one each)."""
        values = torch.as_tensor(seeds).reshape(-1).tolist()
        if not self.options.enabled:
            return SeededAugment(self, torch.full((len(values), DRAWS), 0.5, dtype=torch.float64))
        draws = torch.empty(len(values), DRAWS, dtype=torch.float64)
        for row, seed in enumerate(values):
            generator = torch.Generator().manual_seed(int(seed))
            draws[row] = torch.rand(DRAWS, generator=generator, dtype=torch.float64)
        return SeededAugment(self, draws)

    def parameters(self, draws: torch.Tensor) -> torch.Tensor:
        """Packed per-sample maps and colour factors (``B x 26`` float32, CPU) from the draws,
        worked out in float64 on the CPU so that they are the same on every device."""
        o = self.options
        if not o.enabled:
            o = AugmentOptions(flip=0.0, rotate=0.0, scale=0.0, crop=0.0, colour=0.0, yaw=0.0)
        u = 2 * draws - 1  # uniform in [-1, 1)
        flip = torch.where(draws[:, 0] < o.flip, -1.0, 1.0).double()
        angle = u[:, 1] * math.radians(o.rotate)
        zoom = 1 + u[:, 2] * o.scale
        shift = 2 * u[:, 3:5] * o.crop  # normalised units: the side is 2
        cos, sin = torch.cos(angle), torch.sin(angle)
        # Forward, input -> output in [-1, 1]: out = zoom * rotate(flip(room * in)) + shift.
        k = zoom * self.room
        turn = torch.stack([cos * flip, -sin, sin * flip, cos], -1).reshape(-1, 2, 2)
        forward = k[:, None, None] * turn
        inverse = turn.transpose(1, 2) / k[:, None, None]  # a flipped rotation is orthogonal
        theta = torch.cat([inverse, -(inverse @ shift[:, :, None])], -1)
        # The same forward map in [0, 1] coordinates: p -> forward @ p + offset.
        offset = 0.5 + shift / 2 - forward.sum(-1) / 2
        c = o.colour
        hue = u[:, 8] * (c / 10) * 2 * math.pi
        saturation = 1 + u[:, 7] * c
        chroma = torch.zeros(len(draws), 3, 3, dtype=torch.float64)
        chroma[:, 0, 0] = 1
        chroma[:, 1, 1] = chroma[:, 2, 2] = saturation * torch.cos(hue)
        chroma[:, 2, 1] = saturation * torch.sin(hue)
        chroma[:, 1, 2] = -chroma[:, 2, 1]
        colour = torch.linalg.inv(_YIQ) @ chroma @ _YIQ
        packed = torch.cat(
            [
                theta.flatten(1),
                forward.flatten(1),
                offset,
                zoom[:, None],
                (flip < 0).double()[:, None],
                1 + u[:, 5:7] * c,
                colour.flatten(1),
                u[:, 9:10] * math.radians(o.yaw),
            ],
            1,
        )
        return packed.float()


class SeededAugment:
    """The augmentation of one batch, each sample's random parameters drawn from its own seed."""

    def __init__(self, augment: BatchAugment, draws: torch.Tensor):
        self.augment = augment
        self.draws = draws
        self.parameters = augment.parameters(draws)

    def __len__(self) -> int:
        return len(self.draws)

    def __call__(
        self,
        images: torch.Tensor,
        masks: torch.Tensor | None = None,
        points: torch.Tensor | None = None,
        classes: torch.Tensor | None = None,
    ) -> AugmentedBatch:
        """Augment a batch: ``images`` ``B x 3 x P x P`` (uint8, or float in [0, 1]), ``masks``
        ``B x P x P`` class indices, ``points`` ``B x K x 2`` (x, y) in [0, 1] of the input,
        ``classes`` ``B`` class indices (contract 1.3: swapped where a flip swaps them)."""
        if len(images) != len(self):
            raise ValueError(f"{len(images)} images for {len(self)} seeds")
        device = images.device
        p = self.parameters.to(device)
        flipped = p[:, _FLIP] > 0.5
        size = self.augment.size
        turns = self.augment.options.enabled and self.augment.options.yaw > 0
        grid = _grid(p[:, _THETA].reshape(-1, 2, 3), p[:, _YAW] if turns else None, size)
        if not images.is_floating_point():
            images = images.float() / 255
        image = F.grid_sample(
            images, grid.to(images.dtype), "bilinear", "zeros", align_corners=False
        )
        if self.augment.options.enabled and self.augment.options.colour > 0:
            image = _colour(image, p)
        out = AugmentedBatch(image, None, None, p[:, _SCALE] * self.augment.room)
        swap = self.augment.swap
        if masks is not None:
            # Shifted by one so that zero padding (outside the input) becomes IGNORE.
            shifted = masks[:, None].float() + 1
            sampled = F.grid_sample(shifted, grid, "nearest", "zeros", align_corners=False)
            mask = sampled[:, 0].long() - 1
            mask[mask < 0] = IGNORE
            if swap is not None:
                swap = swap.to(device)
                known = flipped[:, None, None] & (mask < len(swap))
                mask = torch.where(known, swap[mask.clamp(max=len(swap) - 1)], mask)
            out.mask = mask
        if points is not None:
            forward = p[:, _FORWARD]
            matrix, offset = forward[:, :4].reshape(-1, 2, 2), forward[:, 4:]
            dtype = points.dtype if points.is_floating_point() else torch.float32
            moved = points.to(torch.float32) @ matrix.transpose(1, 2) + offset[:, None]
            if turns:
                moved = (head_turn.turn(moved * 2 - 1, p[:, _YAW]) + 1) / 2
            if swap is not None:
                moved = torch.where(flipped[:, None, None], moved[:, swap.to(device)], moved)
            out.points = moved.to(dtype)
        if classes is not None:
            out.classes = _swapped(classes, flipped, self.augment.swap)
        return out

    def sample(self, index: int) -> Callable[..., AugmentedBatch]:
        """What sample ``index`` of the batch gets, for one unbatched crop: ``f(image 3 x P x P,
        mask=None, points=None, label=None)`` -> fields ``3 x S x S``, ``S x S``, ``K x 2``, a 0-d
        scale and a 0-d class. For plugins whose ``Task.augment`` works on one sample at a time."""
        one = SeededAugment(self.augment, self.draws[index].unsqueeze(0))

        def apply(
            image: torch.Tensor,
            mask: torch.Tensor | None = None,
            points: torch.Tensor | None = None,
            label: torch.Tensor | None = None,
        ) -> AugmentedBatch:
            out = one(
                image[None],
                None if mask is None else mask[None],
                None if points is None else points[None],
                None if label is None else torch.as_tensor(label).reshape(1),
            )
            return AugmentedBatch(
                out.image[0],
                None if out.mask is None else out.mask[0],
                None if out.points is None else out.points[0],
                out.scale[0],
                None if out.classes is None else out.classes[0],
            )

        return apply


def _grid(theta: torch.Tensor, yaw: torch.Tensor | None, size: int) -> torch.Tensor:
    """Where each pixel of the ``size x size`` output is read from the input: through the head's
    turn undone (when ``yaw`` is given), then the similarity ``theta`` (``B x 2 x 3``)."""
    if yaw is None:
        return F.affine_grid(theta, [len(theta), 1, size, size], align_corners=False)
    still = torch.eye(2, 3, device=theta.device).expand(len(theta), 2, 3)
    output = F.affine_grid(still, [len(theta), 1, size, size], align_corners=False)
    before = head_turn.unturn(output, yaw)
    return before @ theta[:, None, :, :2].transpose(-1, -2) + theta[:, None, None, :, 2]


def _swapped(
    classes: torch.Tensor, flipped: torch.Tensor, swap: torch.Tensor | None
) -> torch.Tensor:
    """Class indices ``B`` with those of the flipped samples swapped by ``swap`` (indices it does
    not cover, such as an ignore value, kept)."""
    classes = torch.as_tensor(classes)
    if swap is None:
        return classes
    swap = swap.to(classes.device)
    known = flipped.to(classes.device) & (classes >= 0) & (classes < len(swap))
    return torch.where(known, swap[classes.clamp(0, len(swap) - 1)], classes)


def _colour(image: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast (against each image's mean grey), then saturation and hue by one
    colour matrix; clamped to [0, 1] after each, as torchvision's jitter does."""
    dtype = image.dtype
    p = p.to(dtype)
    image = (image * p[:, _BRIGHT, None, None, None]).clamp(0, 1)
    grey = torch.einsum("c,bchw->b", _GREY.to(image.device, dtype), image)
    mean = grey / (image.shape[-1] * image.shape[-2])
    contrast = p[:, _CONTRAST, None, None, None]
    image = (image * contrast + (mean[:, None, None, None] * (1 - contrast))).clamp(0, 1)
    matrix = p[:, _COLOUR].reshape(-1, 3, 3)
    b, c, h, w = image.shape
    return torch.bmm(matrix, image.reshape(b, c, h * w)).reshape(b, c, h, w).clamp(0, 1)


def augment_per_sample(
    task: Any, images: torch.Tensor, target: Any, augment: SeededAugment
) -> tuple[torch.Tensor, Any]:
    """A batch augmented one sample at a time by ``task.augment`` (contract 1.0's per-sample
    form), each sample with what it would get in the batch; ``target`` a dict of tensors (or
    lists) indexed by sample."""
    images_out, targets = [], []
    for index in range(len(images)):
        one = {key: value[index] for key, value in target.items()}
        image, changed = task.augment(images[index], one, augment.sample(index))
        images_out.append(image)
        targets.append(changed)
    merged = {
        key: torch.stack([t[key] for t in targets])
        if isinstance(targets[0][key], torch.Tensor)
        else [t[key] for t in targets]
        for key in targets[0]
    }
    return torch.stack(images_out), merged
