"""Shared data helpers: list files (ifan.data.lists), image loading and square crops
(ifan.data.images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.data.errors import DatasetError
from ifan.data.images import (
    Box,
    as_rgb,
    box_around,
    crop_square,
    letterbox,
    load_rgb,
    open_image,
    uncrop,
)
from ifan.data.lists import read_lines


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


def test_sixteen_bit_greys_are_scaled_to_eight_bits_not_clipped_to_white(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode == "I;16"
    rgb = np.asarray(load_rgb(tmp_path / "grey16.png"))
    assert rgb.shape == (1, 4, 3) and rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (rgb[..., 0] == rgb[..., 2]).all()
    small = Image.fromarray(np.array([[0, 100, 255]], dtype=np.int32), "I")  # 8-bit values
    assert np.asarray(as_rgb(small))[0, :, 1].tolist() == [0, 100, 255]
