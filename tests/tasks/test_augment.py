"""What augmentation means for each task's labels: mirror pairs, the landmarks' inter-ocular
distance, the parsing masks, and contract 1.0 tasks served sample by sample. The batch
augmentation itself is tested in tests/data/test_batch_augment.py."""

from __future__ import annotations

import pytest
import torch

from ifan.contract import LabelSchema, Task
from ifan.data.augment import AugmentOptions, infer_mirror, mirror_permutation
from ifan.data.batch_augment import BatchAugment
from ifan_tasks.landmarks.task import LandmarksTask
from ifan_tasks.parsing.task import ParsingTask

S = 32
STILL = {"rotate": 0.0, "scale": 0.0, "crop": 0.0, "colour": 0.0}


def test_mirror_pairs_come_from_left_and_right_names():
    assert infer_mirror(["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]) == (
        ("left_eye", "right_eye"),
        ("mouth_left", "mouth_right"),
    )
    assert infer_mirror(["l_brow", "r_brow", "skin"]) == (("l_brow", "r_brow"),)
    assert infer_mirror(["left_eye", "nose"]) == ()  # a left without its right stays put
    assert LabelSchema(kind="points", names=("p0", "p1")).mirror_pairs() is None
    assert LabelSchema(kind="segmentation", names=("a", "b")).mirror_pairs() == ()
    explicit = LabelSchema(kind="points", names=("p0", "p1"), mirror=(("p0", "p1"),))
    assert mirror_permutation(explicit.names, explicit.mirror_pairs()).tolist() == [1, 0]


def _seeded(options: AugmentOptions, swap, batch: int, room: float = 1.0):
    return BatchAugment(options, S, swap, room).seeded(torch.arange(batch) + 11)


@pytest.mark.parametrize("room", [1.0, 1.25])
def test_landmark_augment_keeps_the_inter_ocular_distance_in_step(room):
    task = LandmarksTask()
    points = torch.tensor([[0.3, 0.4], [0.7, 0.4], [0.5, 0.55], [0.35, 0.7], [0.65, 0.7]])
    target = {"points": points.repeat(4, 1, 1), "iod": torch.full((4,), 0.4)}
    swap = mirror_permutation(task.labels.names, task.labels.mirror_pairs())
    augment = _seeded(AugmentOptions(scale=0.3, rotate=30.0), swap, 4, room)
    size = round(S * room)
    _, out = task.augment_batch(torch.rand(4, 3, size, size), target, augment)
    iod = (out["points"][:, 0] - out["points"][:, 1]).norm(dim=-1)
    assert torch.allclose(out["iod"], iod, atol=1e-4)
    assert not torch.allclose(out["iod"], torch.full((4,), 0.4 * room), atol=1e-3)  # zoomed


def test_parsing_augment_moves_the_mask_and_ignores_what_comes_in():
    task = ParsingTask()
    target = {"mask": torch.ones(2, S, S, dtype=torch.int64)}
    swap = mirror_permutation(task.labels.names, task.labels.mirror_pairs())
    options = AugmentOptions(flip=0.0, rotate=45.0, scale=0.0, crop=0.0)
    augment = _seeded(options, swap, 2)
    _, out = task.augment_batch(torch.rand(2, 3, S, S), target, augment)
    assert (out["mask"] == 255).any()  # corners rotated in are ignored, not background
    assert set(out["mask"].unique().tolist()) == {1, 255}


class _SampleWise(Task):
    """A contract 1.0 task overriding the per-sample ``augment``: it records what it saw."""

    name = "samplewise"
    contract_version = "1.0"

    def augment(self, image, target, augment):
        out = augment(image, points=target["points"])
        return out.image, {**target, "points": out.points, "seen": torch.tensor(image.dim())}

    build_decoder = build_reencoder = prediction_maps = loss = new_metric = None  # type: ignore
    to_json = draw_overlay = None  # type: ignore


def test_a_per_sample_task_gets_what_each_sample_would_get_in_the_batch():
    points = torch.rand(3, 5, 2)
    images = torch.rand(3, 3, S, S)
    options = AugmentOptions(rotate=20.0, scale=0.2)
    swap = torch.tensor([1, 0, 2, 4, 3])
    batched = _seeded(options, swap, 3)(images, points=points)
    out_images, target = Task.augment_batch(
        _SampleWise.__new__(_SampleWise), images, {"points": points}, _seeded(options, swap, 3)
    )
    assert torch.equal(target["seen"], torch.tensor([3, 3, 3]))  # one unbatched sample each
    assert torch.allclose(out_images, batched.image, atol=1e-6)
    assert torch.allclose(target["points"], batched.points, atol=1e-6)


def test_a_class_task_has_only_its_images_changed():
    from ifan_tasks.emotion.task import EmotionTask

    target = {"label": torch.tensor([0, 3])}
    augment = _seeded(AugmentOptions(rotate=20.0), torch.arange(7), 2)
    images, out = EmotionTask().augment_batch(torch.rand(2, 3, S, S), target, augment)
    assert images.shape == (2, 3, S, S)
    assert out is target
