"""Dataset formats of the landmarks task (readers: issue #4)."""

from __future__ import annotations

from pathlib import Path

from ifan.contract import DatasetFormat, FormatOptions, Split


class _Pending(DatasetFormat):
    def open(self, path: Path, split: Split, options: FormatOptions, input_size: int):
        raise NotImplementedError(f"the {self.name} reader lands with issue #4")


class MtflFormat(_Pending):
    name = "mtfl"
    description = "MTFL: training.txt / testing.txt, 5 points and 4 attributes a line"
    split_paths = "the list file (training.txt or testing.txt) beside the image folders"


class PtsFormat(_Pending):
    name = "pts"
    description = "menpo / 300-W .pts files beside their images"
    split_paths = "a folder of images with .pts files"


class CsvFormat(_Pending):
    name = "csv"
    description = "CSV lines: image path, then x,y for every point"
    split_paths = "a CSV file"


FORMATS = (MtflFormat(), PtsFormat(), CsvFormat())
