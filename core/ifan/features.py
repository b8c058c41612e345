"""Features out of a trained model: each face's vector from one task's decoder, saved with the
faces it came from and the model it came from.

A task's **features** are its decoder's last hidden layer: the input of the last ``nn.Linear``
of the task's decoder (in the order the decoder defines its modules), captured with a forward
hook while the network runs that task as :meth:`ifan.network.model.IFAN.predict_all` does (the
full iterative forward with the task's own batch norm; the last call of the layer, the final
iteration's, is kept). For the built-in decoders (:class:`ifan.network.decoders.MLPHead`) that is
the ``hidden``-wide vector after the ReLU, from which the task's logits or values are one linear
map away. A decoder without an ``nn.Linear`` (a pixel classifier) has no such vector.

:func:`extract_features` reads photos (each face found and cropped by the model's crop rule, as
``ifan predict`` does) or a task's split from a run's manifest (its reader's faces and labels).
:class:`Features` holds the ``N x D`` matrix, each face's image path, its labels when known and
the model's identity (:class:`ModelIdentity`: run, checkpoint, step, task, layer and a
fingerprint of every weight), and saves them as safetensors: tensors ``features``, ``boxes``,
``faces`` and ``target`` (``target.<key>`` for a dict target), everything else as JSON under the
metadata key :data:`META_KEY`. No pickle: a features file holds tensors and text only.
:func:`read_features` loads one and, given the model it should come from, refuses features of
another model.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from ifan.contract import Split
from ifan.errors import IfanError

if TYPE_CHECKING:
    from ifan.inference import Predictor
    from ifan.manifest import Manifest
    from ifan.manifest.schema import ModelConfig
    from ifan.network.model import IFAN
    from ifan.plugins import PluginRegistry

FORMAT = "ifan-features/1"
"""What a features file says it is (``format`` in its metadata)."""
META_KEY = "ifan.features"
"""The safetensors metadata key of a features file's JSON (identity, paths, label schema)."""
TARGET = "target"
"""Tensor name of a features file's labels (``target.<key>`` for each key of a dict target)."""


class FeaturesError(IfanError):
    """Features that cannot be made or used: a task without a linear layer, unreadable photos,
    a file of another model or of other faces, a split without labels."""


@dataclass(frozen=True)
class ModelIdentity:
    """Which model, and which layer of it, features come from."""

    run: str
    """The run folder, checkpoint file or pretrained model name it was loaded from, as given."""
    checkpoint: str
    """The checkpoint file read (absolute)."""
    step: int | None
    """The training step of that checkpoint (None when the file does not say)."""
    task: str
    layer: str
    """The module whose input the features are, e.g. ``decoders.emotion.mlp.3``."""
    fingerprint: str
    """SHA-256 of every weight and buffer of the network (:func:`weights_fingerprint`)."""

    def describe(self) -> str:
        """One line for messages: the task, the run, its step and the fingerprint's start."""
        step = f"step {self.step}, " if self.step is not None else ""
        return f"{self.task} of {self.run} ({step}weights {self.fingerprint[:12]})"

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "checkpoint": self.checkpoint,
            "step": self.step,
            "task": self.task,
            "layer": self.layer,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelIdentity:
        return cls(
            str(data["run"]),
            str(data["checkpoint"]),
            None if data.get("step") is None else int(data["step"]),
            str(data["task"]),
            str(data["layer"]),
            str(data["fingerprint"]),
        )


def weights_fingerprint(model: nn.Module) -> str:
    """SHA-256 over every entry of ``model``'s state dict (name, dtype, shape and bytes, in name
    order): the same for the same weights whether loaded from a run's checkpoint or from its
    exported weights, on any device or memory format; different after any change of a weight."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name} {tensor.dtype} {tuple(value.shape)}\n".encode())
        digest.update(tensor.view(torch.uint8).numpy())
    return digest.hexdigest()


def last_linear(model: IFAN, task: str) -> tuple[str, nn.Linear]:
    """The last ``nn.Linear`` of ``task``'s decoder and its name in ``model``: the layer whose
    input is the task's features. An error names the task when it has none."""
    if task not in model.decoders:
        raise FeaturesError(
            f"the model has no task {task!r}; its tasks are {', '.join(model.task_names)}"
        )
    found = [
        (name, module)
        for name, module in model.decoders[task].named_modules()
        if isinstance(module, nn.Linear)
    ]
    if not found:
        kind = type(model.decoders[task]).__name__
        raise FeaturesError(
            f"task {task}'s decoder ({kind}) has no nn.Linear layer, so it has no feature vector "
            "(features are the input of a decoder's last linear layer: class and value tasks "
            "have one, a per-pixel decoder has none)"
        )
    name, module = found[-1]
    return f"decoders.{task}.{name}" if name else f"decoders.{task}", module


