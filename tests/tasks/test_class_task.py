"""The class bases of core (ifan.class_task) and what they read: the emotion task built on them
keeps its weights' names and its outputs, a decoder may give columns after its logits, UTKFace
names, and class folders with many classes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from ifan.class_task import ClassTask, SoftmaxTask
from ifan.contract import BuildContext, FeatureSpec, LabelSchema
from ifan.data.bad_samples import BadSamples
from ifan.data.classes import read_class_folders, shown_names
from ifan.data.errors import DatasetError
from ifan.data.utkface import UtkFaceAttributeFormat, UtkFaceName, parse_utkface_name
from ifan.metrics.classes import ClassMetric
from ifan.network.reencoders import Probabilities
from ifan.network.task_batchnorm import FlexBatchNorm
from ifan_tasks.emotion.task import EmotionTask

CTX = BuildContext(input_size=64, norm=FlexBatchNorm)
TAP = FeatureSpec(16, 2, 2)
LEVELS = [FeatureSpec(8, 4, 4), FeatureSpec(8, 2, 2)]


def test_emotion_keeps_the_names_of_its_weights() -> None:
    """The shipped faces3 model's emotion weights load by these names."""
    task = EmotionTask()
    assert isinstance(task, ClassTask) and isinstance(task, SoftmaxTask)
    decoder = [name for name, _ in task.build_decoder(TAP, CTX).state_dict().items()]
    assert decoder[:3] == ["mlp.0.weight", "mlp.1.weight", "mlp.1.bias"]
    assert decoder[-2:] == ["mlp.3.weight", "mlp.3.bias"]
    reencoder = list(task.build_reencoder(LEVELS, CTX).state_dict())
    assert reencoder == [
        "1.mlp.0.weight",
        "1.mlp.0.bias",
        "1.mlp.2.weight",
        "1.mlp.2.bias",
        "1.heads.0.weight",
        "1.heads.0.bias",
        "1.heads.1.weight",
        "1.heads.1.bias",
    ]
    assert task.options.hidden == 128 and task.reencoder_hidden == 64
    assert task.prediction_channels == 7 and task.default_tap == "down5"


def test_probabilities_of_the_logits_alone_equal_a_softmax() -> None:
    logits = torch.randn(3, 7)
    assert torch.equal(Probabilities(7)(logits), nn.Softmax(dim=1)(logits))
    wider = torch.cat([logits, torch.randn(3, 5)], 1)
    assert torch.equal(Probabilities(7)(wider), nn.Softmax(dim=1)(logits))


def test_a_class_task_reads_its_logits_before_any_other_columns() -> None:
    task = EmotionTask()
    logits = torch.tensor([[0.0, 0, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 2]])
    wider = torch.cat([logits, torch.full((2, 4), 9.0)], 1)  # larger than any logit
    target = {"label": torch.tensor([2, 5])}
    assert torch.equal(task.loss(wider, target), task.loss(logits, target))
    assert task.to_json(wider[0]) == task.to_json(logits[0])
    assert task.to_json(wider[0])["label"] == "fear"
    assert torch.equal(task.prediction_maps(wider, 2, 2), task.prediction_maps(logits, 2, 2))
    metric = ClassMetric(task.labels)
    metric.update(wider, target)
    assert metric.compute()["accuracy"] == pytest.approx(1 / 2)  # fear right, surprise not sad


def test_class_options_reach_the_loss() -> None:
    logits = torch.tensor([[2.0, 0, 0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0, 0, 0]])
    labels = torch.tensor([0, 1])
    task = EmotionTask(EmotionTask.Options(label_smoothing=0.2, class_weights={"disgust": 5.0}))
    weights = torch.tensor([1.0, 5, 1, 1, 1, 1, 1])
    expected = nn.functional.cross_entropy(logits, labels, weight=weights, label_smoothing=0.2)
    assert task.loss(logits, {"label": labels}) == pytest.approx(float(expected))


def test_utkface_names_give_their_labels_or_say_which_field_is_wrong() -> None:
    name = parse_utkface_name(Path("crop/26_1_3_20170104222823975.jpg.chip.jpg"))
    assert name == UtkFaceName(age=26, gender=1, race=3, datetime="20170104222823975")
    with pytest.raises(
        DatasetError,
        match=r"61_3_20170109150557335\.jpg\.chip\.jpg: malformed .*"
        r"got 3 fields",
    ):
        parse_utkface_name(Path("61_3_20170109150557335.jpg.chip.jpg"))
    with pytest.raises(DatasetError, match=re.escape("race must be 0 to 4, got '7'")):
        parse_utkface_name(Path("26_1_7_20170104222823975.jpg"))
    with pytest.raises(ValueError, match="no class 'age'"):
        UtkFaceAttributeFormat("age")


def test_class_folders_name_the_folder_and_shorten_a_long_class_list(tmp_path: Path) -> None:
    (tmp_path / "zed").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "zed" / "a.png")
    classes = [f"person_{i:02d}" for i in range(12)]
    assert shown_names(classes) == ", ".join(classes[:10]) + ", ... (12 in all)"
    with pytest.raises(
        DatasetError,
        match=r"zed: folder 'zed' is not a class \(person_00, .*"
        r"person_09, \.\.\. \(12 in all\)\); .* list it in people or skip it",
    ):
        read_class_folders(tmp_path, classes, BadSamples(), option="people")
    records = read_class_folders(tmp_path, ["zed", "x"], BadSamples())
    assert records == [(tmp_path / "zed" / "a.png", 0)]
    labels = UtkFaceAttributeFormat("race").labels(UtkFaceAttributeFormat.Options())
    assert labels == LabelSchema(
        kind="class", names=("white", "black", "asian", "indian", "others")
    )
