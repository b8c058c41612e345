"""``augment.yaw``: a head turned about its vertical axis by a generic head's depth. The map and
its inverse agree, the nose moves more than the eyes, the outline narrows, and points, pixels and
masks move together through the batch augmentation."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from ifan.data import head_turn
from ifan.data.augment import AugmentOptions
from ifan.data.batch_augment import BatchAugment
from tests.data.test_batch_augment import FACE, LANDMARK_SWAP, MOVING, STILL, S, blobs, centroid

TURNED = {**STILL, "yaw": 30.0}


def test_unturn_undoes_turn_across_the_crop() -> None:
    yaw = torch.tensor([math.radians(30), math.radians(-30), math.radians(12), 0.0])
    grid = torch.stack(
        torch.meshgrid(torch.linspace(-1, 1, 41), torch.linspace(-1, 1, 41), indexing="ij"), -1
    )
    grid = grid.flip(-1).expand(4, -1, -1, -1)  # (x, y) order
    turned = head_turn.turn(grid.reshape(4, -1, 2), yaw).reshape(grid.shape)
    assert torch.allclose(head_turn.unturn(turned, yaw), grid, atol=1e-4)
    assert torch.equal(
        head_turn.turn(grid[3].reshape(1, -1, 2), yaw[3:]).reshape(grid[3].shape), grid[3]
    )


def test_the_nose_moves_towards_the_turn_more_than_the_eyes_and_the_outline_narrows() -> None:
    """Turned 30 degrees, the head's outline stays where a detector would box it, narrowed by
    cos(30); the eyes, in front of the outline, move towards the turn, and the nose tip, in front
    of the eyes, moves about twice as far."""
    yaw = torch.tensor([math.radians(30)])
    points = torch.tensor([[[-0.35, -0.3], [0.35, -0.3], [*head_turn.NOSE], [-1, 0], [1, 0]]])
    moved = head_turn.turn(points, yaw)[0]
    shift = moved[:, 0] - points[0, :, 0]
    assert torch.allclose(moved[3:, 0], torch.tensor([-1.0, 1.0]) * math.cos(yaw), atol=1e-4)
    assert 0.1 < shift[0] < 0.25 and 0.1 < shift[1] < 0.25
    assert shift[2] > 1.8 * shift[:2].mean()  # the nose tip
    assert torch.isclose(moved[1, 0] - moved[0, 0], 0.7 * torch.cos(yaw), atol=1e-3)[0]
    assert torch.equal(moved[:, 1], points[0, :, 1])  # nothing moves up or down
    mirrored = head_turn.turn(points, -yaw)[0]
    assert torch.isclose(mirrored[2, 0], -moved[2, 0])  # a turn the other way mirrors it


def test_points_follow_the_turned_pixels() -> None:
    batch, side = 12, 40
    generator = torch.Generator().manual_seed(1)
    points = 0.3 + 0.4 * torch.rand(batch, 1, 2, generator=generator)
    images = blobs(points, side).expand(-1, 3, -1, -1)
    for options in (TURNED, {**MOVING, "yaw": 30.0}):
        seeded = BatchAugment(AugmentOptions(**options), S, torch.tensor([0]), room=1.25).seeded(
            torch.arange(batch)
        )
        out = seeded(images, points=points)
        assert torch.allclose(out.points[:, 0], centroid(out.image[:, 0]), atol=0.5 / S)
    still = BatchAugment(AugmentOptions(**STILL), S, None, room=1.25).seeded(torch.arange(batch))
    turned = BatchAugment(AugmentOptions(**TURNED), S, None, room=1.25).seeded(torch.arange(batch))
    moved = turned(images, points=points).points - still(images, points=points).points
    assert (moved[..., 0].abs() > 0.5 / S).sum() >= batch // 2  # the turn moved most of them
    assert torch.equal(moved[..., 1], torch.zeros(batch, 1))  # and only sideways


def test_masks_follow_the_turned_landmarks() -> None:
    batch, side = 8, 40
    points = FACE.expand(batch, -1, -1)
    masks = torch.zeros(batch, side, side, dtype=torch.int64)
    for k, spot in enumerate(blobs(points, side, sigma=1.0).unbind(1)):
        masks[spot > 0.3] = k + 1
    images = (masks > 0).float()[:, None].expand(-1, 3, -1, -1)
    options = AugmentOptions(**TURNED)
    out = BatchAugment(options, S, None, room=1.25).seeded(torch.arange(batch))(
        images, masks, points
    )
    for k in range(5):
        found = centroid((out.mask == k + 1).float())
        assert torch.allclose(out.points[:, k], found, atol=1.0 / S)


def test_without_yaw_the_other_draws_are_what_they_were() -> None:
    """The yaw's draw comes last: a run begun before it existed augments as it did."""
    options = AugmentOptions(**MOVING)
    seeded = BatchAugment(options, S, LANDMARK_SWAP).seeded(torch.arange(6))
    for row, seed in enumerate(range(6)):
        first_nine = torch.rand(
            9, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
        )
        assert torch.equal(seeded.draws[row, :9], first_nine)


def test_a_turn_beyond_the_generic_head_is_refused() -> None:
    assert AugmentOptions(yaw=head_turn.MAX_YAW).yaw == 30.0
    with pytest.raises(ValidationError, match="less than or equal to 30"):
        AugmentOptions(yaw=31.0)
