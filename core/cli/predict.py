"""``ifan predict RUN_OR_CHECKPOINT IMAGE... --out DIR``: every task's prediction per photo."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ifan.cli.common import registry_from_args, report_broken
from ifan.cli.eval import add_checkpoint_arguments, positive
from ifan.data.crop import NO_DETECTOR
from ifan.data.images import image_size
from ifan.detection import get_detector
from ifan.errors import IfanError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="run a trained network on photos: JSON and overlay PNG each",
        description="Load a checkpoint (or a run folder's latest), find the faces of each photo "
        "and crop each by the model's crop rule ([model.crop]: the detector, margin and alignment "
        "it was trained with), and run every task on it. Writes "
        "DIR/<stem>.json with every face's box, score and task predictions, in the photo's "
        "pixels where the task can map back, and DIR/<stem>.png showing all faces and tasks on "
        "the photo. A photo where no face is found is predicted whole, letterboxed.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument("images", metavar="IMAGE", nargs="+", type=Path, help="photos")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the JSON and PNG files"
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
    parser.set_defaults(func=run)


def check_images(images: Sequence[Path]) -> None:
    """Fail before loading the network when a photo is unreadable or two share a file stem (their
    outputs would overwrite each other)."""
    seen: dict[str, Path] = {}
    for path in images:
        image_size(path)
        if path.stem in seen:
            raise IfanError(
                f"{seen[path.stem]} and {path} would both be written as {path.stem}.json and "
                f"{path.stem}.png: predict them into separate --out folders"
            )
        seen[path.stem] = path


def run(args: argparse.Namespace) -> int:
    from ifan.inference import load

    check_images(args.images)
    registry = registry_from_args(args)
    report_broken(registry)
    overrides = [f"model.crop.detector={args.detector}"] if args.detector else []
    predictor = load(args.checkpoint, args.device, overrides, registry=registry, bf16=args.bf16)
    rule = predictor.manifest.model.crop
    if args.detect and rule.detector != NO_DETECTOR:
        get_detector(registry, rule.detector)  # fail before any photo
    args.out.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(args.images), args.batch_size):
        paths = args.images[start : start + args.batch_size]
        for path, prediction in zip(
            paths,
            predictor.predict_batch(paths, args.batch_size, args.detect),
            strict=True,
        ):
            data = {**prediction.to_json(), "checkpoint": str(predictor.checkpoint)}
            json_path = args.out / f"{path.stem}.json"
            png_path = args.out / f"{path.stem}.png"
            json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            prediction.overlay().save(png_path)
            found = prediction.note or f"{len(prediction.faces)} face(s)"
            if prediction.detector is None:
                found = "whole photo"
            print(f"{path}: {found}; {json_path}, {png_path}")
    return 0
