"""``ifan.load(run).predict(photo)``: a trained network on photos, each face found, cropped and
mapped back.

:func:`load` rebuilds the network from a checkpoint alone (its metadata holds the manifest) and
loads its weights. :meth:`Predictor.predict` finds the faces of a photo and crops each by the
model's own crop rule (``[model.crop]`` of the checkpoint's manifest, :mod:`ifan.data.crop`: the
detector, margin and alignment it was trained with), runs every task on every crop, and maps each
prediction back onto the photo's pixels where the task can (``to_json(prediction, size=...,
box=...)``). With ``detect=False``, or when no face is found, the whole photo is letterboxed
(padded to a centred square, never cut) into the network as one face.

:meth:`Predictor.predict_stream` does the same for a sequence too long to hold, batch by batch;
:meth:`Predictor.predict_folder` and :meth:`Predictor.predict_video` feed it the photos of
folders (:mod:`ifan.photos`) and the frames of a video (:mod:`ifan.video`).
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image, ImageDraw

from ifan.contract import Task
from ifan.data.crop import NO_DETECTOR, detect_faces, face_crop
from ifan.data.images import Box, as_rgb, crop_square, letterbox, load_upright_rgb, to_tensor
from ifan.detection import FaceBox, FaceDetector, get_detector
from ifan.errors import IfanError
from ifan.inputs import find_inputs
from ifan.manifest import Manifest
from ifan.network.model import IFAN, build_model
from ifan.photos import PhotoRun
from ifan.plugins import PluginRegistry, load_registry
from ifan.pretrained import resolve_model
from ifan.runs.checkpoint import CheckpointError
from ifan.runs.meta import manifest_from_meta, open_checkpoint
from ifan.video import Frame, VideoReader
from ifan.visual import side_by_side

BOX_COLOUR = (0, 255, 0)
CARD_SIDE = 192
"""Side of each face's crop in the row of drawings beside the photo (the emotion panel)."""

ImageInput = str | os.PathLike | Image.Image | np.ndarray
"""A photo: a file path, a PIL image or an ``H x W x 3`` uint8 RGB array."""

K = TypeVar("K")


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
class Face:
    """Every task's prediction for one face of a photo."""

    box: FaceBox
    """The face in the photo's pixels (the whole photo, with score 1, when not detected)."""
    crop: Box
    """The square of the photo the network saw, in its pixels."""
    tasks: dict[str, TaskResult]

    def to_json(self) -> dict[str, Any]:
        """``{"box": [x0, y0, x1, y1], "score", "crop": [x0, y0, x1, y1], "tasks": {...}}``."""
        crop = self.crop
        return {
            "box": self.box.to_json(),
            "score": self.box.score,
            "crop": [crop.x0, crop.y0, crop.x0 + crop.side, crop.y0 + crop.side],
            "tasks": {name: result.json for name, result in self.tasks.items()},
        }

    def overlay(self, picture: Image.Image, photo: Image.Image) -> list[Image.Image]:
        """Draw the tasks that draw on the face itself (parsing colours, landmark dots) into
        ``picture`` within this face's crop, in place; return the drawings of the others (the
        emotion panel), which add beside the crop, on the crop shrunk to ``CARD_SIDE``."""
        crop = crop_square(photo, self.crop, self.crop.side)
        drawn = crop
        beside = []
        for result in self.tasks.values():
            image = result.overlay(drawn)
            if image.size == drawn.size:
                drawn = image
            else:
                beside.append(result)
        changed = np.any(np.asarray(drawn) != np.asarray(crop), axis=2)
        picture.paste(drawn, (self.crop.x0, self.crop.y0), Image.fromarray(changed))
        thumbnail = drawn.resize((CARD_SIDE, CARD_SIDE), Image.Resampling.BILINEAR)
        return [result.overlay(thumbnail) for result in beside]


