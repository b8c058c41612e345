"""``ifan predict RUN --camera CAMERA``: a camera named by index or as an FFmpeg input device, its
frames through the video pipeline until ``--frames`` (or Ctrl-C); an FFmpeg test pattern stands
in for the camera, which CI has none of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.video import Camera, VideoReader, camera
from tests.inference.tiny_run import untrained_run, write_data

av = pytest.importorskip("av")  # the `video` extra; CI installs it with `test`
PATTERN = "lavfi:testsrc=size=96x72:rate=5"
"""FFmpeg's endless test pattern, 5 frames a second: a camera that never stops by itself."""


@pytest.mark.parametrize(
    ("spec", "platform", "expected"),
    [
        ("0", "linux", Camera("/dev/video0", "v4l2", "camera0")),
        ("2", "darwin", Camera("2", "avfoundation", "camera2")),
        ("v4l2:/dev/video3", "linux", Camera("/dev/video3", "v4l2", "camera")),
        ("/dev/video1", "linux", Camera("/dev/video1", "v4l2", "video1")),
        ("dshow:video=Cam", "win32", Camera("video=Cam", "dshow", "camera")),
    ],
)  # fmt: skip
def test_a_camera_by_index_or_ffmpeg_device(spec, platform, expected) -> None:
    assert camera(spec, platform) == expected


def test_a_camera_index_on_windows_and_a_bad_spec_say_what_to_give() -> None:
    with pytest.raises(IfanError, match="--camera 'dshow:video=Integrated Camera'"):
        camera("0", "win32")
    with pytest.raises(IfanError, match=r"expected a camera index \(0\) or FORMAT:URL"):
        camera("webcam")


def test_a_missing_camera_is_a_clear_error() -> None:
    with pytest.raises(
        IfanError, match=r"camera /dev/video99 \(v4l2\) cannot be opened .*connected"
    ):
        VideoReader(Camera("/dev/video99", "v4l2", "camera99"))


def test_a_camera_stops_after_the_frames_asked_for(tmp_path: Path, capsys) -> None:
    run = untrained_run(write_data(tmp_path / "data"), tmp_path / "run")
    out = tmp_path / "out"
    args = ["predict", str(run), "--camera", PATTERN, "--frames", "4", "--every", "2"]
    assert main([*args, "--out", str(out), "--no-detect"]) == 0
    lines = [json.loads(line) for line in (out / "camera.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == [0, 2, 4, 6]
    assert [line["time"] for line in lines] == pytest.approx([0.0, 0.4, 0.8, 1.2])
    with av.open(str(out / "camera.mp4")) as container:
        stream = container.streams.video[0]
        assert len(list(container.decode(stream))) == 4
        assert stream.average_rate == 2.5  # the camera's 5 frames a second over --every 2
    printed = capsys.readouterr().out
    assert "testsrc=size=96x72:rate=5: 4 frame(s), 4 face(s);" in printed
    assert "predicted 1 video(s): 4 frame(s) with 4 face(s)" in printed


def test_frames_without_a_camera_is_refused(tmp_path: Path, capsys) -> None:
    assert (
        main(["predict", str(tmp_path), str(tmp_path), "--out", str(tmp_path), "--frames", "3"])
        == 2
    )
    assert "--frames counts a camera's frames: give --camera too" in capsys.readouterr().err