@contextmanager
def captured(model: IFAN, tasks: Sequence[str]) -> Iterator[dict[str, Tensor]]:
    """Inside the block, the input of each task's last linear layer in the latest forward pass,
    by task (its last call in that pass: the final iteration's), flattened to ``B x D``."""
    store: dict[str, Tensor] = {}
    handles = []
    for task in tasks:
        _, layer = last_linear(model, task)

        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any, task: str = task):
            store[task] = inputs[0].detach().clone()

        handles.append(layer.register_forward_hook(hook))
    try:
        yield store
    finally:
        for handle in handles:
            handle.remove()


def batch_features(model: IFAN, images: Tensor, tasks: Sequence[str]) -> dict[str, Tensor]:
    """Each task's features of a batch of images (float32, on the CPU), each computed with the
    task's own batch norm: per-task batch norm runs the network once per task (the task's
    prediction of ``predict_all``); shared batch norm once for all. Call it in eval mode."""
    out: dict[str, Tensor] = {}
    with torch.no_grad(), captured(model, tasks) as store:
        if model.norm.per_task:
            for task in tasks:
                model(images, task=task, heads=[task])
                out[task] = store[task]
        else:
            model(images, heads=list(tasks))
            out = {task: store[task] for task in tasks}
    return {task: value.float().reshape(len(value), -1).cpu() for task, value in out.items()}


_FINGERPRINTS: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()
"""The fingerprint of each loaded model's weights (loaded for inference: they do not change)."""


def identity(
    predictor: Predictor, task: str, run: str | os.PathLike | None = None
) -> ModelIdentity:
    """The identity of ``task``'s features in the loaded model (``run``: how it was named); an
    error names the run when it has no such task, or the task no linear layer."""
    name = str(run if run is not None else predictor.checkpoint)
    if task not in predictor.model.decoders:
        raise FeaturesError(
            f"{name} has no task {task!r}; its tasks are {', '.join(predictor.tasks)}"
        )
    try:
        layer, _ = last_linear(predictor.model, task)
    except FeaturesError as error:
        raise FeaturesError(f"{name}: {error}") from None
    fingerprint = _FINGERPRINTS.get(predictor.model)
    if fingerprint is None:  # hashing a large network takes a moment: once per loaded model
        fingerprint = weights_fingerprint(predictor.model)
        _FINGERPRINTS[predictor.model] = fingerprint
    step = predictor.meta.get("progress", {}).get("step")
    return ModelIdentity(
        name,
        str(Path(predictor.checkpoint).resolve()),
        None if step is None else int(step),
        task,
        layer,
        fingerprint,
    )


