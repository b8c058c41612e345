"""``ifan predict RUN_OR_CHECKPOINT INPUT... --out DIR``: every task's prediction for each face
of photos, folders of photos, videos and a camera (``--camera``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ifan.cli.common import add_set_argument, registry_from_args, warn_if_bf16_is_emulated
from ifan.cli.eval import add_checkpoint_arguments, positive
from ifan.data.crop import NO_DETECTOR
from ifan.detection import get_detector
from ifan.errors import IfanError
from ifan.face_table import face_rows, write_table
from ifan.inputs import Inputs, Skipped, check_outputs, find_inputs
from ifan.photos import PhotoRun
from ifan.progress import bar
from ifan.video import Camera, VideoSummary, annotate_video, camera, require_av

if TYPE_CHECKING:
    from ifan.inference import FacePrediction, Predictor


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="run a trained network on photos, folders and videos: JSON and overlays",
        description="Load a checkpoint (or a run folder's latest, or an installed pretrained "
        "model by name), find the faces of each photo and crop each by the model's crop rule "
        "([model.crop]: the detector, margin and alignment it was trained with), and run every "
        "task on it. Writes DIR/<stem>.json with every face's box, score and task predictions, "
        "in the photo's pixels where the task can map back, and DIR/<stem>.png showing all "
        "faces and tasks on the photo. A photo where no face is found is predicted whole, "
        "letterboxed. A folder is walked recursively for photos (by suffix, any case; other "
        "files are skipped), written as DIR/<path below the folder>.json and .png. A video file "
        "(.mp4, .mov, .mkv, .webm, .avi, ...; needs pip install 'ifan[video]') is written as "
        "DIR/<stem>.jsonl, one line per frame predicted, and DIR/<stem>.mp4, the frames "
        "annotated; so is a camera (--camera), as DIR/camera<N>.jsonl and .mp4, until Ctrl-C "
        "or --frames. Unreadable photos are skipped; a summary ends the output, and the exit "
        "status is 1 when nothing could be predicted.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument(
        "inputs",
        metavar="INPUT",
        nargs="*",
        type=Path,
        help="photos, folders of photos, video files",
    )
    parser.add_argument(
        "--camera",
        metavar="CAMERA",
        help="also predict a camera's frames: its index (0: /dev/video0 on Linux, AVFoundation's "
        "device 0 on macOS) or FORMAT:URL, an FFmpeg input device ('dshow:video=Integrated "
        "Camera' on Windows); until Ctrl-C or --frames",
    )
    parser.add_argument(
        "--frames",
        type=positive,
        metavar="N",
        help="stop a camera after N frames predicted (default: at Ctrl-C)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the outputs"
    )
    parser.add_argument(
        "--table",
        type=Path,
        metavar="FILE",
        help="also write every face predicted as one row of a CSV file: the photo or video "
        "frame, the face's box and score, and each task's fields as columns (e.g. "
        "landmarks.points.nose.x, emotion.label, parsing.fractions.skin)",
    )
    parser.add_argument(
        "--every",
        type=positive,
        default=1,
        metavar="N",
        help="predict every Nth frame of a video, the first included (1: every frame)",
    )
    parser.add_argument(
        "--batch-size", type=positive, default=16, metavar="N", help="faces per batch (16)"
    )
    parser.add_argument(
        "--no-detect",
        dest="detect",
        action="store_false",
        help="predict each photo whole, letterboxed, as one face (for photos of one face)",
    )
    parser.add_argument(
        "--detector",
        metavar="NAME",
        help="another face detector than the model's crop rule names (from a plugin's "
        "ifan_face_detectors hook); the crops then differ from those the model was trained on",
    )
    add_set_argument(
        parser,
        "change how the model runs, as in its manifest, e.g. --set model.test_flip=false "
        "(repeatable)",
    )
    parser.set_defaults(func=run, late_positionals="inputs")


def run(args: argparse.Namespace) -> int:
    from ifan.inference import load

    source = camera(args.camera) if args.camera is not None else None
    if args.frames is not None and source is None:
        raise IfanError("--frames counts a camera's frames: give --camera too")
    # every input checked before the network is loaded
    inputs = find_inputs(args.inputs) if args.inputs or source is None else Inputs()
    check_outputs(inputs, args.out)
    if inputs.videos or source is not None:
        require_av()
    registry = registry_from_args(args)
    overrides = [f"model.crop.detector={args.detector}"] if args.detector else []
    overrides += args.overrides
    predictor = load(args.checkpoint, args.device, overrides, registry=registry, bf16=args.bf16)
    warn_if_bf16_is_emulated(predictor)
    rule = predictor.manifest.model.crop
    if args.detect and rule.detector != NO_DETECTOR:
        get_detector(registry, rule.detector)  # fail before any photo
    args.out.mkdir(parents=True, exist_ok=True)
    photos = PhotoRun(predictor, inputs.photos, args.batch_size, args.detect, inputs.skipped)
    written = predict_photos(photos, args.out)
    videos = []
    for file in inputs.videos:
        jsonl, video = file.output(args.out, ".jsonl"), file.output(args.out, ".mp4")
        done = annotate_video(
            predictor, file.path, jsonl, video, args.every, args.batch_size, args.detect
        )
        print(
            f"{file.path}: {done.predicted} of {done.decoded} frame(s), {done.faces} face(s); "
            f"{jsonl}, {video}"
        )
        videos.append(done)
    if source is not None:
        videos.append(predict_camera(predictor, source, args))
    print(summary(photos, videos))
    if args.table is not None:
        faces = write_table(table_rows(written, videos), args.table)
        print(f"table: {args.table} ({faces} face(s), one a row)")
    return 0 if photos.predicted or any(v.predicted for v in videos) else 1


def predict_camera(predictor: Predictor, source: Camera, args: argparse.Namespace) -> VideoSummary:
    """Predict the camera's frames to DIR/<camera>.jsonl and .mp4 until Ctrl-C or --frames."""
    jsonl, video = args.out / f"{source.name}.jsonl", args.out / f"{source.name}.mp4"
    if args.frames is None:
        print(f"predicting {source.url} ({source.format}) until Ctrl-C")
    done = annotate_video(
        predictor, source, jsonl, video, args.every, args.batch_size, args.detect,
        limit=args.frames,
    )  # fmt: skip
    stopped = ", stopped by Ctrl-C" if done.interrupted else ""
    print(
        f"{source.url}: {done.predicted} frame(s), {done.faces} face(s){stopped}; {jsonl}, {video}"
    )
    return done


