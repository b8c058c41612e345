"""Video in and out for ``ifan predict``, through PyAV (FFmpeg's libraries; the ``av`` package,
``pip install 'ifan[video]'``).

:class:`VideoReader` decodes a video file's frames, or a camera's (:func:`camera`), every one or
every ``every``-th;
:class:`AnnotatedVideo` writes each frame's prediction drawn as on a photo (H.264 where the PyAV
build has libx264, else MPEG-4); :func:`annotate_video` does both with the network between them,
the frames going through the same batched pipeline as photos
(:meth:`ifan.inference.Predictor.predict_keyed`: detection, crop, network) and one JSON line per
frame predicted. PyAV is imported on first use, so ifan works without it until a video is read.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PIL import Image

from ifan.errors import IfanError
from ifan.progress import bar as progress_bar

if TYPE_CHECKING:
    from ifan.inference import FacePrediction, Predictor

INSTALL_HINT = "pip install 'ifan[video]'"
DEFAULT_RATE = Fraction(25)
"""Frames per second assumed for a video that does not say its own."""
BACKGROUND = (255, 255, 255)


def require_av() -> ModuleType:
    """The ``av`` module, or an :class:`IfanError` that says how to install it."""
    try:
        import av
    except ImportError:
        raise IfanError(
            f"reading and writing video needs PyAV (the av package): {INSTALL_HINT}"
        ) from None
    return av


@dataclass(frozen=True)
class Frame:
    """One decoded frame of a video."""

    index: int
    """Its number in the video, from 0, counting every frame (also those not predicted)."""
    time: float
    """Seconds from the start of the video."""
    image: Image.Image = field(repr=False)
    """The frame in RGB."""


@dataclass(frozen=True)
class Camera:
    """A live video source as FFmpeg opens it: ``url`` in the input format ``format``."""

    url: str
    format: str
    name: str
    """The stem of its outputs (``camera0``)."""


CAMERA_FORMATS = {"linux": "v4l2", "darwin": "avfoundation"}
"""FFmpeg's camera input format by ``sys.platform``, where a camera has an index."""
_FORMAT_URL = re.compile(r"([a-z0-9_]+):(.+)")


def camera(spec: str, platform: str = sys.platform) -> Camera:
    """The camera ``spec`` names: an index (``0``: ``/dev/video0`` through v4l2 on Linux, device
    0 of AVFoundation on macOS), a Linux device path (``/dev/video2``), or ``FORMAT:URL``, any
    FFmpeg input device (``v4l2:/dev/video2``, ``dshow:video=Integrated Camera`` on Windows,
    ``lavfi:testsrc=rate=10``, a test pattern)."""
    if spec.isdigit():
        if platform not in CAMERA_FORMATS:
            raise IfanError(
                f"--camera {spec}: cameras are numbered on Linux and macOS only; on this system "
                f"({platform}) name one by FFmpeg's input device, e.g. --camera 'dshow:video="
                "Integrated Camera' (ffmpeg -list_devices true -f dshow -i dummy lists them)"
            )
        url = f"/dev/video{spec}" if platform == "linux" else spec
        return Camera(url, CAMERA_FORMATS[platform], f"camera{spec}")
    if spec.startswith("/dev/"):
        return Camera(spec, "v4l2", Path(spec).name)
    match = _FORMAT_URL.fullmatch(spec)
    if match is None:
        raise IfanError(
            f"--camera {spec!r}: expected a camera index (0) or FORMAT:URL, an FFmpeg input "
            "device such as v4l2:/dev/video2 or dshow:video=Integrated Camera"
        )
    return Camera(match[2], match[1], "camera")


TURNS = {
    90: Image.Transpose.ROTATE_90,
    -90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    -180: Image.Transpose.ROTATE_180,
}
"""A frame's display rotation (degrees counter-clockwise) -> the transpose that shows it."""


def upright_frame(frame: Any) -> Image.Image:
    """A decoded PyAV frame as players show it: turned by its display matrix's rotation, which a
    phone sets on a portrait video instead of storing it upright (a sideways face is not found)."""
    image = frame.to_image()
    turn = TURNS.get(round(getattr(frame, "rotation", 0) or 0))
    return image.transpose(turn) if turn is not None else image


