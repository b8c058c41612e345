"""Opening a task's dataset splits as the manifest says: the format's reader with the model's crop
rule, the bad-sample policy, a validation split carved out of train, the prepared copy of each
split, and the augmentation of the training split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import Dataset, Subset

from ifan.contract import SPLITS, OpenContext, Split, Task, moves_geometry
from ifan.data.augment import mirror_permutation
from ifan.data.bad_samples import BadSamples
from ifan.data.crop import NO_DETECTOR
from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import CropReport, FaceLocator
from ifan.data.oversample import Oversample, sample_weights
from ifan.errors import IfanError
from ifan.manifest.loader import TaskConfig

if TYPE_CHECKING:
    from ifan.data.batch_augment import BatchAugment
    from ifan.manifest import Manifest


@dataclass
class TaskSplits:
    """One task's opened splits, where each came from, what its reader skipped, how its faces
    were cropped, and the training split's augmentation (None: not augmented)."""

    task: str
    datasets: dict[Split, Dataset] = field(default_factory=dict)
    sources: dict[Split, str] = field(default_factory=dict)
    bad: dict[Split, BadSamples] = field(default_factory=dict)
    crops: dict[Split, CropReport] = field(default_factory=dict)
    augment: BatchAugment | None = None
    weights: torch.Tensor | None = None
    """Each training sample's weight in the draw (``data.oversample``); None: drawn evenly."""


def carve(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)`` indices of a ``size``-sample split, ``fraction`` of them (at least one)
    drawn for val by ``seed``; disjoint, each sorted."""
    count = max(1, round(size * fraction))
    if count >= size:
        raise DatasetError(
            f"val_fraction {fraction} of {size} samples leaves none to train on; lower it"
        )
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(order[count:]), sorted(order[:count])


def open_splits(
    config: TaskConfig,
    task: Task,
    manifest: Manifest,
    splits: Sequence[Split] = SPLITS,
    augment: bool = True,
    progress: bool = True,
    prepare: bool | None = None,
) -> TaskSplits:
    """The splits of ``splits`` that the task's data table gives (val may be carved from train),
    each face cropped by the manifest's crop rule, read from its prepared copy when
    ``train.prepared``; the training split keeps ``train.room`` around each face and gets its
    augmentation unless ``augment`` is False or the task's table turns it off. ``prepare``
    overrides ``train.prepared``."""
    data = config.data
    seed = manifest.train.seed
    out = TaskSplits(config.name)
    carving = data.val_fraction is not None and "val" in splits
    augmenting = augment and config.augment.enabled and "train" in splits
    prepare = manifest.train.prepared if prepare is None else prepare
    opener = _Opener(config, manifest, progress, prepare)
    for split in SPLITS:
        wanted = split in splits or (split == "train" and carving)
        if not wanted or split not in data.splits:
            continue
        room = manifest.train.room if split == "train" and augmenting else 1.0
        dataset, bad, report = opener.open(split, room)
        out.datasets[split] = dataset
        out.sources[split] = str(data.splits[split])
        out.bad[split] = bad
        out.crops[split] = report
    if carving:
        assert data.val_fraction is not None
        train = out.datasets["train"]
        # torch's Dataset declares no __len__; every reader's dataset has one
        kept, held = carve(len(train), data.val_fraction, seed)  # type: ignore[arg-type]
        # The training split keeps room around each face; val needs the plain crops, of its
        # own samples only.
        val = Subset(train, held) if not augmenting else opener.open("train", 1.0, held)[0]
        out.datasets["train"], out.datasets["val"] = Subset(train, kept), val
        out.sources["train"] += f" ({len(kept) + len(held)} read, {len(held)} carved out as val)"
        out.sources["val"] = f"val_fraction {data.val_fraction:g} of train, seed {seed}"
        out.bad["val"] = BadSamples(config.on_bad_sample)
        out.crops["val"] = out.crops["train"]
        if "train" not in splits:
            for table in (out.datasets, out.sources, out.bad, out.crops):
                del table["train"]
    if data.train_samples is not None and "train" in out.datasets:
        _limit_train(out, data.train_samples, seed)
    if data.oversample and "train" in out.datasets:
        _weigh_train(out, data.oversample)
    for table in (out.datasets, out.sources, out.bad, out.crops):
        _in_split_order(table)
    if augmenting and "train" in out.datasets:
        out.augment = batch_augment(config, task, manifest.model.input_size, manifest.train.room)
    return out


def _in_split_order(table: dict[Split, Any]) -> None:
    """Reorder ``table`` train, val, test: a val carved out of train was added last."""
    ordered = {split: table.pop(split) for split in SPLITS if split in table}
    table.update(ordered)


class _Opener:
    """Opens one split of a task at a given room, through its prepared copy when asked."""

    def __init__(self, config: TaskConfig, manifest: Manifest, progress: bool, prepare: bool):
        self.config = config
        self.manifest = manifest
        self.progress = progress
        self.prepare = prepare
        self.locators: dict[float, FaceLocator] = {}

    def open(
        self, split: Split, room: float, keep: Sequence[int] | None = None
    ) -> tuple[Dataset, BadSamples, CropReport]:
        """The split at ``room``; only the samples at ``keep`` when given."""
        config, data = self.config, self.config.data
        size = round(self.manifest.model.input_size * room)
        bad = BadSamples(config.on_bad_sample)
        ctx = OpenContext(size, bad, self._locator(room))
        fmt = config.entry.cls.format(data.format)
        try:
            dataset = fmt.open(data.splits[split], split, data.options, ctx)
            if keep is not None:
                dataset = (
                    dataset.subset(keep)
                    if isinstance(dataset, RecordDataset)
                    else Subset(dataset, list(keep))
                )
            if self.prepare:
                from ifan.data.preparation import prepared_split

                dataset = prepared_split(dataset, config, split, size, room, self.progress)
                for reason in getattr(dataset, "skipped", []):
                    bad.report(DatasetError(reason))
        except DatasetError as error:
            raise DatasetError(f"tasks.{config.name}.data.{split}: {error}") from None
        return dataset, bad, ctx.report

    def _locator(self, room: float) -> FaceLocator:
        if room not in self.locators:
            from ifan.data.face_boxes import BoxCache
            from ifan.detection import get_detector
            from ifan.plugins import load_registry

            rule = self.manifest.model.crop
            if rule.detector == NO_DETECTOR:
                self.locators[room] = FaceLocator(rule, None, None, room)
            else:
                detector = get_detector(load_registry(), rule.detector)
                self.locators[room] = FaceLocator(rule, detector, BoxCache(), room)
        return self.locators[room]


def _limit_train(out: TaskSplits, samples: int, seed: int) -> None:
    """Keep ``samples`` of the training split, drawn by ``seed`` (a different draw from the val
    carving's); a split already that small is kept whole."""
    train = out.datasets["train"]
    size = len(train)  # type: ignore[arg-type]
    if samples >= size:
        return
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed + 1)).tolist()
    out.datasets["train"] = Subset(train, sorted(order[:samples]))
    out.sources["train"] += f" (train_samples: {samples} of {size} kept)"


