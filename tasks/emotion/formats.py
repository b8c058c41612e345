"""Dataset formats of the emotion task (readers: issue #4)."""

from __future__ import annotations

from pathlib import Path

from ifan.contract import DatasetFormat, FormatOptions, Split


class _Pending(DatasetFormat):
    def open(self, path: Path, split: Split, options: FormatOptions, input_size: int):
        raise NotImplementedError(f"the {self.name} reader lands with issue #4")


class FolderFormat(_Pending):
    name = "folder"
    description = "one folder per class (FER2013 as distributed as images)"
    split_paths = "a folder with one sub-folder per class"


class Fer2013CsvFormat(_Pending):
    name = "fer2013-csv"
    description = "the original fer2013.csv: emotion, pixels, Usage"
    split_paths = "the CSV file (the split is chosen by its Usage column)"


FORMATS = (FolderFormat(), Fer2013CsvFormat())
