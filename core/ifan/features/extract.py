"""Extracting features: from photos (each face found and cropped by the model's crop rule, as
``ifan predict`` does) or from a task's split of a run's manifest (its reader's faces and labels),
in batches with a progress bar; what ``ifan features`` runs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ifan.contract import Split
from ifan.errors import FeaturesError
from ifan.features.capture import batch_features
from ifan.features.store import Features, identity

if TYPE_CHECKING:
    from ifan.inference import Predictor
    from ifan.manifest import Manifest
    from ifan.manifest.schema import ModelConfig
    from ifan.plugins import PluginRegistry


def open_labelled(
    manifest: Manifest,
    task: str,
    splits: Sequence[Split],
    model: ModelConfig | None = None,
    where: str = "",
    progress: bool = True,
) -> dict[Split, Dataset]:
    """The ``splits`` of ``task``'s dataset in ``manifest`` as its reader gives them, without
    augmentation or prepared copies, each face cropped by ``model``'s crop rule at its input
    size (default: the manifest's own); val is carved out of train when the data table says so
    and both are asked for. An error names ``where`` (the run) and the data table when a split
    is missing."""
    from ifan.data.splits import open_splits
    from ifan.evaluation import missing_split

    if task not in manifest.tasks:
        raise FeaturesError(
            f"{where or manifest.source}: no task {task!r}; its tasks are "
            f"{', '.join(manifest.tasks)}"
        )
    config = manifest.tasks[task]
    for split in splits:
        if split not in config.data.splits and not (
            split == "val" and config.data.val_fraction is not None
        ):
            raise FeaturesError(
                f"{where or manifest.source}: no labelled faces of {task} for the {split} split: "
                f"{missing_split(config, split)} (give one with --set "
                f"tasks.{task}.data.{split}=PATH)"
            )
    if model is not None:
        manifest = replace(manifest, model=model)
    opened = open_splits(
        config,
        config.build_task(),
        manifest,
        splits,
        augment=False,
        progress=progress,
        prepare=False,
    )
    for split in splits:
        if len(opened.datasets[split]) == 0:  # type: ignore[arg-type]
            raise FeaturesError(
                f"{where or manifest.source}: the {split} split of {task} "
                f"({opened.sources[split]}) has no faces"
            )
    return {split: opened.datasets[split] for split in splits}


def sample_paths(dataset: Dataset) -> list[str]:
    """Each sample's image file, as the reader's records name it (the first path of a record);
    an empty list when the dataset keeps no records."""
    from ifan.data.dataset import under_subsets

    base, indices = under_subsets(dataset)
    records = getattr(base, "records", None)
    if records is None:
        return []
    paths = [_first_path(records[i]) for i in indices]
    return [str(p) if p is not None else "" for p in paths]


def _first_path(value: Any) -> Path | None:
    if isinstance(value, Path):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            if (found := _first_path(item)) is not None:
                return found
    elif isinstance(value, Mapping):
        return _first_path(list(value.values()))
    elif hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        return _first_path([getattr(value, name) for name in value.__dataclass_fields__])
    return None


def dataset_features(
    predictor: Predictor,
    tasks: Sequence[str],
    dataset: Dataset,
    collate: Any,
    batch_size: int = 32,
    desc: str = "features",
    progress: bool = True,
) -> tuple[dict[str, Tensor], Any]:
    """Each task's ``N x D`` features of a dataset's faces, and the faces' targets batched by
    ``collate`` and joined (``N`` first; None when they are not tensors or a dict of tensors),
    in the dataset's order."""
    from ifan.data.splits import as_float
    from ifan.progress import bar

    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate)
    chunks: dict[str, list[Tensor]] = {task: [] for task in tasks}
    targets: list[Any] = []
    model = predictor.model
    model.eval()
    total = len(dataset)  # type: ignore[arg-type]
    with bar(total=total, desc=desc, unit="face", enabled=progress) as shown:
        for images, target in loader:
            batch = as_float(images).to(predictor.device)
            with predictor.precision():
                found = batch_features(model, batch, tasks)
            for task, value in found.items():
                chunks[task].append(value)
            targets.append(target)
            shown.update(len(images))
    return {task: torch.cat(values) for task, values in chunks.items()}, join_targets(targets)