@dataclass
class FacePrediction:
    """Every task's prediction for every face of one photo."""

    image: Image.Image = field(repr=False)
    """The photo, in RGB."""
    faces: list[Face]
    """Most confident first; one, the whole photo, when not detected."""
    source: str | None = None
    """The photo's path, when it was read from a file."""
    detector: str | None = None
    """The face detector's name; None when the whole photo was predicted as one face."""
    note: str | None = None
    """Why the whole photo was predicted although detection was asked for (no face found)."""

    @property
    def tasks(self) -> dict[str, TaskResult]:
        """The first (most confident) face's predictions: a photo of one face, in short."""
        return self.faces[0].tasks

    def to_json(self) -> dict[str, Any]:
        """``{"image"?: path, "width", "height", "detector", "note"?, "faces": [face JSON]}``."""
        out: dict[str, Any] = {} if self.source is None else {"image": self.source}
        out.update(width=self.image.width, height=self.image.height, detector=self.detector)
        if self.note is not None:
            out["note"] = self.note
        out["faces"] = [face.to_json() for face in self.faces]
        return out

    def overlay(self) -> Image.Image:
        """One picture with every face: its box, numbered, and the tasks that draw on the face
        within its crop; then, when a task draws beside the face (emotion), a row per face of
        those drawings to the right, numbered like the boxes."""
        picture, beside = self.drawings()
        return picture if beside is None else side_by_side([picture, beside])

    def drawings(self) -> tuple[Image.Image, Image.Image | None]:
        """The two parts of :meth:`overlay`: the photo with every face drawn on it, and the
        column of drawings beside the faces (None when no task draws beside), which a video
        fits into frames of one size."""
        picture = self.image.copy()
        rows = [face.overlay(picture, self.image) for face in self.faces]
        draw = ImageDraw.Draw(picture)
        width = max(2, round(max(picture.size) / 300))
        detected = self.detector is not None and self.note is None
        for number, face in enumerate(self.faces if detected else [], 1):
            box = face.box
            draw.rectangle((box.x0, box.y0, box.x1, box.y1), outline=BOX_COLOUR, width=width)
            draw.text((box.x0 + width, box.y0 + width), str(number), fill=BOX_COLOUR)
        sides = [side_by_side(row) for row in rows if row]
        if not sides:
            return picture, None
        return picture, stack(sides, [str(n) for n in range(1, len(sides) + 1)])


def stack(images: Sequence[Image.Image], labels: Sequence[str]) -> Image.Image:
    """Images top to bottom on a white canvas, each with its label at its top-left corner."""
    out = Image.new(
        "RGB", (max(i.width for i in images), sum(i.height for i in images)), (255, 255, 255)
    )
    draw = ImageDraw.Draw(out)
    y = 0
    for image, label in zip(images, labels, strict=True):
        out.paste(image, (0, y))
        draw.text((2, y + 2), label, fill=BOX_COLOUR)
        y += image.height
    return out


def _photo(image: ImageInput) -> tuple[Image.Image, str | None]:
    """The RGB photo and, for a file, its path (a file's EXIF orientation applied; a PIL image
    or array is taken as it is)."""
    if isinstance(image, (str, os.PathLike)):
        return load_upright_rgb(Path(image)), str(image)
    if isinstance(image, Image.Image):
        return as_rgb(image), None
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


def _task_json(task: Task, raw: Any, size: tuple[int, int], crop: Box) -> dict[str, Any]:
    """``task.to_json`` in the pixels of the photo of ``size`` for tasks that map back to them:
    with ``box=crop`` where the task takes it, or ``size`` alone when the crop is the letterboxed
    photo; else the task's own units."""
    to_json: Callable[..., dict[str, Any]] = task.to_json  # its parameters are read here
    parameters = inspect.signature(to_json).parameters
    if "box" in parameters:
        return to_json(raw, size=size, box=crop)
    if "size" in parameters and crop == letterbox(*size):
        return to_json(raw, size=size)
    return to_json(raw)


