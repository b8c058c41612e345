"""``[tasks.<name>.data] oversample``: training samples drawn by an integer target, read from the
prepared copy or sample by sample, with clear errors; and the scheduler's weighted passes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from ifan.data.errors import DatasetError
from ifan.errors import IfanError
from ifan.training.scheduler import TaskStream
from tests.data.test_splits import manifest, splits

POSES = [1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 5, 4]


def write_posed(folder: Path) -> Path:
    """An MTFL list of 12 faces on 16x16 photos with the poses of ``POSES``."""
    (folder / "faces").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, pose in enumerate(POSES):
        Image.new("RGB", (16, 16), (i, 80, 80)).save(folder / "faces" / f"{i}.jpg")
        lines.append(f" faces\\{i}.jpg 4 12 8 5 11 6 6 9 12 12 1 2 2 {pose}\r\n")
    (folder / "training.txt").write_text("".join(lines), newline="")
    return folder / "training.txt"


def posed_manifest(folder: Path, oversample: str, extra: str = "") -> Path:
    list_file = write_posed(folder)
    return manifest(folder, f'train = "{list_file.name}"\noversample = {oversample}\n{extra}')


@pytest.mark.parametrize("prepare", [False, True])
def test_weights_follow_the_target_values_whether_prepared_or_not(tmp_path, prepare):
    path = posed_manifest(tmp_path, "{ pose = { 1 = 4.0, 5 = 2.5 } }")
    out = splits(path, prepare=prepare)
    expected = [4.0 if p == 1 else 2.5 if p == 5 else 1.0 for p in POSES]
    assert out.weights is not None
    assert out.weights.tolist() == expected
    assert out.sources["train"].endswith("(oversampled: pose 1: 2 x 4, pose 5: 1 x 2.5)")


def test_weights_of_several_keys_multiply(tmp_path):
    out = splits(posed_manifest(tmp_path, "{ pose = { 3 = 2.0 }, glasses = { 2 = 3.0 } }"))
    assert out.weights.tolist() == [6.0 if p == 3 else 3.0 for p in POSES]  # every face: no glasses


def test_weights_are_those_of_the_training_faces_left_after_carving_val(tmp_path):
    path = posed_manifest(tmp_path, "{ pose = { 1 = 4.0, 3 = 8.0 } }", "val_fraction = 0.25")
    out = splits(path, prepare=True)
    train = out.datasets["train"]
    assert len(out.weights) == len(train) == 9
    poses = [int(train[i][1]["pose"]) for i in range(len(train))]
    assert out.weights.tolist() == [{1: 4.0, 3: 8.0}.get(p, 1.0) for p in poses]


@pytest.mark.parametrize("prepare", [False, True])
@pytest.mark.parametrize(
    ("oversample", "message"),
    [
        (
            "{ posture = { 1 = 2.0 } }",
            "tasks.landmarks.data.oversample: the samples have no target 'posture' "
            "(they have: points, iod, gender, smile, glasses, pose)",
        ),
        (
            "{ pose = { 2 = 2.0 } }",
            "tasks.landmarks.data.oversample: no training sample has pose = 2 "
            "(its values: 1, 3, 4, 5)",
        ),
        ("{ points = { 1 = 2.0 } }", "target 'points' is not one whole number a sample"),
    ],
)
def test_a_key_or_value_the_samples_do_not_have_is_a_clear_error(
    tmp_path, prepare, oversample, message
):
    with pytest.raises(DatasetError) as caught:
        splits(posed_manifest(tmp_path, oversample), prepare=prepare)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("oversample", "extra", "message"),
    [
        ("{ pose = { 1 = 0.0 } }", "", "greater than 0"),
        ("{ pose = { left = 2.0 } }", "", "valid integer"),
        ("{ pose = 2.0 }", "", "valid dictionary"),
    ],
)
def test_the_manifest_refuses_weights_that_are_not_positive_numbers_by_integer_value(
    tmp_path, oversample, extra, message
):
    with pytest.raises(IfanError) as caught:
        splits(posed_manifest(tmp_path, oversample, extra))
    assert "tasks.landmarks.data.oversample" in str(caught.value)
    assert message in str(caught.value)


def test_a_weighted_stream_draws_in_proportion_and_stays_a_pure_function_of_k():
    weights = torch.tensor([1.0, 1.0, 1.0, 7.0])
    stream = TaskStream(4, 2, seed=3, task_index=0, weights=weights)
    assert stream.per_pass == 2  # a pass keeps its length
    drawn = Counter(i for k in range(1000) for i, _ in stream.batch(k))
    assert sum(drawn.values()) == 2000
    assert 0.65 < drawn[3] / 2000 < 0.75  # 7 of 10
    assert all(0.07 < drawn[i] / 2000 < 0.13 for i in range(3))
    again = TaskStream(4, 2, seed=3, task_index=0, weights=weights.clone())
    assert [again.batch(k) for k in (0, 17, 999)] == [stream.batch(k) for k in (0, 17, 999)]
    plain = TaskStream(4, 2, seed=3, task_index=0)
    assert [plain.batch(k) for k in range(4)] != [stream.batch(k) for k in range(4)]
    with pytest.raises(ValueError, match=r"\(3,\) weights for a split of 4 samples"):
        TaskStream(4, 2, seed=3, task_index=0, weights=weights[:3])
