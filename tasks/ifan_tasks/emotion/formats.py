"""Dataset formats of the emotion task (readers in :mod:`ifan_tasks.emotion.readers`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from ifan.contract import DatasetFormat, FormatOptions, LabelSchema, OpenContext, Split
from ifan.data.classes import open_class_folders
from ifan.data.dataset import RecordDataset
from ifan_tasks.emotion.readers import FER2013_CLASSES, open_fer2013_csv


class FolderOptions(FormatOptions):
    classes: list[str] = Field(
        default=list(FER2013_CLASSES),
        min_length=2,
        description="class names = sub-folder names, in class-index order (default FER2013's)",
    )
    rename: dict[str, str] = Field(
        default={},
        description="sub-folders named otherwise than their class, each folder's name mapped to "
        'its class: { anger = "angry", sadness = "sad" } scores CK+ with FER2013\'s classes',
    )
    leave_out: list[str] = Field(
        default=[],
        description='sub-folders not read, e.g. ["contempt"], a class the model does not '
        "have; their images are counted and reported",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FolderOptions:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes {self.classes} name a class twice")
        unknown = {f: c for f, c in self.rename.items() if c not in self.classes}
        if unknown:
            raise ValueError(
                f"rename maps folders to {', '.join(map(repr, unknown.values()))}, which "
                f"classes does not list ({', '.join(self.classes)})"
            )
        both = [f for f in self.leave_out if f in self.classes or f in self.rename]
        if both:
            raise ValueError(
                f"leave_out names {', '.join(map(repr, both))}, which classes or rename read: "
                "leave it out of one of them"
            )
        return self


class FolderFormat(DatasetFormat[FolderOptions]):
    """One sub-folder of images per class (FER2013 as distributed as images)."""

    name = "folder"
    description = "one folder per class (FER2013 as distributed as images)"
    split_paths = "a folder with one sub-folder per class"
    Options = FolderOptions

    def labels(self, options: FolderOptions) -> LabelSchema:
        return LabelSchema(kind="class", names=tuple(options.classes))

    def open(
        self, path: Path, split: Split, options: FolderOptions, ctx: OpenContext
    ) -> RecordDataset:
        return open_class_folders(path, options.classes, ctx, options.rename, options.leave_out)


FER2013_USAGE: dict[Split, str] = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


class Fer2013CsvOptions(FormatOptions):
    usage: dict[Split, str] = Field(
        default=FER2013_USAGE,
        description="the Usage value read for each split; splits not given keep the default "
        "(train Training, val PublicTest, test PrivateTest)",
    )

    @model_validator(mode="after")
    def _with_defaults(self) -> Fer2013CsvOptions:
        self.usage = {**FER2013_USAGE, **self.usage}
        return self


class Fer2013CsvFormat(DatasetFormat[Fer2013CsvOptions]):
    """The original fer2013.csv (``emotion,pixels,Usage``); each split reads the rows of one
    ``Usage`` and the emotion codes become the FER2013 folder classes."""

    name = "fer2013-csv"
    description = "the original fer2013.csv: emotion, pixels, Usage"
    split_paths = "the CSV file (the split is chosen by its Usage column)"
    Options = Fer2013CsvOptions

    def labels(self, options: Fer2013CsvOptions) -> LabelSchema:
        return LabelSchema(kind="class", names=FER2013_CLASSES)

    def open(
        self, path: Path, split: Split, options: Fer2013CsvOptions, ctx: OpenContext
    ) -> RecordDataset:
        return open_fer2013_csv(path, options.usage[split], ctx)


FORMATS = (FolderFormat(), Fer2013CsvFormat())
