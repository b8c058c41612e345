"""What tasks of one kind of label share (ifan.api): metrics and their table layout, JSON in the
photo's pixels, augmentation of classes a flip swaps, the refusal to augment a task whose labels
would stay behind, and MTFL's attribute columns as a class task's labels."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from ifan.api import (
    Box,
    ClassMetric,
    DatasetError,
    LabelSchema,
    MaskMetric,
    MtflAttributeFormat,
    OpenContext,
    PointsMetric,
    ValueMetric,
    mask_json,
    moves_geometry,
    mtfl_labels,
    points_json,
)
from ifan.data.augment import AugmentOptions, mirror_permutation
from ifan.data.batch_augment import BatchAugment
from ifan.data.splits import batch_augment
from ifan.errors import IfanError
from ifan.evaluation_tables import format_task_table
from ifan_tasks.emotion.task import EmotionTask
from ifan_tasks.landmarks.task import LandmarksTask

YES_NO = LabelSchema(kind="class", names=("yes", "no"))


def test_class_metric_balanced_accuracy_and_its_table() -> None:
    metric = ClassMetric(YES_NO, main="mean_accuracy")
    logits = torch.tensor([[1.0, 0.0]] * 4)  # always "yes"
    metric.update(logits, {"label": torch.tensor([0, 0, 0, 1])})
    values = metric.compute()
    assert values == {
        "accuracy": 0.75,
        "mean_accuracy": 0.5,
        "accuracy_yes": 1.0,
        "accuracy_no": 0.0,
    }
    assert metric.main == "mean_accuracy"
    lines = format_task_table("t", values, YES_NO, "test", layout=metric.layout()).splitlines()
    assert [line.split() for line in lines[1:]] == [
        ["METRIC", "YES", "NO", "ALL"],
        ["accuracy", "100.00", "0.00", "75.00"],
        ["mean_accuracy", "50.00"],
    ]
    with pytest.raises(ValueError, match="main must be one of accuracy, mean_accuracy"):
        ClassMetric(YES_NO, main="f1")


def test_a_declared_layout_wins_over_a_name_that_ends_in_a_label() -> None:
    """``n_no`` ends in the class ``no``; by name it would move to that column."""
    values = {"n_no": 0.25, "hits_no": 0.5}
    guessed = format_task_table("t", values, YES_NO, "").splitlines()
    assert guessed[1].split() == ["METRIC", "NO"]
    layout = {"n_no": ("n_no", "all"), "hits_no": ("hits", "no")}
    declared = format_task_table("t", values, YES_NO, "", layout=layout).splitlines()
    assert [line.split() for line in declared[1:]] == [
        ["METRIC", "NO", "ALL"],
        ["n_no", "25.00"],
        ["hits", "50.00"],
    ]


def test_points_metric_in_crop_sides_or_by_a_length_of_the_target() -> None:
    labels = LabelSchema(kind="points", names=("a", "b"))
    truth = torch.tensor([[[0.2, 0.2], [0.6, 0.2]]])
    prediction = truth + torch.tensor([[0.0, 0.1], [0.0, 0.0]])
    plain = PointsMetric(labels, threshold=0.04)
    plain.update(prediction, {"points": truth})
    assert plain.compute() == pytest.approx(
        {"nme": 0.05, "failure_rate": 1.0, "nme_a": 0.1, "nme_b": 0.0}
        | {"failure_rate_a": 1.0, "failure_rate_b": 0.0}
    )
    scaled = PointsMetric(labels, threshold=0.3, scale="iod")
    scaled.update(prediction, {"points": truth, "iod": torch.tensor([0.4])})
    assert scaled.compute()["nme_a"] == pytest.approx(0.25)
    assert scaled.layout()["failure_rate_b"] == ("failure_rate", "b")


def test_value_metric_has_its_unit() -> None:
    metric = ValueMetric("age", unit="years")
    metric.update(torch.tensor([[10.0], [14.0]]), {"age": torch.tensor([12.0, 12.0])})
    assert metric.compute() == {"mae": 2.0, "rmse": 2.0}
    assert metric.units == {"mae": "years", "rmse": "years"}


def test_mask_metric_layout_keeps_overall_in_its_row_without_the_group() -> None:
    labels = LabelSchema(kind="segmentation", names=("background", "skin"))
    layout = MaskMetric(labels).layout()
    assert layout == {"f1_background": ("f1", "background"), "f1_skin": ("f1", "skin")}
    grouped = LabelSchema(kind="segmentation", names=("a", "b"), groups={"overall": ("b",)})
    assert MaskMetric(grouped).layout()["f1_overall"] == ("f1", "overall")


def test_points_and_masks_land_where_the_crop_is_on_the_photo() -> None:
    labels = LabelSchema(kind="points", names=("p",))
    data = points_json(torch.tensor([[0.5, 0.0]]), labels, size=(100, 60), box=Box(20, 10, 40))
    assert data == {"unit": "pixels", "width": 100, "height": 60, "points": {"p": [40.0, 10.0]}}
    classes = LabelSchema(kind="segmentation", names=("background", "face"))
    logits = torch.zeros(2, 4, 4)
    logits[1] = 1.0
    mask = mask_json(logits, classes, size=(8, 2), box=Box(4, -1, 4))
    assert mask["mask"]["runs"] == [0, 4, 1, 4, 0, 4, 1, 4]
    assert mask["fractions"] == {"background": 0.5, "face": 0.5}


def test_a_flip_swaps_a_class_its_mirror_pairs_name() -> None:
    """A head pose's left and right swap under a flip, in the default augmentation."""
    pose = mtfl_labels("pose")
    task = EmotionTask(labels=pose)
    swap = mirror_permutation(pose.names, pose.mirror_pairs())
    options = AugmentOptions(flip=1.0, rotate=0.0, scale=0.0, crop=0.0, colour=0.0)
    augment = BatchAugment(options, 8, swap).seeded(torch.arange(5))
    images = torch.rand(5, 3, 8, 8)
    out, target = task.augment_batch(images, {"label": torch.arange(5)}, augment)
    assert target["label"].tolist() == [4, 3, 2, 1, 0]  # left_profile <-> right_profile, ...
    assert torch.allclose(out, images.flip(-1), atol=1e-5)