class Predictor:
    """A trained network ready for photos (see :func:`load`): ``model`` in eval mode on
    ``device``, its ``manifest``, the ``checkpoint`` file its weights came from, that file's
    ``meta`` (manifest data, plugin versions, the trainer's progress) and the plugin ``registry``
    (tasks and face detectors)."""

    def __init__(
        self,
        model: IFAN,
        manifest: Manifest,
        checkpoint: Path,
        meta: dict[str, Any],
        device: torch.device,
        registry: PluginRegistry,
        bf16: bool = False,
    ):
        self.model = model
        self.bf16 = bf16
        self.registry = registry
        self.manifest = manifest
        self.checkpoint = checkpoint
        self.meta = meta
        self.device = device

    def precision(self) -> torch.autocast:
        """The context the network runs in: bfloat16 autocast when loaded with ``bf16``."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @property
    def tasks(self) -> list[str]:
        """The tasks every prediction holds, in manifest order."""
        return list(self.model.task_names)

    def network_input(self, photo: Image.Image, crop: Box | None = None) -> torch.Tensor:
        """The ``3 x S x S`` input of the ``crop`` square of a photo (default: the whole photo
        letterboxed), resized as the readers do."""
        crop = crop or letterbox(*photo.size)
        return to_tensor(crop_square(photo, crop, self.model.config.input_size))

    def predict(self, image: ImageInput, detect: bool = True) -> FacePrediction:
        """Every task's prediction for every face of one photo (a path, a PIL image or a uint8
        RGB array); see :meth:`predict_batch`."""
        return self.predict_batch([image], detect=detect)[0]

    def predict_batch(
        self, images: Sequence[ImageInput], batch_size: int = 16, detect: bool = True
    ) -> list[FacePrediction]:
        """:meth:`predict` for many photos, ``batch_size`` faces at a time through the network.

        With ``detect``, the faces are found and cropped by the model's crop rule (the detector,
        margin and alignment it was trained with); a photo where none is found, or every photo
        without ``detect``, is predicted whole as one face, and its ``note`` says so.
        """
        return list(self.predict_stream(images, batch_size, detect))

    def predict_stream(
        self, images: Iterable[ImageInput], batch_size: int = 16, detect: bool = True
    ) -> Iterator[FacePrediction]:
        """:meth:`predict_batch` for a sequence too long to hold (a folder, a video's frames):
        each photo's prediction, in order, as soon as its batch is through the network.

        Photos are taken until they hold ``batch_size`` faces or more; their faces then go
        through the network ``batch_size`` at a time, so only about one batch of photos is held.
        """
        rule = self.manifest.model.crop
        detect = detect and rule.detector != NO_DETECTOR
        finder = get_detector(self.registry, rule.detector) if detect else None
        pending: list[FacePrediction] = []
        faces = 0
        for image in images:
            pending.append(self._locate(image, finder))
            faces += len(pending[-1].faces)
            if faces >= batch_size:
                self._predict_faces(pending, batch_size)
                yield from pending
                pending, faces = [], 0
        self._predict_faces(pending, batch_size)
        yield from pending

    def predict_keyed(
        self, items: Iterable[tuple[K, ImageInput]], batch_size: int = 16, detect: bool = True
    ) -> Iterator[tuple[K, FacePrediction]]:
        """:meth:`predict_stream` for photos that each come with a key (a file, a video
        frame): every key with its photo's prediction, in order."""
        keys, images = itertools.tee(items)
        predictions = self.predict_stream((image for _, image in images), batch_size, detect)
        for prediction, (key, _) in zip(predictions, keys, strict=True):
            yield key, prediction

    def predict_folder(
        self, *paths: str | os.PathLike, batch_size: int = 16, detect: bool = True
    ) -> PhotoRun:
        """The photos of folders (walked recursively) and photo files, as ``ifan predict`` finds
        them (:mod:`ifan.inputs`): iterate the run for each ``(InputFile, FacePrediction)``; the
        files skipped, unreadable ones included, collect in its ``skipped``."""
        found = find_inputs(paths)
        if found.videos:
            raise IfanError(
                f"{found.videos[0].path} is a video: predict its frames with predict_video"
            )
        return PhotoRun(self, found.photos, batch_size, detect, found.skipped)

    def predict_video(
        self,
        path: str | os.PathLike,
        every: int = 1,
        batch_size: int = 16,
        detect: bool = True,
    ) -> Iterator[tuple[Frame, FacePrediction]]:
        """Every ``every``-th frame of a video file (read with PyAV, ``pip install
        'ifan[video]'``) with its prediction, in order; see :mod:`ifan.video`."""
        with VideoReader(path, every) as frames:
            yield from self.predict_keyed(((f, f.image) for f in frames), batch_size, detect)

    def _locate(self, image: ImageInput, finder: FaceDetector | None) -> FacePrediction:
        """A photo's faces found and cropped by the crop rule (the whole photo when ``finder`` is
        None or finds none), their task results still empty."""
        rule = self.manifest.model.crop
        photo, source = _photo(image)
        prediction = FacePrediction(photo, [], source, finder.name if finder else None)
        boxes = detect_faces(finder, photo, rule) if finder else []
        if finder and not boxes:
            prediction.note = f"no face found by {finder.name}: predicted the whole photo"
        whole = not boxes
        if whole:
            boxes = [FaceBox(0, 0, photo.width, photo.height, 1.0)]
        crops = [letterbox(*photo.size)] if whole else [face_crop(box, rule) for box in boxes]
        prediction.faces = [Face(box, crop, {}) for box, crop in zip(boxes, crops, strict=True)]
        return prediction

    def _predict_faces(self, predictions: Sequence[FacePrediction], batch_size: int) -> None:
        """Fill every face's task results, ``batch_size`` crops at a time."""
        faces = [(p.image, face) for p in predictions for face in p.faces]
        for start in range(0, len(faces), batch_size):
            chunk = faces[start : start + batch_size]
            batch = torch.stack([self.network_input(photo, face.crop) for photo, face in chunk])
            with torch.no_grad(), self.precision():
                outputs = self.model.predict_all(batch.to(self.device))
            outputs = {name: _float32(output) for name, output in outputs.items()}
            for index, (photo, face) in enumerate(chunk):
                for name, output in outputs.items():
                    task = self.model.tasks[name]
                    raw = _one(output, index)
                    json = _task_json(task, raw, photo.size, face.crop)
                    face.tasks[name] = TaskResult(name, json, raw, task)


def _float32(output: Any) -> Any:
    """A prediction with its floating-point tensors in float32 (bfloat16 has no NumPy type)."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.is_floating_point() else output
    if isinstance(output, dict):
        return {key: _float32(value) for key, value in output.items()}
    if isinstance(output, (list, tuple)):
        return type(output)(_float32(value) for value in output)
    return output


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
    bf16: bool = False,
) -> Predictor:
    """The network of a checkpoint file, a run folder's latest checkpoint or an installed
    pretrained model (by name, e.g. ``"faces3"``), in eval mode.

    The manifest comes from the checkpoint (``overrides`` as ``--set`` applies them on top); its
    tasks' plugins must be installed (an error names the missing distribution). ``device``
    defaults to the GPU when there is one; ``bf16`` runs it in bfloat16 autocast (see
    :meth:`Predictor.precision`). ``model.backbone_checkpoint`` is not read: it only initialises
    training, and the checkpoint holds every weight.
    """
    target = resolve_device(device)
    registry = registry if registry is not None else load_registry()
    checkpoint = open_checkpoint(resolve_model(path, registry))
    manifest = manifest_from_meta(checkpoint.meta, list(overrides), registry, training=False)
    untrained = manifest.model.model_copy(update={"backbone_checkpoint": None})
    model = build_model(replace(manifest, model=untrained))
    try:
        model.load_state_dict(checkpoint.model)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint {checkpoint.path}: its weights do not fit the network its manifest "
            f"describes (a --set that changes the model?): {exc}"
        ) from exc
    # Channels-last convolutions are faster on CPUs and GPUs (bench/results/performance.md).
    model.to(target).to(memory_format=torch.channels_last).eval()
    return Predictor(model, manifest, checkpoint.path, checkpoint.meta, target, registry, bf16)