@dataclass
class Features:
    """Faces' feature vectors from one task of one model, and where each face came from."""

    features: Tensor
    """``N x D`` float32."""
    model: ModelIdentity
    paths: list[str] = field(default_factory=list)
    """Each face's image file (empty when the faces were not read from files)."""
    data: dict[str, Any] = field(default_factory=dict)
    """How the faces were chosen: ``{"kind": "split", "run", "task", "split", "labels",
    "names"}`` for a task's split, ``{"kind": "images", "detector"}`` for photos."""
    targets: Any = None
    """The reader's labels of the faces (a tensor, or a dict of tensors, ``N`` first), as the
    data task's loss and metric take them; None for photos."""
    boxes: Tensor | None = None
    """Photos: each face's box ``x0, y0, x1, y1`` in its photo's pixels (the photo when none)."""
    faces: Tensor | None = None
    """Photos: each face's number in its photo, from 0, most confident first."""

    def __len__(self) -> int:
        return len(self.features)

    @property
    def dim(self) -> int:
        """D, the length of a feature vector."""
        return int(self.features.shape[1])

    def save(self, path: str | os.PathLike) -> Path:
        """Write a safetensors file (see the module docstring); return its path."""
        from safetensors.torch import save_file

        tensors = {"features": self.features.float().contiguous()}
        if self.boxes is not None:
            tensors["boxes"] = self.boxes.float().contiguous()
        if self.faces is not None:
            tensors["faces"] = self.faces.long().contiguous()
        keys = None
        if isinstance(self.targets, Tensor):
            tensors[TARGET] = self.targets.contiguous()
        elif isinstance(self.targets, Mapping):
            keys = list(self.targets)
            for key, value in self.targets.items():
                tensors[f"{TARGET}.{key}"] = torch.as_tensor(value).contiguous()
        meta = {
            "format": FORMAT,
            "model": self.model.to_json(),
            "data": self.data,
            "paths": self.paths,
            "target_keys": keys,
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(out), metadata={META_KEY: json.dumps(meta)})
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> Features:
        """A file written by :meth:`save`; an error names the file when it is not one."""
        from safetensors import safe_open

        source = Path(path)
        if not source.is_file():
            raise FeaturesError(f"{source}: no such features file")
        try:
            with safe_open(str(source), framework="pt") as opened:
                header = (opened.metadata() or {}).get(META_KEY)
                tensors = {name: opened.get_tensor(name) for name in opened.keys()}  # noqa: SIM118
        except Exception as exc:  # safetensors raises its own error types for a bad header
            raise FeaturesError(f"{source}: not a safetensors file ({exc})") from None
        try:
            meta = json.loads(header or "")
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
            model = ModelIdentity.from_json(meta["model"])
        except (ValueError, KeyError, TypeError) as exc:
            raise FeaturesError(
                f"{source}: not a features file of `ifan features` ({exc})"
            ) from None
        keys = meta.get("target_keys")
        targets: Any = tensors.get(TARGET)
        if keys is not None:
            targets = {key: tensors[f"{TARGET}.{key}"] for key in keys}
        return cls(
            tensors["features"],
            model,
            list(meta.get("paths") or []),
            dict(meta.get("data") or {}),
            targets,
            tensors.get("boxes"),
            tensors.get("faces"),
        )

    def check_model(self, expected: ModelIdentity, where: str = "features") -> None:
        """Refuse features that are not ``expected``'s: another task or layer, or other weights
        (a retrained or different run). ``where`` names them in the message (a file)."""
        mine = self.model
        if (mine.task, mine.layer, mine.fingerprint) != (
            expected.task,
            expected.layer,
            expected.fingerprint,
        ):
            raise FeaturesError(
                f"{where} holds features of another model: {mine.describe()}, not "
                f"{expected.describe()}; extract them again from this model (delete the file "
                "if it is a cache)"
            )


def read_features(
    path: str | os.PathLike,
    model: ModelIdentity | Predictor | str | os.PathLike | None = None,
    task: str | None = None,
    registry: PluginRegistry | None = None,
) -> Features:
    """The features file at ``path`` (written by ``ifan features`` or :meth:`Features.save`).

    With ``model`` (a :class:`ModelIdentity`, a loaded ``Predictor``, or a run folder,
    checkpoint or pretrained name to load), the file must hold that model's features of
    ``task`` (default: the file's task), with the same weights: an error otherwise, naming the
    file and both models.
    """
    features = Features.load(path)
    if model is None:
        return features
    if not isinstance(model, ModelIdentity):
        from ifan.inference import Predictor, load

        predictor = model if isinstance(model, Predictor) else load(model, registry=registry)
        name = task or features.model.task
        if name not in predictor.model.decoders:
            raise FeaturesError(
                f"{path} holds features of task {features.model.task}, which "
                f"{predictor.checkpoint} does not have (its tasks: "
                f"{', '.join(predictor.tasks)})"
            )
        model = identity(predictor, name, None if isinstance(model, Predictor) else model)
    features.check_model(model, str(path))
    return features


# Faces of a task's split ---------------------------------------------------------------------


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


# Faces of photos -----------------------------------------------------------------------------


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


# The public entry point ----------------------------------------------------------------------


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
