"""``ifan predict RUN VIDEO`` and ``Predictor.predict_video``: a video's frames (every one or
every Nth) through the batched pipeline, one JSON line per frame predicted and an annotated
video with as many frames; without PyAV, an error that names the extra to install."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ifan
from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.video import VideoReader
from ifan_tasks.synthetic.real_layout import drawn_photo
from ifan_tasks.synthetic.writer import TASKS

av = pytest.importorskip("av")  # the `video` extra; CI installs it with `test`

FRAMES = 7
RATE = 10


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``FRAMES`` frames at ``RATE`` per second of the drawn face, moving right a little each."""
    path = tmp_path_factory.mktemp("video") / "face.mp4"
    photo = drawn_photo()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=RATE)  # in every FFmpeg build
        stream.width, stream.height, stream.pix_fmt = photo.width, photo.height, "yuv420p"
        stream.bit_rate = 4_000_000
        for index in range(FRAMES):
            frame = Image.new("RGB", photo.size, (90, 110, 140))
            frame.paste(photo, (5 * index, 0))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def decoded(path: Path) -> tuple[list[Image.Image], Fraction]:
    """Every frame of a video file and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.to_image() for frame in container.decode(stream)], stream.average_rate


def test_every_nth_frame_gives_a_json_line_and_an_annotated_frame(
    capsys, run_dir, video, tmp_path
) -> None:
    out = tmp_path / "out"
    argv = [str(run_dir), str(video), "--out", str(out), "--every", "3", "--device", "cpu"]
    code = main(["predict", *argv, "--batch-size", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"{video}: 3 of 7 frame(s), 3 face(s); {out / 'face.jsonl'}, {out / 'face.mp4'}" in (
        captured.out
    )
    assert captured.out.endswith("predicted 1 video(s): 3 frame(s) with 3 face(s)\n")
    lines = [json.loads(line) for line in (out / "face.jsonl").read_text().splitlines()]
    assert [(line["frame"], line["time"]) for line in lines] == [(0, 0.0), (3, 0.3), (6, 0.6)]
    for line in lines:
        assert (line["width"], line["height"], line["detector"]) == (400, 200, "yuface")
        assert "note" not in line  # the drawn face was found in every frame
        assert len(line["faces"]) == 1 and set(line["faces"][0]["tasks"]) == set(TASKS)
    xs = [line["faces"][0]["box"][0] for line in lines]
    assert xs[0] < xs[1] < xs[2]  # the face moves right
    frames, rate = decoded(out / "face.mp4")
    assert len(frames) == 3 and rate == Fraction(RATE, 3)  # it lasts as long as the source
    overlay = frames[0]
    assert overlay.height == 200 and overlay.width > 400  # the emotion panel beside the frame
    assert all(frame.size == overlay.size for frame in frames)


def test_predict_video_in_python_and_the_reader(run_dir, video) -> None:
    predictor = ifan.load(run_dir, device="cpu")
    results = list(predictor.predict_video(video, every=2, batch_size=3))
    assert [(frame.index, frame.time) for frame, _ in results] == [
        (0, 0.0),
        (2, 0.2),
        (4, 0.4),
        (6, 0.6),
    ]
    for frame, prediction in results:
        alone = predictor.predict(frame.image)
        assert prediction.faces[0].box == alone.faces[0].box
        emotion = prediction.tasks["emotion"].raw
        assert emotion.allclose(alone.tasks["emotion"].raw, atol=1e-5)
    with VideoReader(video) as reader:
        assert (reader.rate, reader.expected) == (RATE, FRAMES)
        assert len(list(reader)) == reader.decoded == FRAMES


def test_without_pyav_the_error_names_the_extra(capsys, run_dir, video, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    out = tmp_path / "out"
    code = main(["predict", str(run_dir), str(video), "--out", str(out), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()  # refused before anything was loaded or written
    assert err == (
        "error: reading and writing video needs PyAV (the av package): pip install 'ifan[video]'\n"
    )
    with pytest.raises(IfanError, match=r"pip install 'ifan\[video\]'"):
        next(ifan.load(run_dir, device="cpu").predict_video(video))


def test_a_file_that_is_no_video_is_named(capsys, run_dir, tmp_path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"no video inside")
    code = main(["predict", str(run_dir), str(fake), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {fake}: not a readable video (")


def test_a_phone_video_stored_sideways_is_read_upright(capsys, run_dir, tmp_path) -> None:
    path = tmp_path / "phone.mp4"
    photo = drawn_photo()  # 400 x 200, one face
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=RATE)
        sideways = photo.transpose(Image.Transpose.ROTATE_90)  # stored a quarter to the left
        stream.width, stream.height, stream.pix_fmt = sideways.width, sideways.height, "yuv420p"
        stream.set_display_rotation(-90)  # shown a quarter to the right: upright
        for packet in stream.encode(av.VideoFrame.from_image(sideways)):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with VideoReader(path) as reader:
        (frame,) = list(reader)
    assert frame.image.size == photo.size
    difference = np.abs(np.asarray(frame.image, np.int16) - np.asarray(photo, np.int16))
    assert difference.mean() < 8  # MPEG-4 at its default rate
    out = tmp_path / "out"
    code = main(["predict", str(run_dir), str(path), "--out", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    (line,) = [json.loads(text) for text in (out / "phone.jsonl").read_text().splitlines()]
    assert (line["width"], line["height"]) == (400, 200)
    assert "note" not in line and len(line["faces"]) == 1  # the face was found upright