def predict_photos(photos: PhotoRun, out: Path) -> list[Path]:
    """Predict and save every photo of ``photos``, a line each, under a progress bar; the JSON
    files written, in order."""
    written = []
    with bar(total=len(photos.files), desc="predicting", unit="photo") as shown:
        for file, prediction in photos:
            json_path, png_path = photos.save(file, prediction, out)
            written.append(json_path)
            shown.write(f"{file.path}: {found(prediction)}; {json_path}, {png_path}")
            shown.update(photos.done - shown.n)
    return written


def table_rows(photos: Sequence[Path], videos: Sequence[VideoSummary]) -> Iterator[dict]:
    """The faces of the JSON files written for ``photos`` and the JSON lines of ``videos``, as
    rows of ``--table`` (read back: the table holds just what the JSON says)."""
    for path in photos:
        yield from face_rows(json.loads(path.read_text(encoding="utf-8")))
    for video in videos:
        with open(video.jsonl, encoding="utf-8") as lines:
            for line in lines:
                yield from face_rows(json.loads(line), video=str(video.source))


def found(prediction: FacePrediction) -> str:
    """What was predicted on a photo: its faces, or the whole photo and why."""
    if prediction.detector is None:
        return "whole photo"
    return prediction.note or f"{len(prediction.faces)} face(s)"


def summary(photos: PhotoRun, videos: Sequence[VideoSummary]) -> str:
    """The last lines of ``ifan predict``: what was predicted, then each file skipped and why
    (files skipped for one reason together)."""
    done = []
    if photos.files or not videos:
        done.append(f"{photos.predicted} photo(s) with {photos.faces} face(s)")
    if videos:
        frames = sum(v.predicted for v in videos)
        faces = sum(v.faces for v in videos)
        done.append(f"{len(videos)} video(s): {frames} frame(s) with {faces} face(s)")
    lines = ["predicted " + "; ".join(done)]
    if photos.skipped:
        lines.append(f"skipped {len(photos.skipped)} file(s):")
        lines += [f"  {line}" for line in _skip_lines(photos.skipped)]
    return "\n".join(lines)


def _skip_lines(skipped: Sequence[Skipped]) -> list[str]:
    by_reason: dict[str, list[Path]] = {}
    for skip in skipped:
        by_reason.setdefault(skip.reason, []).append(skip.path)
    lines = []
    for reason, paths in by_reason.items():
        if len(paths) == 1:
            lines.append(f"{paths[0]}: {reason}")
        else:
            shown = ", ".join(map(str, paths[:3])) + (", ..." if len(paths) > 3 else "")
            lines.append(f"{len(paths)} files, {reason}: {shown}")
    return lines