class VideoReader:
    """The frames of a video file or a :class:`Camera`, every one or every ``every``-th (the
    first included), at most ``limit`` of them (None: to the end, or for a camera until
    interrupted), decoded by PyAV; use it as a context manager, which closes the file. ``rate``
    is the video's frames per second (:data:`DEFAULT_RATE` when it does not say), ``expected``
    the frames it will yield when known (else None), and ``decoded`` counts the frames decoded
    so far."""

    def __init__(
        self, path: str | os.PathLike[str] | Camera, every: int = 1, limit: int | None = None
    ):
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self._av = require_av()
        self.path = Path(path) if not isinstance(path, Camera) else Path(path.name)
        self.every = every
        self.limit = limit
        try:
            if isinstance(path, Camera):
                self._container = self._av.open(path.url, format=path.format)
            else:
                self._container = self._av.open(str(self.path))
        except self._av.error.FFmpegError as exc:
            if isinstance(path, Camera):
                raise IfanError(
                    f"camera {path.url} ({path.format}) cannot be opened ({exc}): is it "
                    "connected, and not in use by another program?"
                ) from None
            raise IfanError(f"{path}: not a readable video ({exc})") from None
        except ValueError as exc:  # an input format this FFmpeg build lacks
            raise IfanError(f"camera {path}: {exc}; this PyAV build cannot read it") from None
        if not self._container.streams.video:
            self._container.close()
            raise IfanError(f"{path}: has no video stream; expected a video file")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"  # decode on several threads where the codec can
        self.rate = Fraction(self._stream.average_rate or DEFAULT_RATE)
        frames = self._stream.frames  # 0 when the container does not say
        self.expected = math.ceil(frames / every) if frames else None
        if limit is not None:
            self.expected = min(self.expected or limit, limit)
        self.decoded = 0
        self.yielded = 0

    def __iter__(self) -> Iterator[Frame]:
        stream = self._stream
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        try:
            for frame in self._container.decode(stream):
                index = self.decoded
                self.decoded += 1
                if index % self.every:
                    continue
                time = frame.time - start if frame.time is not None else index / self.rate
                yield Frame(index, float(time), upright_frame(frame))
                self.yielded += 1
                if self.limit is not None and self.yielded >= self.limit:
                    return
        except self._av.error.FFmpegError as exc:
            raise IfanError(
                f"{self.path}: cannot decode frame {self.decoded} ({exc}); the frames before it "
                "were predicted"
            ) from None

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AnnotatedVideo:
    """A video written frame by frame from predictions, at ``rate`` frames per second: each
    frame's :meth:`~ifan.inference.FacePrediction.drawings`, the frame with its faces drawn on
    it and, to its right, the drawings beside the faces (the emotion panel) fitted into a column
    as wide as the first frame's, so that every frame has the first one's size. The file is
    made when the first frame is added; use it as a context manager, which finishes it."""

    def __init__(self, path: str | Path, rate: Fraction):
        self._av = require_av()
        self.path = Path(path)
        self.rate = rate
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._column = 0

    def add(self, prediction: FacePrediction) -> None:
        """Draw ``prediction`` and append it as the next frame."""
        picture, beside = prediction.drawings()
        if self._stream is None:
            self._column = beside.width if beside is not None else 0
            self._open(picture.width + self._column, picture.height)
        canvas = Image.new("RGB", (self._stream.width, self._stream.height), BACKGROUND)
        canvas.paste(picture, (0, 0))
        if beside is not None and self._column:
            scale = min(1.0, self._column / beside.width, picture.height / beside.height)
            if scale < 1:
                size = (max(1, round(beside.width * scale)), max(1, round(beside.height * scale)))
                beside = beside.resize(size, Image.Resampling.BILINEAR)
            canvas.paste(beside, (canvas.width - self._column, 0))
        frame = self._av.VideoFrame.from_image(canvas)
        frame.pts = self.frames
        self._mux(frame)
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        codec = "libx264" if "libx264" in self._av.codecs_available else "mpeg4"
        self._container = self._av.open(str(self.path), "w")
        stream = self._container.add_stream(codec, rate=self.rate)
        # yuv420p, which every player reads, needs even sides: a white pixel row or column more
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "20", "preset": "veryfast"}
        else:
            stream.bit_rate = max(1_000_000, 4 * width * height)
        self._stream = stream

    def _mux(self, frame: Any) -> None:
        """Encode ``frame`` (None: flush the encoder) and write its packets."""
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is not None:
            self._mux(None)
            self._container.close()
            self._container = None

    def __enter__(self) -> AnnotatedVideo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class VideoSummary:
    """What :func:`annotate_video` did with one video."""

    source: Path
    decoded: int
    """Frames in the video (decoded, predicted or not)."""
    predicted: int
    faces: int
    jsonl: Path
    video: Path
    """The annotated video; not written when no frame was predicted."""
    interrupted: bool = False
    """Stopped by Ctrl-C (a camera's usual end); the frames before it are written."""


def annotate_video(
    predictor: Predictor,
    source: str | Path | Camera,
    jsonl: str | Path,
    video: str | Path,
    every: int = 1,
    batch_size: int = 16,
    detect: bool = True,
    progress: bool = True,
    limit: int | None = None,
) -> VideoSummary:
    """Predict every ``every``-th frame of ``source`` (a file or a :class:`Camera`; at most
    ``limit`` frames, and until Ctrl-C, which ends the outputs cleanly: the frames of the batch
    being predicted then are lost); write one JSON line per frame predicted
    to ``jsonl`` (``"frame"``, its index, and ``"time"``, in seconds, then the photo JSON of
    :meth:`~ifan.inference.FacePrediction.to_json`) and the annotated frames to ``video``, at
    the source's frame rate over ``every``, so that it lasts as long as the source.
    ``progress`` shows a bar over the frames (:func:`ifan.progress.bar`: a few plain lines in a
    log)."""
    jsonl, video = Path(jsonl), Path(video)
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    interrupted = False
    with (
        VideoReader(source, every, limit) as reader,
        AnnotatedVideo(video, reader.rate / every) as annotated,
        open(jsonl, "w", encoding="utf-8") as lines,
        progress_bar(
            total=reader.expected, desc=reader.path.name, unit="frame", enabled=progress
        ) as bar,
    ):
        faces = 0
        frames = ((frame, frame.image) for frame in reader)
        try:
            for frame, prediction in predictor.predict_keyed(frames, batch_size, detect):
                record = {"frame": frame.index, "time": round(frame.time, 6)}
                lines.write(json.dumps({**record, **prediction.to_json()}) + "\n")
                annotated.add(prediction)
                faces += len(prediction.faces)
                bar.update()
        except KeyboardInterrupt:
            interrupted = True
    return VideoSummary(
        reader.path, reader.decoded, annotated.frames, faces, jsonl, video, interrupted
    )
