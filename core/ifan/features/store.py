"""A features file: faces' feature vectors with the image each came from, its labels when known and
the model's identity (:class:`ModelIdentity`: run, checkpoint, step, task, layer, a fingerprint of
every weight), saved as safetensors with JSON metadata (no pickle), and refused when read for
another model."""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ifan.errors import FeaturesError
from ifan.features.capture import last_linear

if TYPE_CHECKING:
    from ifan.inference import Predictor
    from ifan.plugins import PluginRegistry


FORMAT = "ifan-features/1"
"""What a features file says it is (``format`` in its metadata)."""


META_KEY = "ifan.features"
"""The safetensors metadata key of a features file's JSON (identity, paths, label schema)."""


TARGET = "target"
"""Tensor name of a features file's labels (``target.<key>`` for each key of a dict target)."""


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
