"""Emotion readers (class folders, fer2013.csv), metric, JSON and overlay."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from ifan.contract import LabelSchema, OpenContext
from ifan.data.errors import DatasetError
from ifan_tasks.emotion.task import FER2013_CLASSES, EmotionTask

SIZE = 16


def fmt(name):
    return EmotionTask.format(name)


def save_grey(path, value=128, size=48):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (size, size), value).save(path)


def test_folder_class_is_folder_name(tmp_path):
    save_grey(tmp_path / "train" / "happy" / "Training_1.jpg")
    save_grey(tmp_path / "train" / "sad" / "Training_2.png", value=255)
    (tmp_path / "train" / "sad" / "notes.txt").write_text("not an image")
    options = fmt("folder").Options()
    data = fmt("folder").open(tmp_path / "train", "train", options, OpenContext(SIZE))
    assert len(data) == 2
    image = data[1][0]
    assert image.shape == (3, SIZE, SIZE) and float(image.min()) == 1.0
    assert [int(data[i][1]["label"]) for i in range(2)] == [3, 5]
    assert fmt("folder").labels(options).names == FER2013_CLASSES


def test_folder_unknown_class_and_custom_classes(tmp_path):
    save_grey(tmp_path / "joy" / "a.png")
    with pytest.raises(DatasetError, match=r"joy: folder 'joy' is not a class"):
        fmt("folder").open(tmp_path, "train", fmt("folder").Options(), OpenContext(SIZE))
    options = fmt("folder").Options(classes=["calm", "joy"])
    assert (
        int(fmt("folder").open(tmp_path, "train", options, OpenContext(SIZE))[0][1]["label"]) == 1
    )


def write_fer_csv(path, rows):
    lines = ["emotion,pixels,Usage"] + [f"{e},{' '.join([str(v)] * n)},{u}" for e, v, n, u in rows]
    path.write_text("\n".join(lines) + "\n")


def test_fer2013_csv_splits_by_usage_and_maps_codes(tmp_path):
    path = tmp_path / "fer2013.csv"
    rows = [(4, 255, 2304, "Training"), (6, 0, 2304, "PublicTest"), (0, 0, 2304, "PrivateTest")]
    write_fer_csv(path, rows)
    options = fmt("fer2013-csv").Options()
    train = fmt("fer2013-csv").open(path, "train", options, OpenContext(SIZE))
    assert len(train) == 1
    image, target = train[0]
    assert image.shape == (3, SIZE, SIZE) and float(image.min()) == 1.0
    assert FER2013_CLASSES[int(target["label"])] == "sad"
    val = fmt("fer2013-csv").open(path, "val", options, OpenContext(SIZE))
    assert FER2013_CLASSES[int(val[0][1]["label"])] == "neutral"
    test = fmt("fer2013-csv").open(path, "test", options, OpenContext(SIZE))
    assert FER2013_CLASSES[int(test[0][1]["label"])] == "angry"


def test_fer2013_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "fer2013.csv"
    write_fer_csv(path, [(3, 1, 2304, "Training"), (3, 1, 2000, "Training")])
    with pytest.raises(DatasetError, match=r"fer2013\.csv:3: expected a square image .* got 2000"):
        fmt("fer2013-csv").open(path, "train", fmt("fer2013-csv").Options(), OpenContext(SIZE))
    options = fmt("fer2013-csv").Options(usage={"train": "Train"})
    assert options.usage["test"] == "PrivateTest"
    with pytest.raises(DatasetError, match=r"no rows with Usage 'Train' \(found: Training\)"):
        fmt("fer2013-csv").open(path, "train", options, OpenContext(SIZE))


FOUR = LabelSchema(kind="class", names=("a", "b", "c", "d"))


def logits_for(classes):
    return torch.nn.functional.one_hot(torch.tensor(classes), 4).float()


def test_metric_accuracy_confusion_and_merge():
    task = EmotionTask(labels=FOUR)
    truth, predicted = [0, 0, 1, 2], [0, 1, 1, 1]
    whole = task.new_metric()
    whole.update(logits_for(predicted), {"label": torch.tensor(truth)})
    values = whole.compute()
    assert values["accuracy"] == 0.5 and values["mean_accuracy"] == pytest.approx(0.5)
    assert [values[f"accuracy_{n}"] for n in "abcd"] == [0.5, 1.0, 0.0, 0.0]
    assert whole.confusion.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert whole.main == "accuracy"
    first, second = task.new_metric(), task.new_metric()
    first.update(logits_for(predicted[:1]), {"label": torch.tensor(truth[:1])})
    second.update(logits_for(predicted[1:]), {"label": torch.tensor(truth[1:])})
    first.merge(second)
    assert torch.equal(first.confusion, whole.confusion)


def test_json_probabilities():
    task = EmotionTask(labels=LabelSchema(kind="class", names=("calm", "joy")))
    out = json.loads(json.dumps(task.to_json(torch.tensor([0.0, math.log(3)]))))
    assert out["label"] == "joy" and out["score"] == pytest.approx(0.75)
    assert out["probabilities"]["calm"] == pytest.approx(0.25)


def test_overlay_adds_a_panel_beside_the_enlarged_face(tmp_path):
    task = EmotionTask()
    face = Image.new("L", (48, 48), 60)
    logits = torch.tensor([0.0, 0, 0, 5, 0, 0, 0])
    task.draw_overlay(face, logits, {"label": torch.tensor(3)}).save(tmp_path / "o.png")
    pixels = np.asarray(Image.open(tmp_path / "o.png"))
    assert pixels.shape == (192, 392, 3)
    assert (pixels[:, :192] == 60).all()
    panel = pixels[:, 192:]
    assert (panel != 255).any(axis=2).sum() > 100  # text and bars were drawn


def test_class_weights_weigh_the_cross_entropy_per_class():
    task = EmotionTask(EmotionTask.Options(class_weights={"disgust": 4.0}))
    logits = torch.tensor([[2.0, 0.0, 0, 0, 0, 0, 0], [0.0, 1.0, 0, 0, 0, 0, 0]])
    labels = torch.tensor([0, 1])  # angry (weight 1), disgust (weight 4)
    each = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = (each[0] * 1 + each[1] * 4) / (1 + 4)
    assert torch.allclose(task.loss(logits, {"label": labels}), expected)
    assert torch.allclose(EmotionTask().loss(logits, {"label": labels}), each.mean())


def test_class_weights_must_name_classes_and_be_positive():
    from ifan.errors import IfanError

    with pytest.raises(IfanError, match="no class 'digust'; the classes are angry, disgust"):
        EmotionTask(EmotionTask.Options(class_weights={"digust": 2.0}))
    with pytest.raises(ValidationError, match="weights must be above 0"):
        EmotionTask.Options(class_weights={"disgust": 0.0})


def test_folder_classes_renamed_and_left_out_are_counted(tmp_path):
    """CK+'s layout scored with FER2013's classes: anger and sadness renamed, contempt left out."""
    for folder, count in (("anger", 2), ("sadness", 1), ("happy", 1), ("contempt", 3)):
        for index in range(count):
            save_grey(tmp_path / folder / f"{index}.png")
    options = fmt("folder").Options(
        rename={"anger": "angry", "sadness": "sad"}, leave_out=["contempt"]
    )
    ctx = OpenContext(SIZE)
    data = fmt("folder").open(tmp_path, "test", options, ctx)
    labels = sorted(FER2013_CLASSES[int(data[i][1]["label"])] for i in range(len(data)))
    assert labels == ["angry", "angry", "happy", "sad"]
    assert ctx.bad.left_out == {"contempt": 3} and ctx.bad.count == 0
    assert ctx.bad.left_out_summary() == "3 left out (contempt 3)"
    with pytest.raises(DatasetError, match=r"folder 'anger' is not a class .*rename = \{ anger"):
        fmt("folder").open(tmp_path, "test", fmt("folder").Options(), OpenContext(SIZE))


def test_folder_mapping_options_are_checked():
    with pytest.raises(ValidationError, match=r"rename maps folders to 'angre', which classes"):
        fmt("folder").Options(rename={"anger": "angre"})
    with pytest.raises(ValidationError, match=r"leave_out names 'sad', which classes or rename"):
        fmt("folder").Options(leave_out=["sad"])


def test_ifan_data_reports_the_folders_left_out(tmp_path, capsys):
    from ifan.cli.main import main

    for folder, count in (("happy", 1), ("sadness", 1), ("contempt", 2)):
        for index in range(count):
            save_grey(tmp_path / "faces" / folder / f"{index}.png")
    (tmp_path / "m.toml").write_text(
        '[model]\ninput_size = 32\n[tasks.emotion.data]\nformat = "folder"\ntrain = "faces"\n'
        'classes = ["happy", "sad"]\nrename = { sadness = "sad" }\nleave_out = ["contempt"]\n'
    )
    report = tmp_path / "report.json"
    assert main(["data", str(tmp_path / "m.toml"), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "  train: 2 left out (contempt 2), as the data table says" in out
    split = json.loads(report.read_text())["emotion"]["splits"]["train"]
    assert (split["samples"], split["left_out"]) == (2, {"contempt": 2})
