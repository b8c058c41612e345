"""Landmark readers (MTFL, .pts, CSV), metric, JSON and overlay."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from ifan.contract import LabelSchema, OpenContext
from ifan.data.errors import DatasetError
from ifan_tasks.landmarks.task import MTFL_POINTS, LandmarksTask

SIZE = 16


def fmt(name):
    return LandmarksTask.format(name)


def save_image(path, width, height):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (90, 90, 90)).save(path)


def test_mtfl_reads_crlf_leading_spaces_and_backslashes(tmp_path):
    save_image(tmp_path / "lfw_5590" / "a.jpg", 20, 10)
    save_image(tmp_path / "net_7876" / "b.jpg", 20, 20)
    (tmp_path / "training.txt").write_bytes(
        b"lfw_5590\\a.jpg 4.0 16.0 10.0 6.0 14.0 3.0 3.0 5.0 7.0 7.0 1 2 2 3\r\n"
        b" net_7876\\b.jpg 1 2 3 4 5 6 7 8 9 10 2 1 1 5\r\n "
    )
    data = fmt("mtfl").open(
        tmp_path / "training.txt", "train", fmt("mtfl").Options(), OpenContext(SIZE)
    )
    assert len(data) == 2
    image, target = data[0]
    assert image.shape == (3, SIZE, SIZE)
    # No detector in this context: the crop is the square around the points (12 x 4 px here).
    expected = [[0, 1 / 3], [1, 1 / 3], [0.5, 0.5], [1 / 6, 2 / 3], [5 / 6, 2 / 3]]
    assert torch.allclose(target["points"], torch.tensor(expected))
    assert float(target["iod"]) == pytest.approx(1.0)
    assert [int(target[k]) for k in ("gender", "smile", "glasses", "pose")] == [1, 2, 2, 3]
    assert int(data[1][1]["pose"]) == 5


def test_mtfl_forward_slashes_and_bad_lines(tmp_path):
    save_image(tmp_path / "AFLW" / "1.jpg", 10, 10)
    good = "AFLW/1.jpg 1 5 3 2 4 2 2 4 6 6 1 1 1 1\n"
    (tmp_path / "testing.txt").write_text(good)
    assert (
        len(
            fmt("mtfl").open(
                tmp_path / "testing.txt", "test", fmt("mtfl").Options(), OpenContext(SIZE)
            )
        )
        == 1
    )
    (tmp_path / "testing.txt").write_text(good + "AFLW/1.jpg 1 5 3 2 4 2 2 4 6 6 1 1 1\n")
    with pytest.raises(DatasetError, match=r"testing\.txt:2: expected 15 fields .* got 14"):
        fmt("mtfl").open(tmp_path / "testing.txt", "test", fmt("mtfl").Options(), OpenContext(SIZE))
    (tmp_path / "testing.txt").write_text(good.replace(" 1 1 1 1", " 1 1 1 7"))
    with pytest.raises(DatasetError, match=r"testing\.txt:1: pose must be an integer from 1 to 5"):
        fmt("mtfl").open(tmp_path / "testing.txt", "test", fmt("mtfl").Options(), OpenContext(SIZE))
    (tmp_path / "testing.txt").write_text(good.replace("AFLW/1", "AFLW/2"))
    with pytest.raises(DatasetError, match=r"testing\.txt:1: image .*2\.jpg not found"):
        fmt("mtfl").open(tmp_path / "testing.txt", "test", fmt("mtfl").Options(), OpenContext(SIZE))


def test_mtfl_points_are_the_task_default():
    assert fmt("mtfl").labels(fmt("mtfl").Options()) is None
    assert len(MTFL_POINTS) == 5


def grid_points(count):
    return [(2 + i % 17, 2 + i // 17) for i in range(count)]


def write_pts(path, points, declared=None):
    body = "\n".join(f"{x} {y}" for x, y in points)
    path.write_text(f"version: 1\nn_points:  {declared or len(points)}\n{{\n{body}\n}}")


def test_pts_one_based_points_and_eye_corners(tmp_path):
    save_image(tmp_path / "sub" / "face.png", 20, 20)
    write_pts(tmp_path / "sub" / "face.pts", grid_points(68))
    options = fmt("pts").Options(crop="points", margin=0)
    data = fmt("pts").open(tmp_path, "test", options, OpenContext(SIZE))
    target = data[0][1]
    pixels = torch.tensor(grid_points(68), dtype=torch.float32) - 1  # one-based in the file
    low, high = pixels.min(dim=0).values, pixels.max(dim=0).values
    side = float((high - low).max())
    centre = torch.round((low + high) / 2 - side / 2) + side / 2  # the box is whole pixels
    expected = (pixels[36] - centre) / side + 0.5
    assert target["points"][36].tolist() == pytest.approx(expected.tolist(), abs=0.02)
    eyes = (pixels[42] + pixels[45]) / 2 - (pixels[36] + pixels[39]) / 2
    assert float(target["iod"]) == pytest.approx(float(eyes.norm()) / side, abs=0.02)
    assert fmt("pts").labels(options).names[67] == "p67"


def test_pts_points_crop_is_around_the_points_with_its_margin(tmp_path):
    save_image(tmp_path / "face.png", 40, 40)
    write_pts(tmp_path / "face.pts", grid_points(68))
    options = fmt("pts").Options(crop="points")
    target = fmt("pts").open(tmp_path, "test", options, OpenContext(SIZE))[0][1]
    low, high = target["points"].min(dim=0).values, target["points"].max(dim=0).values
    assert float((high - low).max()) == pytest.approx(1 / 1.3, abs=0.02)


def test_pts_wrong_count_says_what_to_set(tmp_path):
    save_image(tmp_path / "face.png", 20, 20)
    write_pts(tmp_path / "face.pts", grid_points(5))
    with pytest.raises(DatasetError, match=r"face\.pts:2: the file has 5 points .* set points = 5"):
        fmt("pts").open(tmp_path, "test", fmt("pts").Options(), OpenContext(SIZE))


def test_point_options_need_eyes_unless_68_points():
    with pytest.raises(ValidationError, match="give eyes"):
        fmt("csv").Options(points=5)
    with pytest.raises(ValidationError, match="indices must be 0 to 2"):
        fmt("csv").Options(points=3, eyes=[[0], [3]])


def test_csv_with_header(tmp_path):
    save_image(tmp_path / "img" / "a.png", 10, 10)
    (tmp_path / "points.csv").write_text("image,x0,y0,x1,y1,x2,y2\nimg/a.png,2,3,6,3,4,8\n")
    options = fmt("csv").Options(points=3, eyes=[[0], [1]], names=["le", "re", "chin"])
    data = fmt("csv").open(tmp_path / "points.csv", "train", options, OpenContext(SIZE))
    expected = torch.tensor([[0.0, 0.0], [0.8, 0.0], [0.4, 1.0]])  # the square around them
    assert torch.allclose(data[0][1]["points"], expected)
    assert fmt("csv").labels(options).names == ("le", "re", "chin")
    (tmp_path / "points.csv").write_text("img/a.png,2,3,6,3,4,8\nimg/a.png,2,3,6,3\n")
    with pytest.raises(DatasetError, match=r"points\.csv:2: expected the image then x,y for 3"):
        fmt("csv").open(tmp_path / "points.csv", "train", options, OpenContext(SIZE))


TWO = LabelSchema(kind="points", names=("a", "b"))


def test_metric_nme_and_failure_by_hand():
    task = LandmarksTask(labels=TWO)
    truth = torch.tensor([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]]])
    prediction = torch.tensor([[[0.05, 0.0], [1.0, 0.2]], [[0.0, 0.0], [2.0, 0.0]]])
    target = {"points": truth, "iod": torch.tensor([1.0, 2.0])}
    whole = task.new_metric()
    whole.update(prediction, target)
    values = whole.compute()
    assert values["nme_a"] == pytest.approx(0.025) and values["nme_b"] == pytest.approx(0.1)
    assert values["nme"] == pytest.approx(0.0625)
    assert values["failure_rate"] == 0.5 and values["failure_rate_a"] == 0
    assert values["failure_rate_b"] == 0.5
    assert whole.main == "nme" and not whole.higher_is_better
    first, second = task.new_metric(), task.new_metric()
    first.update(prediction[:1], {"points": truth[:1], "iod": torch.tensor([1.0])})
    second.update(prediction[1:], {"points": truth[1:], "iod": torch.tensor([2.0])})
    first.merge(second)
    assert first.compute() == pytest.approx(values)


def test_losses_euclidean_and_nme_by_hand():
    truth = torch.tensor([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]]])
    prediction = torch.tensor([[[0.3, 0.4], [1.0, 0.0]], [[0.0, 0.0], [2.0, 1.0]]])
    target = {"points": truth, "iod": torch.tensor([1.0, 2.0])}
    # Squared distances 0.25, 0, 0, 1; distances over the iod 0.5, 0, 0, 0.5.
    euclidean = LandmarksTask(labels=TWO).loss(prediction, target)
    assert float(euclidean) == pytest.approx(1.25 / 4)
    options = LandmarksTask.Options(loss="nme")
    nme = LandmarksTask(options, labels=TWO).loss(prediction, target)
    assert float(nme) == pytest.approx(1.0 / 4, rel=1e-5)
    right = truth.clone().requires_grad_()
    exact = LandmarksTask(options, labels=TWO).loss(right, target)
    exact.backward()
    assert float(exact.detach()) == pytest.approx(0.0, abs=1e-5)
    assert torch.isfinite(right.grad).all()  # no NaN where a point is exactly right


def test_json_in_crop_units_and_pixels():
    task = LandmarksTask()
    points = torch.tensor([[0.5, 0.5]] * 5)
    out = json.loads(json.dumps(task.to_json(points)))
    assert out == {"unit": "crop", "points": {name: [0.5, 0.5] for name in MTFL_POINTS}}
    pixels = task.to_json(points, size=(20, 10))
    assert pixels["unit"] == "pixels" and pixels["points"]["nose"] == [10.0, 5.0]


def test_overlay_draws_prediction_white_and_truth_red(tmp_path):
    task = LandmarksTask(labels=LabelSchema(kind="points", names=("a",)))
    image = Image.new("RGB", (40, 40))
    target = {"points": torch.tensor([[0.25, 0.25]])}
    task.draw_overlay(image, torch.tensor([[0.5, 0.5]]), target).save(tmp_path / "o.png")
    pixels = np.asarray(Image.open(tmp_path / "o.png"))
    assert pixels[20, 20].tolist() == [255, 255, 255]
    assert pixels[10, 10].tolist() == [255, 0, 0]
    assert pixels[30, 30].tolist() == [0, 0, 0]
