"""Dataset formats of the age task (readers in :mod:`ifan_task_age.readers`)."""

from __future__ import annotations

from pathlib import Path

from ifan.contract import DatasetFormat, FormatOptions, OpenContext, Split
from ifan.data.dataset import RecordDataset
from ifan.data.utkface import UTKFACE_LAYOUT

from ifan_task_age.readers import AgeRecord, open_records, read_age_csv, read_utkface


class UtkFaceFormat(DatasetFormat[FormatOptions]):
    """UTKFace: the age is the first field of ``<age>_<gender>_<race>_<datetime>.jpg...``."""

    name = "utkface"
    description = "UTKFace: the labels are in the file names"
    split_paths = f"a folder of UTKFace images named {UTKFACE_LAYOUT} (searched recursively)"

    def open(
        self, path: Path, split: Split, options: FormatOptions, ctx: OpenContext
    ) -> RecordDataset[AgeRecord]:
        return open_records(read_utkface(path, ctx.bad), ctx)


class AgeCsvFormat(DatasetFormat[FormatOptions]):
    """CSV lines ``image,age`` (years), image paths relative to the CSV file, optional header."""

    name = "csv"
    description = "CSV lines: image path, age in years"
    split_paths = "a CSV file"

    def open(
        self, path: Path, split: Split, options: FormatOptions, ctx: OpenContext
    ) -> RecordDataset[AgeRecord]:
        return open_records(read_age_csv(path, ctx.bad), ctx)


FORMATS = (UtkFaceFormat(), AgeCsvFormat())
