"""A trained iFAN on photos: ``ifan.load(path).predict(image)``.

:func:`load` rebuilds the network from a checkpoint alone (its metadata holds the manifest) and
loads its weights. A photo is letterboxed (padded to a centred square, never cut) and resized to
the network's input, as the readers do with whole photos; every task's JSON is in the photo's
pixels where the task can map back (``to_json(prediction, size=...)``). There is no face
detection yet: the photo should show one face that roughly fills it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ifan.contract import Task
from ifan.data.images import crop_square, letterbox, load_rgb, to_tensor
from ifan.errors import IfanError
from ifan.manifest import Manifest
from ifan.network.model import IFAN, build_model
from ifan.plugins import PluginRegistry, load_registry
from ifan.training.checkpoint import CheckpointError
from ifan.training.run import manifest_from_meta, open_checkpoint

ImageInput = str | os.PathLike | Image.Image | np.ndarray
"""A photo: a file path, a PIL image or an ``H x W x 3`` uint8 RGB array."""


@dataclass
class TaskResult:
    """One task's prediction for one photo."""

    task: str
    json: dict[str, Any]
    """The task's ``to_json``: in the photo's pixels where the task supports ``size=``."""
    raw: Any
    """The network's prediction for this photo (logits, points in crop coordinates), on the CPU."""
    handler: Task = field(repr=False, compare=False)
    """The task object, which draws the prediction."""

    def overlay(self, image: Image.Image) -> Image.Image:
        """This prediction drawn on ``image`` (the photo, or the photo with other tasks drawn)."""
        return self.handler.draw_overlay(image, self.raw)


@dataclass
class FacePrediction:
    """Every task's prediction for one photo."""

    image: Image.Image = field(repr=False)
    """The photo, in RGB."""
    tasks: dict[str, TaskResult]
    source: str | None = None
    """The photo's path, when it was read from a file."""

    def to_json(self) -> dict[str, Any]:
        """``{"image"?: path, "width", "height", "tasks": {task: its JSON}}``."""
        out: dict[str, Any] = {} if self.source is None else {"image": self.source}
        out.update(width=self.image.width, height=self.image.height)
        out["tasks"] = {name: result.json for name, result in self.tasks.items()}
        return out

    def overlay(self) -> Image.Image:
        """One picture with every task: the overlays that draw on the photo itself (parsing
        colours, landmark dots) one over the other, then those that add beside it (the emotion
        panel) around the result."""
        picture = self.image
        beside = []
        for result in self.tasks.values():
            drawn = result.overlay(picture)
            if drawn.size == picture.size:
                picture = drawn
            else:
                beside.append(result)
        for result in beside:
            picture = result.overlay(picture)
        return picture


def _photo(image: ImageInput) -> tuple[Image.Image, str | None]:
    """The RGB photo and, for a file, its path."""
    if isinstance(image, (str, os.PathLike)):
        return load_rgb(Path(image)), str(image)
    if isinstance(image, Image.Image):
        return image.convert("RGB"), None
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"expected an H x W x 3 uint8 RGB array, got {image.dtype} of shape {image.shape}"
            )
        return Image.fromarray(image), None
    raise TypeError(f"expected a path, a PIL image or a numpy array, got {type(image).__name__}")


def _one(prediction: Any, index: int) -> Any:
    """Image ``index`` of a prediction batch (a tensor, or a dict, list or tuple of them)."""
    if isinstance(prediction, torch.Tensor):
        return prediction[index].detach().cpu()
    if isinstance(prediction, dict):
        return {key: _one(value, index) for key, value in prediction.items()}
    if isinstance(prediction, (list, tuple)):
        return type(prediction)(_one(value, index) for value in prediction)
    raise TypeError(f"cannot split a prediction batch of type {type(prediction).__name__}")


def _task_json(task: Task, raw: Any, size: tuple[int, int]) -> dict[str, Any]:
    """``task.to_json``, with the photo's ``size`` for tasks that map back to its pixels."""
    if "size" in inspect.signature(task.to_json).parameters:
        return task.to_json(raw, size=size)
    return task.to_json(raw)


class Predictor:
    """A trained network ready for photos (see :func:`load`): ``model`` in eval mode on
    ``device``, its ``manifest``, the ``checkpoint`` file its weights came from and that file's
    ``meta`` (manifest data, plugin versions, the trainer's progress)."""

    def __init__(
        self,
        model: IFAN,
        manifest: Manifest,
        checkpoint: Path,
        meta: dict[str, Any],
        device: torch.device,
    ):
        self.model = model
        self.manifest = manifest
        self.checkpoint = checkpoint
        self.meta = meta
        self.device = device

    @property
    def tasks(self) -> list[str]:
        """The tasks every prediction holds, in manifest order."""
        return list(self.model.task_names)

    def network_input(self, photo: Image.Image) -> torch.Tensor:
        """The ``3 x S x S`` input of a photo: letterboxed and resized, as the readers do."""
        size = self.model.config.input_size
        return to_tensor(crop_square(photo, letterbox(*photo.size), size))

    def predict(self, image: ImageInput) -> FacePrediction:
        """Every task's prediction for one photo (a path, a PIL image or a uint8 RGB array)."""
        return self.predict_batch([image])[0]

    def predict_batch(
        self, images: Sequence[ImageInput], batch_size: int = 16
    ) -> list[FacePrediction]:
        """:meth:`predict` for many photos, ``batch_size`` at a time through the network."""
        photos = [_photo(image) for image in images]
        out = []
        for start in range(0, len(photos), batch_size):
            chunk = photos[start : start + batch_size]
            batch = torch.stack([self.network_input(photo) for photo, _ in chunk])
            with torch.no_grad():
                predictions = self.model.predict_all(batch.to(self.device))
            for index, (photo, source) in enumerate(chunk):
                results = {}
                for name, prediction in predictions.items():
                    task = self.model.tasks[name]
                    raw = _one(prediction, index)
                    results[name] = TaskResult(name, _task_json(task, raw, photo.size), raw, task)
                out.append(FacePrediction(photo, results, source))
        return out


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` checked to exist here; None: the first GPU when there is one, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise IfanError(f"unknown device {device!r}; expected e.g. cpu, cuda or cuda:1") from None
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise IfanError(
            f"device {device!r} is not available here ({torch.cuda.device_count()} GPUs); "
            "use the cpu"
        )
    return resolved


def load(
    path: str | os.PathLike,
    device: str | torch.device | None = None,
    overrides: Sequence[str] = (),
    registry: PluginRegistry | None = None,
) -> Predictor:
    """The network of a checkpoint file, or of a run folder's latest checkpoint, in eval mode.

    The manifest comes from the checkpoint (``overrides`` as ``--set`` applies them on top); its
    tasks' plugins must be installed (an error names the missing distribution). ``device``
    defaults to the GPU when there is one. ``model.backbone_checkpoint`` is not read: it only
    initialises training, and the checkpoint holds every weight.
    """
    target = resolve_device(device)
    checkpoint = open_checkpoint(Path(path))
    registry = registry if registry is not None else load_registry()
    manifest = manifest_from_meta(checkpoint.meta, list(overrides), registry)
    untrained = manifest.model.model_copy(update={"backbone_checkpoint": None})
    model = build_model(replace(manifest, model=untrained))
    try:
        model.load_state_dict(checkpoint.model)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint {checkpoint.path}: its weights do not fit the network its manifest "
            f"describes (a --set that changes the model?): {exc}"
        ) from exc
    model.to(target).eval()
    return Predictor(model, manifest, checkpoint.path, checkpoint.meta, target)
