"""``ifan features RUN --task T (INPUT... | --split SPLIT) --out FILE``: each face's feature
vector from a task's decoder, saved as safetensors."""

from __future__ import annotations

import argparse
from pathlib import Path

from ifan.cli.common import registry_from_args, warn_if_bf16_is_emulated
from ifan.cli.eval import add_checkpoint_arguments, positive


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features",
        help="save each face's feature vector from a task's decoder (safetensors)",
        description="Load a checkpoint (or a run folder's latest, or an installed pretrained "
        "model by name) and write each face's features from task T: its decoder's last hidden "
        "layer, the input of the decoder's last linear layer, computed with T's batch norm. "
        "The faces are those of photos and folders of photos (found and cropped by the model's "
        "crop rule, as ifan predict does; several per photo), or of a task's split as the run's "
        "manifest gives it (--split), with their labels. FILE holds the N x D features, each "
        "face's image path, the labels where known, and the model's identity (run, checkpoint, "
        "step, task, layer and a fingerprint of its weights), which ifan probe and "
        "ifan.features.read_features check. docs/features.md explains them.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument(
        "inputs", metavar="INPUT", nargs="*", type=Path, help="photos and folders of photos"
    )
    parser.add_argument(
        "--task", required=True, metavar="T", help="the task whose decoder gives the features"
    )
    parser.add_argument(
        "--split",
        choices=("train", "val", "test"),
        help="instead of photos: the faces and labels of this split of T's dataset (or "
        "--dataset's) as the run's manifest gives it",
    )
    parser.add_argument(
        "--dataset",
        metavar="[RUN:]TASK",
        help="with --split: the data of another task of the same run, or of a task of another "
        "run (RUN:TASK), cropped by this model's crop rule (default: T's own)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the .safetensors file to write"
    )
    parser.add_argument(
        "--batch-size", type=positive, default=32, metavar="N", help="faces per batch (32)"
    )
    parser.add_argument(
        "--no-detect",
        dest="detect",
        action="store_false",
        help="photos: take each photo whole, letterboxed, as one face",
    )
    parser.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="photos: leave out the ones that cannot be decoded (listed at the end) instead of "
        "stopping with an error",
    )
    parser.set_defaults(func=run, late_positionals="inputs")


def run(args: argparse.Namespace) -> int:
    from ifan.errors import IfanError
    from ifan.features.extract import extract_features, photo_features
    from ifan.features.store import identity
    from ifan.inference import load

    if args.split is None and not args.inputs:
        raise IfanError("give photos or folders of photos (INPUT...), or a split (--split)")
    if args.split is not None and args.inputs:
        raise IfanError("give photos (INPUT...) or --split, not both")
    if args.dataset is not None and args.split is None:
        raise IfanError("--dataset names the data of a split: give --split too")
    registry = registry_from_args(args)
    predictor = load(args.checkpoint, args.device, registry=registry, bf16=args.bf16)
    warn_if_bf16_is_emulated(predictor)
    ident = identity(predictor, args.task, args.checkpoint)  # no such task: an error now
    skipped: list[tuple[str, str]] = []
    if args.split is None:
        features, skipped = photo_features(
            predictor,
            args.task,
            args.inputs,
            args.batch_size,
            args.detect,
            args.skip_unreadable,
            args.checkpoint,
        )
        faces = f"{len({*features.paths})} photo(s)"
    else:
        features = extract_features(
            predictor,
            args.task,
            split=args.split,
            dataset=args.dataset,
            batch_size=args.batch_size,
            registry=registry,
            run=args.checkpoint,
        )
        data = features.data
        faces = f"the {data['split']} split of {data['task']} ({data['run']}), with its labels"
    path = features.save(args.out)
    print(
        f"wrote {path}: {len(features)} face(s) x {features.dim} features of "
        f"{ident.describe()}, the input of {ident.layer}, from {faces}"
    )
    if skipped:
        print(f"skipped {len(skipped)} file(s):")
        for where, why in skipped:
            print(f"  {where}: {why}")
    return 0
