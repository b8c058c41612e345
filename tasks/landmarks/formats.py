"""Dataset formats of the landmarks task; how faces are cropped is in
:mod:`ifan_tasks.landmarks.samples`, the file layouts in :mod:`ifan_tasks.landmarks.mtfl` and
:mod:`ifan_tasks.landmarks.pointfiles`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from pydantic import Field, model_validator

from ifan.contract import DatasetFormat, LabelSchema, Split
from ifan.data.dataset import RecordDataset
from ifan_tasks.landmarks.mtfl import MTFL_EYES, read_mtfl
from ifan_tasks.landmarks.pointfiles import read_point_csv, read_pts_folder
from ifan_tasks.landmarks.samples import Crop, CropOptions, LandmarkRecord, load_landmarks

IBUG68_EYES = ((36, 39), (42, 45))
"""The eye corners of the 68-point iBUG/300-W mark-up; each eye's centre is their middle."""


def _dataset(
    records: list[LandmarkRecord], size: int, eyes: Sequence[Sequence[int]], options: CropOptions
) -> RecordDataset:
    load = partial(load_landmarks, size=size, eyes=eyes, crop=options.crop, margin=options.margin)
    return RecordDataset(records, load)


class MtflFormat(DatasetFormat):
    """MTFL's 5 points (the task's default point names) and 4 attributes; see
    :mod:`ifan_tasks.landmarks.mtfl`. The eye centres are points 1 and 2."""

    name = "mtfl"
    description = "MTFL: training.txt / testing.txt, 5 points and 4 attributes a line"
    split_paths = "the list file (training.txt or testing.txt) beside the image folders"
    Options = CropOptions

    def open(
        self, path: Path, split: Split, options: CropOptions, input_size: int
    ) -> RecordDataset:
        return _dataset(read_mtfl(path), input_size, MTFL_EYES, options)


class PointSetOptions(CropOptions):
    """Options of the formats with any number of points."""

    points: int = Field(68, ge=2, le=1000, description="points per face")
    names: list[str] | None = Field(None, description="point names (default p0, p1, ...)")
    eyes: list[list[int]] | None = Field(
        None,
        description="the point indices (0-based) of each eye, averaged into its centre for the "
        "inter-ocular distance; default [[36, 39], [42, 45]] (eye corners) for 68 points",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PointSetOptions:
        if self.names is not None and len(self.names) != self.points:
            raise ValueError(f"names lists {len(self.names)} points but points = {self.points}")
        if self.eyes is None and self.points != 68:
            raise ValueError(
                f"give eyes (the indices of each eye's points) for {self.points} points"
            )
        eyes = self.eye_groups()
        if len(eyes) != 2 or not all(eyes):
            raise ValueError(f"eyes must list two non-empty groups of point indices, got {eyes}")
        if any(not 0 <= i < self.points for group in eyes for i in group):
            raise ValueError(f"eyes {eyes}: indices must be 0 to {self.points - 1}")
        return self

    def eye_groups(self) -> list[list[int]]:
        """The two eyes' point indices."""
        return self.eyes if self.eyes is not None else [list(e) for e in IBUG68_EYES]

    def schema(self) -> LabelSchema:
        """The point names as a label schema."""
        names = tuple(self.names) if self.names else tuple(f"p{i}" for i in range(self.points))
        return LabelSchema(kind="points", names=names, unit="normalised coordinates")


class PtsOptions(PointSetOptions):
    crop: Crop = Field("points", description=CropOptions.model_fields["crop"].description)
    one_based: bool = Field(True, description="coordinates start at 1 (menpo's reading of .pts)")


class PtsFormat(DatasetFormat):
    """menpo/300-W ``.pts`` files; faces cropped around their points by default."""

    name = "pts"
    description = "menpo / 300-W .pts files beside their images"
    split_paths = "a folder of images with .pts files"
    Options = PtsOptions

    def labels(self, options: PtsOptions) -> LabelSchema:
        return options.schema()

    def open(self, path: Path, split: Split, options: PtsOptions, input_size: int) -> RecordDataset:
        eyes = options.eye_groups()
        records = read_pts_folder(path, options.points, eyes, options.one_based)
        return _dataset(records, input_size, eyes, options)


class CsvFormat(DatasetFormat):
    """CSV lines ``image,x1,y1,...`` (0-based pixels, optional header)."""

    name = "csv"
    description = "CSV lines: image path, then x,y for every point"
    split_paths = "a CSV file"
    Options = PointSetOptions

    def labels(self, options: PointSetOptions) -> LabelSchema:
        return options.schema()

    def open(
        self, path: Path, split: Split, options: PointSetOptions, input_size: int
    ) -> RecordDataset:
        eyes = options.eye_groups()
        return _dataset(read_point_csv(path, options.points, eyes), input_size, eyes, options)


FORMATS = (MtflFormat(), PtsFormat(), CsvFormat())
