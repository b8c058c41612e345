"""The task-plugin contract: what every task (built-in or third-party) provides to the core.

A task plugin returns :class:`Task` subclasses from the ``ifan_tasks`` hook (see
:mod:`ifan.hookspecs`). The core never imports a task directly: it builds the shared backbone,
asks each task for its decoder and re-encoder, and drives training, evaluation and prediction
through the methods below.

The contract is versioned by :data:`CONTRACT_VERSION` (``MAJOR.MINOR``). A task states the version
it targets in ``contract_version``; it is compatible when the majors are equal and its minor is not
newer than the core's. Minor versions only add optional parts; a major version changes or removes
something a task must provide.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from ifan.data.bad_samples import BadSamples

if TYPE_CHECKING:
    from ifan.data.face_boxes import CropReport, FaceHint, FaceLocator
    from ifan.data.images import Box

CONTRACT_VERSION = "1.4"
"""1.1 added :meth:`OpenContext.crops` (the crop rule for readers) and
:meth:`Task.augment_batch` (augmentation of whole batches); 1.2 the optional ``ifan_models`` hook
(pretrained models shipped by plugins, :mod:`ifan.pretrained`); 1.3 :mod:`ifan.api` (the helpers
of plugins, stable within the major version), ``Metric.layout`` (how ``ifan eval`` lays a metric's
values out), ``BadSamples.leave_out`` (samples a reader leaves out on purpose), augmentation's
``classes=`` (the default ``augment_batch`` swaps a ``label`` a flip swaps), ``Line.file`` and
``read_csv_lines(header=)``; and it refuses to augment a points or mask task whose
``augment_batch`` would leave its labels behind (:func:`moves_geometry`); 1.3 also added the
optional ``ifan_balancers`` and ``ifan_loggers`` hooks (loss balancers and training loggers,
chosen by ``train.balancer`` and ``train.loggers``: :mod:`ifan.balancers`, :mod:`ifan.loggers`);
1.4 :meth:`Task.unflip` (a mirrored face's prediction mapped back, for ``[model] test_flip``)."""

TASK_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""Task names: lower-case identifiers, usable as manifest keys and metric prefixes."""

FORMAT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

RESERVED_TASK_KEYS = frozenset(
    {"batch_size", "loss_weight", "tap", "on_bad_sample", "augment", "data"}
)
"""Keys of ``[tasks.<name>]`` the core owns; a task's options must not reuse them."""

RESERVED_DATA_KEYS = frozenset(
    {"format", "train", "val", "test", "val_fraction", "train_samples", "oversample"}
)
"""Keys of ``[tasks.<name>.data]`` the core owns; a format's options must not reuse them."""

MAX_BATCH_SIZE = 4096

Split = Literal["train", "val", "test"]
"""The split a format opens: what the manifest's ``train``, ``val`` or ``test`` points to."""
SPLITS: tuple[Split, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class FeatureSpec:
    """The shape of one feature map per image: channels, height and width."""

    channels: int
    height: int
    width: int


@dataclass(frozen=True)
class BuildContext:
    """What the core tells a task when it asks for a decoder or a re-encoder.

    ``norm(channels)`` makes a batch-norm layer that follows the manifest's ``batchnorm`` mode
    (per-task statistics and affine parameters, or shared). Task modules that normalise should use
    it instead of ``nn.BatchNorm2d`` so that every batch norm in the network behaves the same way.
    """

    input_size: int
    norm: Callable[[int], Any]


class LabelSchema(BaseModel):
    """What a task's labels are, in words a user and the metric tables can show."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["segmentation", "points", "class", "value"]
    names: tuple[str, ...]
    """Class names (segmentation, class), point names (points) or the value's name (value)."""
    groups: dict[str, tuple[str, ...]] = {}
    """Named groups of classes that are also scored merged (e.g. Helen's ``mouth-all``)."""
    unit: str = ""
    mirror: tuple[tuple[str, str], ...] | None = None
    """Pairs of names a horizontal flip swaps (``left_eye``/``right_eye``). None: derived from the
    names (see :meth:`mirror_pairs`)."""

    def mirror_pairs(self) -> tuple[tuple[str, str], ...] | None:
        """The names a horizontal flip swaps: ``mirror`` when given, else the pairs of names that
        differ by ``left``/``right``; for points with no such names None (unknown), because an
        unnamed point set is rarely symmetric and a flip must not silently mislabel it."""
        if self.mirror is not None:
            return self.mirror
        from ifan.data.augment import infer_mirror

        pairs = infer_mirror(self.names)
        return None if self.kind == "points" and not pairs else pairs


@dataclass(frozen=True)
class OpenContext:
    """What the core tells a format when it opens a split.

    ``input_size`` is the side of the square crop the reader makes of each face (the network's
    input, or a little more for a prepared training split that keeps room for augmentation);
    ``bad`` receives every bad sample the reader finds (:meth:`BadSamples.report` raises or counts
    it, as the manifest's ``on_bad_sample`` says); ``faces`` finds each face's crop by the
    model's crop rule (see :meth:`crops`), and ``report`` says how.
    """

    input_size: int
    bad: BadSamples = field(default_factory=BadSamples)
    faces: FaceLocator | None = None
    report: CropReport = field(default_factory=lambda: _crop_report())

    def crops(self, hints: Sequence[FaceHint], progress: str | None = None) -> list[Box]:
        """The crop of each face by the model's crop rule (:mod:`ifan.data.face_boxes`), in the
        order of ``hints``; how each was found is added to ``report``. Without ``faces`` (a
        context made by hand, as in a reader's unit test) no detector runs: every face is
        cropped to the square around its annotation's region (a face photo: the whole photo,
        letterboxed)."""
        from ifan.data.face_boxes import FaceLocator

        locator = self.faces if self.faces is not None else FaceLocator.without_detector()
        boxes, report = locator.crops(hints, progress)
        self.report.merge(report)
        return boxes


class TaskOptions(BaseModel):
    """Base of every task's options model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class FormatOptions(BaseModel):
    """Base of every dataset format's options model (keys of ``[tasks.<name>.data]``)."""

    model_config = ConfigDict(extra="forbid")


OptionsT = TypeVar("OptionsT", bound=FormatOptions)
"""A format's options model: the parameter of :class:`DatasetFormat`."""


class DatasetFormat(ABC, Generic[OptionsT]):
    """A dataset layout a task can read, named in manifests as ``data.format``.

    Generic in its options model, so that :meth:`labels` and :meth:`open` take the options the
    format validates: ``class MyFormat(DatasetFormat[MyOptions])`` with ``Options = MyOptions``.
    A format without options of its own is a ``DatasetFormat[FormatOptions]`` and leaves
    ``Options`` as it is.
    """

    name: ClassVar[str]
    description: str = ""
    """One line for ``ifan formats`` and the docs; a format made per column or attribute (such as
    :class:`ifan.data.mtfl.MtflAttributeFormat`) sets its own in ``__init__``."""
    split_paths: ClassVar[str] = "a list file or a folder"
    """What ``train``, ``val`` and ``test`` point to in this format (for docs and errors)."""
    Options: type[OptionsT] = cast("type[OptionsT]", FormatOptions)
    """The model of the format's keys of ``[tasks.<name>.data]``; the core validates them with it
    and passes the result to :meth:`labels` and :meth:`open`. (A class attribute; the default, no
    options, is right for the ``DatasetFormat[FormatOptions]`` that keeps it.)"""

    def labels(self, options: OptionsT) -> LabelSchema | None:
        """The label schema this format defines (e.g. its class set), or None for the task's own."""
        return None

    @abstractmethod
    def open(self, path: Path, split: Split, options: OptionsT, ctx: OpenContext) -> Any:
        """Return a ``torch.utils.data.Dataset`` of ``(image, target)`` pairs for one split.

        ``image`` is a float tensor ``3 x S x S`` in [0, 1] (``S = ctx.input_size``), the face
        cropped the same way in every split; ``target`` is what the task's ``loss`` and metric
        take. Each bad sample goes to ``ctx.bad.report`` with its file and line; a problem with
        the whole split is raised as a :class:`~ifan.data.errors.DatasetError`.
        """


class Task(ABC):
    """One face analytics task: its data, its head on the backbone, its loss, metric and outputs.

    Subclasses set the class attributes and implement the methods. The core instantiates the class
    with the options validated from the manifest's ``[tasks.<name>]`` table.
    """

    name: ClassVar[str]
    contract_version: ClassVar[str]
    description: ClassVar[str] = ""
    Options: ClassVar[type[TaskOptions]] = TaskOptions
    labels: LabelSchema
    """The label schema: the class attribute is the default, an instance has the one it was made
    with (a format may define its own, ``DatasetFormat.labels``)."""
    formats: ClassVar[Sequence[DatasetFormat[Any]]]
    default_tap: ClassVar[str]
    """Backbone tap the decoder reads unless the manifest overrides it (e.g. ``down4``, ``up0``)."""
    default_batch_size: ClassVar[int] = 32

    def __init__(self, options: TaskOptions | None = None, labels: LabelSchema | None = None):
        self.options = options if options is not None else self.Options()
        self.labels = labels if labels is not None else type(self).labels

    @classmethod
    def format(cls, name: str) -> DatasetFormat[Any]:
        """The dataset format called ``name``; KeyError when this task has none."""
        for fmt in cls.formats:
            if fmt.name == name:
                return fmt
        raise KeyError(name)

    @abstractmethod
    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        """An ``nn.Module`` mapping the tap's features ``B x C x H x W`` to a prediction batch."""

    @abstractmethod
    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        """An ``nn.Module`` mapping a prediction batch to one feature map per entry of ``levels``.

        Output ``i`` has shape ``B x levels[i].channels x levels[i].height x levels[i].width``.
        """

    @abstractmethod
    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        """The raw prediction as maps ``B x K x height x width`` (the ``resize`` ablation)."""

    @property
    def prediction_channels(self) -> int:
        """Channels of :meth:`prediction_maps`; by default one per label name."""
        return len(self.labels.names)

    def collate(self, samples: Sequence[tuple[Any, Any]]) -> tuple[Any, Any]:
        """Batch ``(image, target)`` samples; override when targets hold variable-size parts."""
        from torch.utils.data import default_collate

        return default_collate(list(samples))

    def augment(self, image: Any, target: Any, augment: Any) -> tuple[Any, Any]:
        """One training sample randomly changed by ``augment``: contract 1.0's per-sample form,
        still called (by the default :meth:`augment_batch`) for a task that overrides it.

        ``augment(image, mask=None, points=None)`` returns the changed sample (``.image``,
        ``.mask``, ``.points``, ``.scale``); see :mod:`ifan.data.batch_augment`.
        """
        return augment(image).image, target

    def augment_batch(self, images: Any, target: Any, augment: Any) -> tuple[Any, Any]:
        """A training batch randomly changed by ``augment`` (contract 1.1), on the batch's device.

        ``augment(images, masks=None, points=None, classes=None)`` returns the changed batch
        (``.image`` ``B x 3 x S x S``, ``.mask``, ``.points``, ``.classes`` and ``.scale``, how
        much each sample's lengths grew). The default changes the images, and a class task's
        ``target["label"]`` where a flip swaps its class (its labels' mirror pairs, e.g. a head
        pose's left and right): right for per-image labels. A task whose target has a geometry
        (points, a mask) must override this and pass it too, so that both move together; ifan
        refuses to augment one that does not (:func:`moves_geometry`). A contract 1.0 task that
        overrides :meth:`augment` is served sample by sample.
        """
        if type(self).augment is not Task.augment:
            from ifan.data.batch_augment import augment_per_sample

            return augment_per_sample(self, images, target, augment)
        swaps = self.labels.kind == "class" and bool(self.labels.mirror_pairs())
        if swaps and isinstance(target, dict) and "label" in target:
            out = augment(images, classes=target["label"])
            return out.image, {**target, "label": out.classes}
        return augment(images).image, target

    def unflip(self, prediction: Any) -> Any:
        """A prediction batch of horizontally mirrored faces mapped back onto the faces
        themselves, in the same structure (contract 1.4), or None when the task cannot: then
        ``[model] test_flip`` keeps its plain prediction. The default maps class scores ``B x K``
        back (swapping the classes a flip swaps, :func:`ifan.api.unflip_classes`) and returns
        None for other kinds; a points or mask task overrides it with
        :func:`ifan.api.unflip_points` or :func:`ifan.api.unflip_maps`."""
        from ifan.network.test_flip import unflip_classes

        if self.labels.kind == "class" and hasattr(prediction, "shape"):
            return unflip_classes(prediction, self.labels)
        return None

    @abstractmethod
    def loss(self, prediction: Any, target: Any) -> Any:
        """A scalar loss tensor for one batch."""

    @abstractmethod
    def new_metric(self) -> Any:
        """A fresh :class:`ifan.metrics.Metric` for one evaluation pass."""

    @abstractmethod
    def to_json(self, prediction: Any) -> dict[str, Any]:
        """One image's prediction as JSON-serialisable data.

        A task whose prediction has a place in the image (points, a mask) defines it as
        ``to_json(prediction, size=None, box=None)``: with ``size = (width, height)`` it returns
        the places in the pixels of that photo, whose face crop is ``box`` (None: the photo
        letterboxed), as ``ifan predict`` asks for them; ``Box.from_crop`` and
        ``ifan.data.images.uncrop`` map crop coordinates and maps there.
        """

    @abstractmethod
    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """One image's prediction (and ground truth when given) drawn on a ``PIL.Image``."""


GEOMETRIC_KINDS = frozenset({"points", "segmentation"})
"""Kinds of label with a place in the image, which augmentation must move with the image."""


def moves_geometry(task: Task | type[Task]) -> bool:
    """Whether augmentation keeps ``task``'s target in step with its images: a task whose labels
    have no place in the image (a class, a value), or one that overrides
    :meth:`Task.augment_batch` (or contract 1.0's :meth:`Task.augment`) to move them. The
    default of a points or mask task moves the image alone, which would train it on flipped
    faces with unflipped labels."""
    cls = task if isinstance(task, type) else type(task)
    labels = task.labels
    overridden = cls.augment_batch is not Task.augment_batch or cls.augment is not Task.augment
    return labels.kind not in GEOMETRIC_KINDS or overridden


def _crop_report() -> CropReport:
    from ifan.data.face_boxes import CropReport

    return CropReport()


def parse_version(text: str) -> tuple[int, int]:
    """``"1.2"`` -> ``(1, 2)``; ValueError for anything else."""
    match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    if not match:
        raise ValueError(f"contract version {text!r} is not of the form MAJOR.MINOR")
    return int(match.group(1)), int(match.group(2))


def contract_problem(targeted: str, provided: str = CONTRACT_VERSION) -> str | None:
    """Why a task targeting ``targeted`` cannot run on this core, or None when it can."""
    try:
        want = parse_version(targeted)
    except ValueError as exc:
        return str(exc)
    have = parse_version(provided)
    if want[0] > have[0] or (want[0] == have[0] and want[1] > have[1]):
        return (
            f"targets task contract {targeted} but this ifan provides {provided}: upgrade ifan "
            "(pip install -U ifan)"
        )
    if want[0] < have[0]:
        return (
            f"targets task contract {targeted} but this ifan provides {provided}: upgrade the "
            "plugin, or install an ifan release of contract major version "
            f"{want[0]}"
        )
    return None
