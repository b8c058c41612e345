"""Dataset formats of the parsing task. Every reader crops the face by the model's crop rule into
the ``S x S`` input and, on the splits that are scored, keeps the crop's labels at the photo's
resolution (see :mod:`ifan.data.masks`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from ifan.contract import DatasetFormat, FormatOptions, LabelSchema, OpenContext, Split
from ifan.data.dataset import RecordDataset
from ifan.data.masks import SizeMismatch
from ifan_tasks.parsing.classes import CELEBAMASK_LABELS, FASSEG_LABELS
from ifan_tasks.parsing.fasseg import open_fasseg
from ifan_tasks.parsing.helen import open_helen
from ifan_tasks.parsing.masks import open_masked, read_celebamask, read_mask_folder


class ParsingFormatOptions(FormatOptions):
    """Options every parsing format has."""

    size_mismatch: SizeMismatch = Field(
        default="error",
        description="a label image whose shape differs from its photo: 'error' (report it) or "
        "'resize' (resize the label to the photo, nearest neighbour)",
    )


class HelenFormat(DatasetFormat[ParsingFormatOptions]):
    """Helen (Smith et al. 2013): 11 per-class maps a face, list lines ``index , name``; the
    classes are the task's default; see :mod:`ifan_tasks.parsing.helen`."""

    name = "helen"
    description = "Helen relabelled by Smith et al. 2013: images/, labels/<name>/<name>_lbl00.png"
    split_paths = "a list file of 'index , name' lines (exemplars.txt, tuning.txt, testing.txt)"
    Options = ParsingFormatOptions

    def open(
        self, path: Path, split: Split, options: ParsingFormatOptions, ctx: OpenContext
    ) -> RecordDataset:
        return open_helen(path, ctx, options.size_mismatch, scored=split != "train")


class FassegFormat(DatasetFormat[ParsingFormatOptions]):
    """FASSEG: colour-coded labels mapped to the nearest of 6 class colours (background, skin,
    hair and eyebrows, eyes, nose, mouth); see :mod:`ifan_tasks.parsing.fasseg`."""

    name = "fasseg"
    description = "FASSEG colour-coded label images, Train_RGB/ beside Train_Labels/"
    split_paths = "a photo folder (e.g. V1/Train_RGB), with its *_Labels folder beside it"
    Options = ParsingFormatOptions

    def labels(self, options: ParsingFormatOptions) -> LabelSchema:
        return FASSEG_LABELS

    def open(
        self, path: Path, split: Split, options: ParsingFormatOptions, ctx: OpenContext
    ) -> RecordDataset:
        return open_fasseg(path, ctx, options.size_mismatch, scored=split != "train")


class CelebAMaskFormat(DatasetFormat[ParsingFormatOptions]):
    """CelebAMask-HQ index masks (19 classes); see :mod:`ifan_tasks.parsing.masks`."""

    name = "celebamask"
    description = "CelebAMask-HQ: CelebA-HQ-img/ and the index masks CelebAMask-HQ-mask/"
    split_paths = "the dataset folder, or a list file of image names in it"
    Options = ParsingFormatOptions

    def labels(self, options: ParsingFormatOptions) -> LabelSchema:
        return CELEBAMASK_LABELS

    def open(
        self, path: Path, split: Split, options: ParsingFormatOptions, ctx: OpenContext
    ) -> RecordDataset:
        records = read_celebamask(path, ctx.bad, options.size_mismatch)
        classes = len(CELEBAMASK_LABELS.names)
        return open_masked(records, ctx, classes, options.size_mismatch, split != "train")


class MaskFolderOptions(ParsingFormatOptions):
    classes: list[str] = Field(
        min_length=2, max_length=255, description="class names, in mask index order"
    )
    groups: dict[str, list[str]] = Field(default={}, description="named groups scored merged")
    mirror: list[tuple[str, str]] | None = Field(
        default=None,
        description="pairs of classes a horizontal flip swaps; default: the classes whose names "
        "differ by left/right (left_eye and right_eye)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> MaskFolderOptions:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes {self.classes} name a class twice")
        for group, members in self.groups.items():
            if group in self.classes:
                raise ValueError(f"group {group!r} has the name of a class; rename it")
            unknown = [m for m in members if m not in self.classes]
            if unknown or not members:
                raise ValueError(f"group {group!r}: {unknown or 'no members'} not among classes")
        paired = [name for pair in self.mirror or [] for name in pair]
        if any(name not in self.classes for name in paired) or len(set(paired)) != len(paired):
            raise ValueError(f"mirror {self.mirror}: pairs of classes, each class at most once")
        return self


class MaskFolderFormat(DatasetFormat[MaskFolderOptions]):
    """Photos with index masks (value = class index, 255 = ignore); classes from the manifest."""

    name = "mask-folder"
    description = "a folder of images/ and masks/ (PNG of class indices)"
    split_paths = "a folder with images/ and masks/"
    Options = MaskFolderOptions

    def labels(self, options: MaskFolderOptions) -> LabelSchema:
        groups = {name: tuple(members) for name, members in options.groups.items()}
        mirror = None if options.mirror is None else tuple(options.mirror)
        return LabelSchema(
            kind="segmentation", names=tuple(options.classes), groups=groups, mirror=mirror
        )

    def open(
        self, path: Path, split: Split, options: MaskFolderOptions, ctx: OpenContext
    ) -> RecordDataset:
        records = read_mask_folder(path, ctx.bad, options.size_mismatch)
        classes = len(options.classes)
        return open_masked(records, ctx, classes, options.size_mismatch, split != "train")


FORMATS = (HelenFormat(), FassegFormat(), CelebAMaskFormat(), MaskFolderFormat())