def test_a_points_task_that_keeps_the_default_augmentation_is_refused() -> None:
    class Still(LandmarksTask):
        augment_batch = EmotionTask.augment_batch

    assert moves_geometry(LandmarksTask()) and not moves_geometry(Still())
    config = SimpleNamespace(name="marks", augment=AugmentOptions())
    with pytest.raises(IfanError, match=r"tasks\.marks\.augment: marks's labels are points, ") as e:
        batch_augment(config, Still(), 32, 1.0)
    assert "[tasks.marks.augment] enabled = false" in str(e.value)
    assert isinstance(batch_augment(config, LandmarksTask(), 32, 1.0), BatchAugment)


MTFL_LINE = "faces\\{name}.jpg 4 12 8 5 11 6 6 9 12 12 {codes}\n"


def write_mtfl(folder: Path, codes: list[str]) -> Path:
    (folder / "faces").mkdir()
    lines = []
    for index, code in enumerate(codes):
        Image.new("RGB", (16, 16), (index * 40, 80, 80)).save(folder / "faces" / f"{index}.jpg")
        lines.append(MTFL_LINE.format(name=index, codes=code))
    (folder / "training.txt").write_text("".join(lines))
    return folder / "training.txt"


def test_an_mtfl_attribute_column_is_a_class_task_s_labels(tmp_path: Path) -> None:
    path = write_mtfl(tmp_path, ["1 2 1 3", "2 1 2 5"])
    glasses = MtflAttributeFormat("glasses")
    assert glasses.name == "mtfl" and glasses.labels(glasses.Options()) == mtfl_labels("glasses")
    data = glasses.open(path, "train", glasses.Options(), OpenContext(8))
    assert [int(data[i][1]["label"]) for i in range(2)] == [0, 1]  # codes 1 and 2
    assert data[0][0].shape == (3, 8, 8)
    pose = MtflAttributeFormat("pose").open(path, "train", glasses.Options(), OpenContext(8))
    assert [mtfl_labels("pose").names[int(pose[i][1]["label"])] for i in range(2)] == [
        "frontal",
        "right_profile",
    ]
    with pytest.raises(ValueError, match="MTFL has no attribute 'beard'; it has gender, smile"):
        MtflAttributeFormat("beard")


def test_an_mtfl_code_out_of_range_names_the_line(tmp_path: Path) -> None:
    path = write_mtfl(tmp_path, ["1 2 1 3", "1 2 3 3"])
    glasses = MtflAttributeFormat("glasses")
    with pytest.raises(DatasetError, match=r"training\.txt:2: glasses must be an integer from 1"):
        glasses.open(path, "train", glasses.Options(), OpenContext(8))