def join_targets(batches: Sequence[Any]) -> Any:
    """Batched targets joined along the first dimension: tensors, or dicts of tensors (class and
    value tasks); None for any other kind (ragged parts, nested dicts), which features do not
    keep."""
    first = batches[0] if batches else None
    if isinstance(first, Tensor):
        return torch.cat(list(batches))
    if isinstance(first, Mapping) and all(isinstance(v, Tensor) for v in first.values()):
        try:
            return {key: torch.cat([b[key] for b in batches]) for key in first}
        except (KeyError, RuntimeError, TypeError):
            return None
    return None


def index_targets(targets: Any, index: Tensor) -> Any:
    """The targets of the faces at ``index`` (a tensor, or a dict of them, ``N`` first)."""
    if isinstance(targets, Tensor):
        return targets[index]
    return {key: index_targets(value, index) for key, value in targets.items()}


def split_features(
    predictor: Predictor,
    tasks: Sequence[str],
    split: Split,
    data: tuple[Manifest, str] | None = None,
    batch_size: int = 32,
    run: str | os.PathLike | None = None,
    data_run: str | None = None,
    progress: bool = True,
) -> dict[str, Features]:
    """Each task's features of the faces of a split, with their labels: the split of ``data =
    (manifest, task)`` (default: the model's own manifest and the first of ``tasks``), its faces
    cropped by the model's crop rule. ``run`` and ``data_run`` name the model and the data's
    run in the features' identity."""
    manifest, data_task = data if data is not None else (predictor.manifest, tasks[0])
    where = data_run or str(run if run is not None else predictor.checkpoint)
    dataset = open_labelled(
        manifest, data_task, [split], predictor.manifest.model, where, progress
    )[split]
    handler = manifest.tasks[data_task].build_task()
    values, targets = dataset_features(
        predictor,
        tasks,
        dataset,
        handler.collate,
        batch_size,
        f"features {'+'.join(tasks)} of {data_task} {split}",
        progress,
    )
    paths = sample_paths(dataset)
    about = {
        "kind": "split",
        "run": where,
        "task": data_task,
        "split": split,
        "labels": handler.labels.kind,
        "names": list(handler.labels.names),
    }
    return {
        task: Features(values[task], identity(predictor, task, run), paths, about, targets)
        for task in tasks
    }


