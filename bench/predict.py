"""Faces per second of ``ifan predict``'s pipeline on this CPU, in float32 and bfloat16: the
photos of a folder and the frames of a video, each through the path the command takes (reading,
face detection, crop, network, drawing, writing the JSON and the pictures or the annotated
video), with the share of each stage.

The video is made here (``--work``, never the repository): ``--frames`` frames of 640 x 480 at
25 per second zooming and panning over ``--pan``, a photo. The model is the shipped
``faces3`` weights file (``--model`` takes a name, run folder or checkpoint). The four cases run
interleaved (each once as a warm-up, then ``--repeats`` rounds in a fresh random order); a case's
time is its median. Two more cases measure this pipeline's last changes as a before/after ratio:
the float32 photos and video again as they ran before, with the previous ``class_map`` (kept
here as the baseline: the crop's scores resized onto the whole photo, then an argmax over every
pixel; its JSON is checked to equal the current one, which takes scores and argmax only where
the face's box lies) and the overlays written at Pillow's default PNG level (6, now 1).
Stage shares come from timers around the pipeline's own functions
(``detect_faces``, ``Predictor._predict_faces`` for crop and network,
``FacePrediction.drawings``), summed over the timed runs; the rest is reading, writing and
encoding.

    .venv/bin/python -m bench.predict
    .venv/bin/python -m bench.predict --frames 4 --repeats 1 --out /tmp/bench   # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from bench.lib import options
from bench.lib.paths import DATA, ROOT
from bench.lib.results import command_line, header, write_results
from bench.lib.timing import interleaved
from bench.reports import predict as report
from ifan import inference
from ifan import photos as photo_files
from ifan.data.images import Box, letterbox
from ifan.inputs import find_inputs
from ifan.outputs import masks
from ifan.photos import PhotoRun
from ifan.video import annotate_video, require_av

FACES3 = ROOT / "plugins" / "ifan-model-faces3" / "src" / "ifan_model_faces3" / "faces3.safetensors"
VIDEO_SIZE = (640, 480)
VIDEO_RATE = 25
STAGES: dict[str, tuple[Any, str]] = {
    "detection": (inference, "detect_faces"),
    "crop and network": (inference.Predictor, "_predict_faces"),
    "drawing": (inference.FacePrediction, "drawings"),
}
"""Each stage timed, as the function the pipeline calls for it: (its owner, its name)."""
PRECISIONS = {"float32": False, "bf16": True}
BEFORE = report.BEFORE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The model, the photos, the video, the batch, the repetitions and where the results go."""
    parser = options.parser(__doc__)
    parser.add_argument("--model", default=str(FACES3), help="a model name, run or checkpoint")
    parser.add_argument("--photos", type=Path, default=DATA / "faces")
    parser.add_argument("--pan", type=Path, default=ROOT / "examples" / "photos" / "einstein.jpg")
    parser.add_argument("--frames", type=int, default=100, help="frames of the video (100)")
    parser.add_argument("--batch-size", type=int, default=16, help="faces per batch (16)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (3)")
    options.add_threads(parser, 1, "torch threads (1)")
    options.add_work(parser, ROOT / "build" / "bench-predict", "where the video and outputs go")
    options.add_out(parser)
    options.add_name(parser, "predict")
    return parser.parse_args(argv)


def pan_video(photo: Path, path: Path, frames: int) -> Path:
    """``frames`` frames of ``VIDEO_SIZE`` over ``photo``: from its full width, zooming in by a
    third towards its left edge (where the face of ``examples/photos/einstein.jpg`` is)."""
    av = require_av()
    source = Image.open(photo).convert("RGB")
    width, height = VIDEO_SIZE
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=VIDEO_RATE)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            t = index / max(1, frames - 1)
            side = source.width * (1 - t / 3)  # the window's width, from the whole photo
            x = (source.width - side) / 2 * (1 - t)
            y = min(source.height - side * height / width, source.height * 0.1)
            window = (x, max(0.0, y), x + side, max(0.0, y) + side * height / width)
            frame = source.resize(VIDEO_SIZE, Image.Resampling.BILINEAR, box=window)
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _timed(function: Callable, stage: str, seconds: dict[str, float]) -> Callable:
    """``function``, adding the seconds of each call to ``seconds[stage]``."""

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[stage] += time.perf_counter() - start

    return timed


@contextlib.contextmanager
def stage_times() -> Iterator[dict[str, float]]:
    """Seconds spent in each of ``STAGES`` while inside, by timers put around their functions."""
    seconds = dict.fromkeys(STAGES, 0.0)
    originals = {stage: getattr(owner, name) for stage, (owner, name) in STAGES.items()}
    for stage, (owner, name) in STAGES.items():
        setattr(owner, name, _timed(originals[stage], stage, seconds))
    try:
        yield seconds
    finally:
        for stage, (owner, name) in STAGES.items():
            setattr(owner, name, originals[stage])


