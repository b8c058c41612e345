"""Shared data helpers: list files, image loading, square crops and the confusion metric."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.data.errors import DatasetError
from ifan.data.images import Box, box_around, crop_square, letterbox, open_image, uncrop
from ifan.data.lists import read_lines
from ifan.metrics.confusion import ConfusionMetric


def test_read_lines_skips_blanks_and_comments_and_keeps_line_numbers(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"\xef\xbb\xbfa\r\n\r\n # note\r\n  b  \r\n ")
    lines = read_lines(path, "list")
    assert [(line.number, line.text) for line in lines] == [(1, "a"), (4, "b")]
    assert str(lines[1].error("bad")) == f"{path}:4: bad"


def test_read_lines_missing_file_names_it(tmp_path):
    with pytest.raises(DatasetError, match=r"missing\.txt: things not found"):
        read_lines(tmp_path / "missing.txt", "things")


def test_open_image_reports_unreadable_file(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"broken\.png: not a readable image"):
        open_image(path)


def test_letterbox_and_point_round_trip():
    box = letterbox(6, 4)
    assert box == Box(0, -1, 6)
    pixels = torch.tensor([[0.0, 0.0], [3.0, 2.0]])
    crop = box.to_crop(pixels)
    assert torch.allclose(crop, torch.tensor([[0.0, 1 / 6], [0.5, 0.5]]))
    assert torch.allclose(box.from_crop(crop), pixels)


def test_box_around_adds_margin_on_each_side():
    box = box_around(torch.tensor([[10.0, 20.0], [30.0, 30.0]]), margin=0.5)
    assert box == Box(0, 5, 40)


def test_crop_square_pads_with_fill():
    image = Image.new("L", (4, 2), 7)
    out = crop_square(image, letterbox(4, 2), 4, Image.Resampling.NEAREST, fill=255)
    assert np.asarray(out).reshape(-1).tolist() == [255] * 4 + [7] * 8 + [255] * 4


def test_uncrop_inverts_letterbox():
    maps = torch.arange(16.0).reshape(1, 4, 4)
    back = uncrop(maps, letterbox(4, 2), 4, 2, mode="nearest")
    assert back.shape == (1, 2, 4)
    assert torch.equal(back[0], maps[0, 1:3])


class _Counts(ConfusionMetric):
    def update(self, prediction, target):
        self.add(target, prediction)

    def compute(self):
        return {}


def test_confusion_f_score_merged_and_ignore():
    metric = _Counts("abc")
    metric.add(torch.tensor([0, 1, 2, 2, 255]), torch.tensor([0, 2, 2, 1, 0]))
    assert metric.confusion.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert metric.f_score([2]) == pytest.approx(2 * 1 / (2 + 2))
    assert metric.f_score([1, 2]) == pytest.approx(1.0)
    assert metric.accuracy() == pytest.approx(2 / 4)
    assert metric.class_accuracies() == [1.0, 0.0, 0.5]


def test_confusion_merge_equals_one_pass():
    truth, predicted = torch.tensor([0, 1, 1, 2, 0, 2]), torch.tensor([0, 1, 0, 2, 2, 2])
    whole, first, second = _Counts("abc"), _Counts("abc"), _Counts("abc")
    whole.update(predicted, truth)
    first.update(predicted[:3], truth[:3])
    second.update(predicted[3:], truth[3:])
    first.merge(second)
    assert torch.equal(first.confusion, whole.confusion)


def test_confusion_picture_is_drawn_from_the_counts():
    metric = _Counts(["cat", "dog"])
    metric.add(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]))
    picture = metric.pictures()["confusion"]
    assert picture.mode == "RGB" and min(picture.size) > 100
    assert len(picture.getcolors(1 << 20)) > 20  # cells, text and a colour bar, not a blank image