def photo_features(
    predictor: Predictor,
    task: str,
    inputs: Sequence[str | os.PathLike],
    batch_size: int = 32,
    detect: bool = True,
    skip_unreadable: bool = False,
    run: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[Features, list[tuple[str, str]]]:
    """``task``'s features of every face of the photos and folders of photos ``inputs`` (found
    as ``ifan predict`` finds them, each face cropped by the model's crop rule; a photo where no
    face is found, or every photo without ``detect``, is one face, letterboxed), and the files
    skipped with why. An unreadable photo is an error naming it, unless ``skip_unreadable``."""
    from ifan.data.crop import NO_DETECTOR, detect_faces, face_crop
    from ifan.data.images import letterbox
    from ifan.detection import FaceBox, get_detector
    from ifan.inputs import find_inputs
    from ifan.photos import read_photo
    from ifan.progress import bar

    found = find_inputs(inputs)
    if found.videos:
        raise FeaturesError(f"{found.videos[0].path} is a video: features are made of photos")
    skipped = [(str(s.path), s.reason) for s in found.skipped]
    rule = predictor.manifest.model.crop
    detect = detect and rule.detector != NO_DETECTOR
    finder = get_detector(predictor.registry, rule.detector) if detect else None
    ident = identity(predictor, task, run)
    rows: list[Tensor] = []
    paths: list[str] = []
    boxes: list[list[float]] = []
    numbers: list[int] = []
    pending: list[Tensor] = []

    def flush() -> None:
        if pending:
            batch = torch.stack(pending).to(predictor.device)
            with predictor.precision():
                rows.append(batch_features(predictor.model, batch, [task])[task])
            pending.clear()

    predictor.model.eval()
    shown = bar(total=len(found.photos), desc=f"features {task}", unit="photo", enabled=progress)
    with shown:
        for file in found.photos:
            photo = read_photo(file.path)
            shown.update(1)
            if isinstance(photo, str):
                if not skip_unreadable:
                    raise FeaturesError(
                        f"{file.path}: {photo}; leave unreadable photos out with "
                        "--skip-unreadable (skip_unreadable=True)"
                    )
                skipped.append((str(file.path), photo))
                continue
            faces = detect_faces(finder, photo, rule) if finder is not None else []
            crops = [face_crop(face, rule) for face in faces]
            if not faces:
                faces = [FaceBox(0, 0, photo.width, photo.height, 1.0)]
                crops = [letterbox(*photo.size)]
            for number, (face, crop) in enumerate(zip(faces, crops, strict=True)):
                pending.append(predictor.network_input(photo, crop))
                paths.append(str(file.path))
                boxes.append([face.x0, face.y0, face.x1, face.y1])
                numbers.append(number)
                if len(pending) >= batch_size:
                    flush()
        flush()
    if not rows:
        raise FeaturesError(
            f"no readable photo in {', '.join(map(str, inputs))}: nothing to extract features of"
        )
    about = {"kind": "images", "detector": finder.name if finder is not None else None}
    features = Features(
        torch.cat(rows),
        ident,
        paths,
        about,
        None,
        torch.tensor(boxes, dtype=torch.float32),
        torch.tensor(numbers, dtype=torch.int64),
    )
    return features, skipped


def run_manifest(run: str | os.PathLike, registry: PluginRegistry | None = None) -> Manifest:
    """The manifest a run's checkpoint (or a pretrained model) was trained with, without
    building its network: where its tasks' data is."""
    from ifan.plugins import load_registry
    from ifan.pretrained import resolve_model
    from ifan.runs.meta import manifest_from_meta, open_checkpoint

    registry = registry if registry is not None else load_registry()
    checkpoint = open_checkpoint(resolve_model(run, registry))
    return manifest_from_meta(checkpoint.meta, [], registry, training=False)


def parse_named_task(text: str) -> tuple[str | None, str]:
    """``"RUN:TASK"`` -> ``(RUN, TASK)``; ``"TASK"`` -> ``(None, TASK)`` (the last colon
    splits, as task names have none)."""
    run, sep, task = text.rpartition(":")
    if not sep:
        return None, text
    if not run or not task:
        raise FeaturesError(f"{text!r}: expected RUN:TASK (a run folder, checkpoint or model name)")
    return run, task


def extract_features(
    model: str | os.PathLike | Predictor,
    task: str,
    inputs: Sequence[str | os.PathLike] = (),
    *,
    split: Split | None = None,
    dataset: str | None = None,
    batch_size: int = 32,
    detect: bool = True,
    skip_unreadable: bool = False,
    device: str | torch.device | None = None,
    registry: PluginRegistry | None = None,
    run: str | os.PathLike | None = None,
    progress: bool = True,
) -> Features:
    """``task``'s features (its decoder's last hidden layer, see the module docstring) of every
    face of photos and folders ``inputs``, or of a task's ``split`` as a run's manifest gives it.

    ``model``: a run folder, a checkpoint, an installed pretrained model's name, or a loaded
    ``Predictor``. With ``split``, the faces and labels of ``dataset``'s split (``"TASK"`` of
    the same run, or ``"RUN:TASK"`` of another; default: ``task``'s own), cropped by ``model``'s
    crop rule. Photos are found and cropped as ``ifan predict`` does (``detect=False``: each
    photo whole, letterboxed); an unreadable one is an error unless ``skip_unreadable``.
    ``run`` names the model in the features' identity (default: ``model`` as given, or a
    ``Predictor``'s checkpoint).
    """
    from ifan.inference import Predictor, load

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if (split is None) == (not inputs):
        raise FeaturesError("give either photos (files or folders) or a split, not both")
    if split is None and dataset is not None:
        raise FeaturesError("dataset names the data of a split: give split too")
    predictor = model if isinstance(model, Predictor) else load(model, device, registry=registry)
    if run is None and not isinstance(model, Predictor):
        run = model
    identity(predictor, task, run)  # a clear error before any face is read
    if split is None:
        return photo_features(
            predictor, task, inputs, batch_size, detect, skip_unreadable, run, progress
        )[0]
    data_run, data_task = parse_named_task(dataset or task)
    if data_run is None:
        data = (predictor.manifest, data_task)
        shown_run = str(run if run is not None else predictor.checkpoint)
    else:
        data = (run_manifest(data_run, registry or predictor.registry), data_task)
        shown_run = data_run
    return split_features(predictor, [task], split, data, batch_size, run, shown_run, progress)[
        task
    ]
