"""Dataset formats of the parsing task (readers: issue #4)."""

from __future__ import annotations

from pathlib import Path

from ifan.contract import DatasetFormat, FormatOptions, Split
from pydantic import Field


class _Pending(DatasetFormat):
    def open(self, path: Path, split: Split, options: FormatOptions, input_size: int):
        raise NotImplementedError(f"the {self.name} reader lands with issue #4")


class HelenFormat(_Pending):
    name = "helen"
    description = "Helen relabelled by Smith et al. 2013: images/, labels/<name>/<name>_lbl00.png"
    split_paths = "a list file of image names (exemplars.txt, tuning.txt, testing.txt)"


class FassegFormat(_Pending):
    name = "fasseg"
    description = "FASSEG colour-coded label images, Train_RGB/ beside Train_Labels/"
    split_paths = "a folder holding the photos, with the label folder beside it"


class CelebAMaskFormat(_Pending):
    name = "celebamask"
    description = "CelebAMask-HQ index masks"
    split_paths = "a folder of images, or a list file of image names"


class MaskFolderOptions(FormatOptions):
    classes: list[str] = Field(min_length=2, description="class names, in mask index order")
    groups: dict[str, list[str]] = Field({}, description="named groups scored merged")


class MaskFolderFormat(_Pending):
    name = "mask-folder"
    description = "a folder of images/ and masks/ (PNG of class indices)"
    split_paths = "a folder with images/ and masks/"
    Options = MaskFolderOptions


FORMATS = (HelenFormat(), FassegFormat(), CelebAMaskFormat(), MaskFolderFormat())