def _weigh_train(out: TaskSplits, oversample: Oversample) -> None:
    """The training samples' weights in the draw, and what was weighted in its source line."""
    try:
        out.weights, summary = sample_weights(out.datasets["train"], oversample)
    except DatasetError as error:
        raise DatasetError(f"tasks.{out.task}.data.oversample: {error}") from None
    out.sources["train"] += f" (oversampled: {summary})"


def batch_augment(config: TaskConfig, task: Task, input_size: int, room: float) -> BatchAugment:
    """The task's augmentation, with the mirror permutation of its labels; an error for a task
    whose labels augmentation would leave behind (see :func:`ifan.contract.moves_geometry`)."""
    from ifan.data.batch_augment import BatchAugment

    if not moves_geometry(task):
        cls = type(task).__name__
        raise IfanError(
            f"tasks.{config.name}.augment: {config.name}'s labels are {task.labels.kind}, which "
            f"augmentation must move with the image (flip, rotation, zoom), but {cls} does not "
            "override Task.augment_batch to pass them to it, so it would train on moved faces "
            f"with labels left in place: implement {cls}.augment_batch (docs/plugins.md, "
            f"Augmentation), or turn augmentation off with [tasks.{config.name}.augment] "
            "enabled = false"
        )
    pairs = task.labels.mirror_pairs()
    swap = None if pairs is None else mirror_permutation(task.labels.names, pairs)
    try:
        return BatchAugment(config.augment, input_size, swap, room)
    except IfanError as error:
        raise IfanError(f"tasks.{config.name}.augment.flip: {error}") from None


def as_float(image: Any) -> Any:
    """A sample's or batch's image in [0, 1] float: prepared splits hold uint8 pixels."""
    if isinstance(image, torch.Tensor) and image.dtype == torch.uint8:
        return image.float().div_(255)
    return image
