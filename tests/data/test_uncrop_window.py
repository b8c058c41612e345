"""``uncrop`` and ``class_map`` compute only the pixels a face's box covers: the same values as
resizing the crop's maps onto the whole photo, for boxes inside, across the edge of and outside
the photo, turned or not."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ifan.data.images import Box, box_window, uncrop
from ifan.outputs.masks import class_map

WIDTH, HEIGHT = 50, 40


def whole_photo(maps: torch.Tensor, box: Box) -> torch.Tensor:
    """The definition, computed for every pixel of the photo: each pixel centre's crop
    coordinates sampled bilinearly, zero outside the box."""
    ys, xs = torch.meshgrid(
        torch.arange(HEIGHT, dtype=torch.float32) + 0.5,
        torch.arange(WIDTH, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    crop = box.to_crop(torch.stack([xs.flatten(), ys.flatten()], dim=1)).reshape(HEIGHT, WIDTH, 2)
    inside = ((crop >= 0) & (crop < 1)).all(dim=-1)
    grid = (crop * 2 - 1)[None]
    out = F.grid_sample(maps[None], grid, padding_mode="border", align_corners=False)
    return out[0] * inside


BOXES = {
    "inside": Box(10, 5, 24),
    "across the left and top edges": Box(-7, -9, 30),
    "larger than the photo": Box(-20, -30, 100),
    "outside": Box(60, 0, 20),
    "turned, inside": Box(12, 8, 20, 25.0),
    "turned, across the right edge": Box(35, 10, 26, -40.0),
    "turned, outside": Box(-60, -60, 30, 45.0),
}


@pytest.mark.parametrize("name", list(BOXES))
def test_uncrop_equals_the_whole_photo_computation(name):
    box = BOXES[name]
    maps = torch.randn(6, 8, 8, generator=torch.Generator().manual_seed(0))
    got = uncrop(maps, box, WIDTH, HEIGHT)
    assert got.shape == (6, HEIGHT, WIDTH)
    assert torch.allclose(got, whole_photo(maps, box), atol=1e-5)
    assert torch.equal(class_map(maps, (WIDTH, HEIGHT), box), got.argmax(dim=0))


def test_the_window_is_the_box_clipped_to_the_photo():
    assert box_window(Box(10, 5, 24), WIDTH, HEIGHT) == (10, 5, 34, 29)
    assert box_window(Box(-7, -9, 30), WIDTH, HEIGHT) == (0, 0, 23, 21)
    assert box_window(Box(60, 0, 20), WIDTH, HEIGHT) == (50, 0, 50, 20)  # empty: right of it
    # a square turned by 45 degrees reaches side / sqrt(2) from its centre (25, 20)
    assert box_window(Box(15, 10, 20, 45.0), WIDTH, HEIGHT) == (10, 5, 40, 35)


def test_outside_the_box_the_class_is_the_first():
    maps = torch.full((3, 4, 4), -5.0)
    maps[2] = 1.0  # class 2 wins everywhere inside the box
    classes = class_map(maps, (WIDTH, HEIGHT), Box(10, 5, 24))
    assert int((classes == 2).sum()) == 24 * 24
    assert classes[5:29, 10:34].eq(2).all() and int(classes.sum()) == 2 * 24 * 24
