"""Dataset formats of the landmarks task; how faces are cropped is in
:mod:`ifan_tasks.landmarks.samples`, the file layouts in :mod:`ifan_tasks.landmarks.mtfl` and
:mod:`ifan_tasks.landmarks.pointfiles`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from pydantic import Field, model_validator

from ifan.contract import DatasetFormat, LabelSchema, OpenContext, Split
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.points import FacePoints
from ifan_tasks.landmarks.mtfl import MTFL_EYES, read_mtfl
from ifan_tasks.landmarks.pointfiles import read_point_csv, read_pts_folder
from ifan_tasks.landmarks.samples import CropOptions, face_hint, load_landmarks

IBUG68_EYES = ((36, 39), (42, 45))
"""The eye corners of the 68-point iBUG/300-W mark-up; each eye's centre is their middle."""
IBUG68_MIRROR = (
    *((i, 16 - i) for i in range(8)),  # jaw
    *((17 + i, 26 - i) for i in range(5)),  # brows
    (31, 35), (32, 34),  # nostrils
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),  # eyes
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58),  # outer lips
    (60, 64), (61, 63), (65, 67),  # inner lips
)  # fmt: skip
"""The point pairs of the 68-point mark-up that a horizontal flip swaps (0-based)."""


def _dataset(
    records: list[FacePoints],
    ctx: OpenContext,
    eyes: Sequence[Sequence[int]],
    options: CropOptions,
) -> RecordDataset:
    hint = partial(face_hint, crop=options.crop, margin=options.margin)
    load = partial(load_landmarks, size=ctx.input_size, eyes=eyes)
    return face_dataset(records, hint, load, ctx)


class MtflFormat(DatasetFormat[CropOptions]):
    """MTFL's 5 points (the task's default point names) and 4 attributes; see
    :mod:`ifan.data.mtfl`. The eye centres are points 1 and 2."""

    name = "mtfl"
    description = "MTFL: training.txt / testing.txt, 5 points and 4 attributes a line"
    split_paths = "the list file (training.txt or testing.txt) beside the image folders"
    Options = CropOptions

    def open(
        self, path: Path, split: Split, options: CropOptions, ctx: OpenContext
    ) -> RecordDataset:
        return _dataset(read_mtfl(path, ctx.bad), ctx, MTFL_EYES, options)


class PointSetOptions(CropOptions):
    """Options of the formats with any number of points."""

    points: int = Field(default=68, ge=2, le=1000, description="points per face")
    names: list[str] | None = Field(default=None, description="point names (default p0, p1, ...)")
    eyes: list[list[int]] | None = Field(
        default=None,
        description="the point indices (0-based) of each eye, averaged into its centre for the "
        "inter-ocular distance; default [[36, 39], [42, 45]] (eye corners) for 68 points",
    )

    mirror: list[list[int]] | None = Field(
        default=None,
        description="pairs of point indices (0-based) that a horizontal flip swaps (left and "
        "right eye, ...); default: the 68-point mark-up's for 68 points, else from the names",
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
        pairs = self.mirror or []
        flat = [i for pair in pairs for i in pair]
        if any(len(pair) != 2 for pair in pairs) or len(set(flat)) != len(flat):
            raise ValueError(f"mirror {pairs}: expected pairs [i, j], each index at most once")
        if any(not 0 <= i < self.points for i in flat):
            raise ValueError(f"mirror {pairs}: indices must be 0 to {self.points - 1}")
        return self

    def eye_groups(self) -> list[list[int]]:
        """The two eyes' point indices."""
        return self.eyes if self.eyes is not None else [list(e) for e in IBUG68_EYES]

    def label_schema(self) -> LabelSchema:
        """The point names as a label schema."""
        names = tuple(self.names) if self.names else tuple(f"p{i}" for i in range(self.points))
        pairs = self.mirror
        if pairs is None and self.points == 68:
            pairs = [list(pair) for pair in IBUG68_MIRROR]
        mirror = None if pairs is None else tuple((names[i], names[j]) for i, j in pairs)
        return LabelSchema(kind="points", names=names, unit="normalised coordinates", mirror=mirror)


class PtsOptions(PointSetOptions):
    one_based: bool = Field(
        default=True, description="coordinates start at 1 (menpo's reading of .pts)"
    )


class PtsFormat(DatasetFormat[PtsOptions]):
    """menpo/300-W ``.pts`` files beside their images."""

    name = "pts"
    description = "menpo / 300-W .pts files beside their images"
    split_paths = "a folder of images with .pts files"
    Options = PtsOptions

    def labels(self, options: PtsOptions) -> LabelSchema:
        return options.label_schema()

    def open(
        self, path: Path, split: Split, options: PtsOptions, ctx: OpenContext
    ) -> RecordDataset:
        eyes = options.eye_groups()
        records = read_pts_folder(path, options.points, eyes, options.one_based, ctx.bad)
        return _dataset(records, ctx, eyes, options)


class CsvFormat(DatasetFormat[PointSetOptions]):
    """CSV lines ``image,x1,y1,...`` (0-based pixels, optional header)."""

    name = "csv"
    description = "CSV lines: image path, then x,y for every point"
    split_paths = "a CSV file"
    Options = PointSetOptions

    def labels(self, options: PointSetOptions) -> LabelSchema:
        return options.label_schema()

    def open(
        self, path: Path, split: Split, options: PointSetOptions, ctx: OpenContext
    ) -> RecordDataset:
        eyes = options.eye_groups()
        records = read_point_csv(path, options.points, eyes, ctx.bad)
        return _dataset(records, ctx, eyes, options)


FORMATS = (MtflFormat(), PtsFormat(), CsvFormat())