def whole_photo_class_map(
    logits: torch.Tensor, size: tuple[int, int] | None = None, box: Box | None = None
) -> torch.Tensor:
    """The previous ``ifan.outputs.masks.class_map`` (until this benchmark): the crop's scores
    resized onto the whole ``size`` photo, zero outside the box, then the argmax of every pixel."""
    logits = logits.detach().float().cpu()
    if logits.dim() == 4 and logits.shape[0] == 1:
        logits = logits[0]
    if size is None:
        return logits.argmax(dim=0)
    box, (width, height) = box or letterbox(*size), size
    if box.angle:
        ys, xs = torch.meshgrid(
            torch.arange(height, dtype=torch.float32) + 0.5,
            torch.arange(width, dtype=torch.float32) + 0.5,
            indexing="ij",
        )
        crop = box.to_crop(torch.stack([xs.flatten(), ys.flatten()], dim=1)).reshape(
            height, width, 2
        )
        inside = ((crop >= 0) & (crop < 1)).all(dim=-1)
        grid = (crop * 2 - 1)[None]
        out = F.grid_sample(logits[None], grid, padding_mode="border", align_corners=False)
        return (out[0] * inside).argmax(dim=0)
    scaled = F.interpolate(logits[None], size=(box.side, box.side), mode="bilinear")[0]
    pads = (box.x0, width - box.x0 - box.side, box.y0, height - box.y0 - box.side)
    return F.pad(scaled, pads).argmax(dim=0)


def as_before(run: Callable[[], dict[str, int]]) -> Callable:
    """``run`` as the pipeline ran before: :func:`whole_photo_class_map` for
    ``ifan.outputs.masks.class_map``, and overlays at Pillow's default PNG level."""

    def before() -> dict[str, int]:
        class_map, level = masks.class_map, photo_files.OVERLAY_PNG_LEVEL
        masks.class_map, photo_files.OVERLAY_PNG_LEVEL = whole_photo_class_map, 6
        try:
            return run()
        finally:
            masks.class_map, photo_files.OVERLAY_PNG_LEVEL = class_map, level

    return before


def same_outputs(now: Path, before: Path) -> None:
    """Stop when the baseline's JSON differs from the current one's: the ratio would be stale."""
    files = sorted(p.relative_to(now) for p in now.rglob("*.json*"))
    differ = [f for f in files if (now / f).read_bytes() != (before / f).read_bytes()]
    if not files or differ:
        raise SystemExit(f"the previous class_map's JSON differs in {differ or 'no files'}")


def photo_case(predictor: inference.Predictor, photos: Path, out: Path, batch: int) -> Callable:
    """One run of ``ifan predict MODEL PHOTOS``: every photo predicted and saved."""

    def run() -> dict[str, int]:
        found = find_inputs([photos])
        photo_run = PhotoRun(predictor, found.photos, batch, True, found.skipped)
        for file, prediction in photo_run:
            photo_run.save(file, prediction, out)
        return {"inputs": photo_run.predicted, "faces": photo_run.faces}

    return run


def video_case(predictor: inference.Predictor, video: Path, out: Path, batch: int) -> Callable:
    """One run of ``ifan predict MODEL VIDEO``: every frame predicted, the JSON lines and the
    annotated video written."""

    def run() -> dict[str, int]:
        done = annotate_video(
            predictor, video, out / "pan.jsonl", out / "pan.mp4", 1, batch, progress=False
        )
        return {"inputs": done.predicted, "faces": done.faces}

    return run


def measure(args: argparse.Namespace, video: Path) -> dict[str, Any]:
    """Every case's times, counts and stage seconds (the timed runs only)."""
    runs: dict[str, Callable] = {}
    for precision, bf16 in PRECISIONS.items():
        predictor = inference.load(args.model, "cpu", bf16=bf16)
        out = args.work / precision
        runs[f"photos, {precision}"] = photo_case(predictor, args.photos, out, args.batch_size)
        runs[f"video, {precision}"] = video_case(predictor, video, out, args.batch_size)
        if not bf16:
            before = args.work / "before"
            photos = photo_case(predictor, args.photos, before, args.batch_size)
            frames = video_case(predictor, video, before, args.batch_size)
            runs[f"photos, {BEFORE}"] = as_before(photos)
            runs[f"video, {BEFORE}"] = as_before(frames)
    counts: dict[str, dict[str, int]] = {}
    stages: dict[str, list[dict[str, float]]] = {name: [] for name in runs}

    def timed(name: str) -> Callable[[], None]:
        def run() -> None:
            with stage_times() as seconds:
                counts[name] = runs[name]()
            stages[name].append(seconds)

        return run

    times = interleaved({name: timed(name) for name in runs}, args.repeats, seed=0)
    same_outputs(args.work / "float32", args.work / "before")
    cases = {}
    for name, seconds in times.items():
        median = statistics.median(seconds)
        spent = {s: sum(run[s] for run in stages[name][1:]) for s in STAGES}  # [0]: warm-up
        cases[name] = {
            **counts[name],
            "seconds": seconds,
            "median_seconds": median,
            "faces_per_second": counts[name]["faces"] / median,
            "inputs_per_second": counts[name]["inputs"] / median,
            "stage_share": {s: value / sum(seconds) for s, value in spent.items()},
        }
    return cases


def main(argv: list[str] | None = None) -> int:
    """Time every case and write the results."""
    args = parse_args(argv)
    if not args.photos.is_dir():
        raise SystemExit(f"{args.photos}: no such folder of photos; give --photos")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    video = pan_video(args.pan, args.work / "pan.mp4", args.frames)
    result: dict[str, Any] = {
        "command": command_line("predict", argv),
        **header(args.threads),
        "settings": {
            "model": args.model,
            "photos": str(args.photos),
            "video": f"{args.frames} frames of {VIDEO_SIZE[0]} x {VIDEO_SIZE[1]} over {args.pan}",
            "batch_size": args.batch_size,
            "repeats": args.repeats,
        },
        "cases": measure(args, video),
    }
    result["seconds"] = time.perf_counter() - started
    write_results(args.out, args.name, result, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
