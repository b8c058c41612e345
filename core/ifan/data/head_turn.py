"""A head turned about its vertical axis, as an augmentation warp (``[tasks.<name>.augment] yaw``).

A similarity (rotation, zoom, shift) cannot show a face turned further than the data's faces are.
When a head turns, its nose moves across the face more than its eyes do, the far cheek narrows and
the near one widens. This warp does that with the depth of a generic head placed where the crop
rule puts a face (centred, the detector's box as wide as the crop): an ellipsoid with a nose on it.
Seen from the front after a turn by ``yaw``, a crop coordinate ``x`` in [-1, 1] moves to

    x cos(yaw) + (depth(x, y) - depth of the outline) sin(yaw)

and ``y`` stays. So the face's outline stays where the detector would box it, narrowed by
``cos(yaw)``, and what stands out of it (the nose) moves towards the turn. Points move by this map;
images and masks are sampled through its inverse, found by fixed-point iteration (the map is
monotonic in ``x`` for turns up to :data:`MAX_YAW`). The head is generic, so a turned face is
plausible rather than exact; the labels follow the pixels exactly either way.
"""

from __future__ import annotations

import torch
from torch import Tensor

MAX_YAW = 30
"""Degrees. Beyond it the generic nose would hide the cheek behind it and the inverse would fold."""

HEAD_HALF_WIDTH = 1.3
"""Of the ellipsoid, in crop half-widths: the ears lie beyond the detector's box."""
HEAD_HALF_HEIGHT = 2.0
FACE_DEPTH = 0.9
"""How far the middle of the face stands in front of the head's vertical axis."""
NOSE = (0.0, 0.2)
"""Where the nose tip lies in a crop (x, y in [-1, 1], y down): the detector's box centred on the
face puts it a little below the middle."""
NOSE_HEIGHT = 0.35
NOSE_WIDTH = 0.22
ITERATIONS = 20


def depth(x: Tensor, y: Tensor) -> Tensor:
    """How far the generic head stands out at crop point ``(x, y)``, relative to its outline (the
    sides of the face, ``x = +-1``). Beyond the outline the depth is the outline's, so that what
    lies around the face moves with it."""
    x = x.clamp(-1, 1)
    inside = 1 - (x / HEAD_HALF_WIDTH) ** 2 - (y / HEAD_HALF_HEIGHT) ** 2
    head = FACE_DEPTH * inside.clamp_min(0).sqrt()
    edge = 1 - (1 / HEAD_HALF_WIDTH) ** 2 - (y / HEAD_HALF_HEIGHT) ** 2
    outline = FACE_DEPTH * edge.clamp_min(0).sqrt()
    nose = NOSE_HEIGHT * torch.exp(-((x - NOSE[0]) ** 2 + (y - NOSE[1]) ** 2) / (2 * NOSE_WIDTH**2))
    return head - outline + nose


def turn(points: Tensor, yaw: Tensor) -> Tensor:
    """Points ``B x K x 2`` (x, y in [-1, 1] of the crop) of heads turned by ``yaw`` (``B``,
    radians)."""
    x, y = points[..., 0], points[..., 1]
    cos, sin = yaw.cos()[:, None], yaw.sin()[:, None]
    return torch.stack([x * cos + depth(x, y) * sin, y], -1)


def unturn(grid: Tensor, yaw: Tensor) -> Tensor:
    """Where each point of ``grid`` (``B x H x W x 2``, x, y in [-1, 1]) was before the turn by
    ``yaw`` (``B``, radians): :func:`turn`'s inverse, for sampling the turned image."""
    target, y = grid[..., 0], grid[..., 1]
    cos, sin = yaw.cos()[:, None, None], yaw.sin()[:, None, None]
    x = target / cos
    for _ in range(ITERATIONS):
        x = (target - depth(x, y) * sin) / cos
    return torch.stack([x, y], -1)
