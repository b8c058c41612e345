"""Readers of point files with any number of points: menpo/300-W ``.pts`` and CSV.

``.pts`` (version 1): ``version: 1``, ``n_points: N``, ``{``, N lines ``x y``, ``}``; a split is a
folder searched recursively for ``.pts`` files, each beside its image of the same name. PTS
coordinates are 1-based (menpo's reading), so 1 is subtracted unless ``one_based = false``.

CSV: one face a line, ``image,x1,y1,x2,y2,...`` in 0-based pixels, image paths relative to the
CSV file's folder; a first line whose second field is not a number is a header and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.data.images import find_image
from ifan.data.lists import Line, read_csv_lines, read_lines
from ifan.data.points import FacePoints
from ifan_tasks.landmarks.samples import checked_record


def _pairs(values: list[float]) -> tuple[tuple[float, float], ...]:
    return tuple(zip(values[0::2], values[1::2], strict=True))


def read_pts_file(path: Path, count: int, one_based: bool) -> tuple[tuple[float, float], ...]:
    """The points of one ``.pts`` file, checked to be ``count`` of them."""
    lines = read_lines(path, ".pts file")
    if len(lines) < 3 or lines[0].text.replace(" ", "") != "version:1":
        where = lines[0] if lines else Line(path, 1, "")
        raise where.error("expected 'version: 1' then 'n_points: N' and the points in { }")
    key, _, value = lines[1].text.partition(":")
    if key.strip() != "n_points" or not re.fullmatch(r"[0-9]{1,6}", value.strip()):
        raise lines[1].error(f"expected 'n_points: N', got {lines[1].text!r}")
    declared = int(value)
    if declared != count:
        raise lines[1].error(
            f"the file has {declared} points but the format expects {count}; set points = "
            f"{declared} (and eyes) in the task's data table, or use files with {count} points"
        )
    if lines[2].text != "{" or len(lines) != declared + 4 or lines[-1].text != "}":
        raise lines[2].error(f"expected '{{', {declared} lines 'x y', then '}}'")
    shift = 1.0 if one_based else 0.0
    values: list[float] = []
    for line in lines[3:-1]:
        fields = line.text.split()
        if len(fields) != 2:
            raise line.error(f"expected 'x y', got {line.text!r}")
        values.extend(v - shift for v in line.floats(fields, "x y"))
    return _pairs(values)


def read_pts_folder(
    path: Path, count: int, eyes: Sequence[Sequence[int]], one_based: bool, bad: BadSamples
) -> list[FacePoints]:
    """Every face of a folder of images with ``.pts`` files (searched recursively); each bad
    file goes to ``bad``."""
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder; a pts split is a folder of images and .pts")
    return bad.keep_each(
        sorted(path.rglob("*.pts")),
        lambda pts: checked_record(_pts_record(pts, count, one_based), eyes),
        f"{path}: no usable .pts files found",
    )


def _pts_record(pts: Path, count: int, one_based: bool) -> FacePoints:
    image = find_image(pts.parent, pts.stem)
    if image is None:
        raise DatasetError(f"{pts}: no image named {pts.stem} beside it")
    return FacePoints(image, read_pts_file(pts, count, one_based), str(pts))


def read_point_csv(
    path: Path, count: int, eyes: Sequence[Sequence[int]], bad: BadSamples
) -> list[FacePoints]:
    """Every face of a CSV file of ``image,x1,y1,...`` lines; each bad line goes to ``bad``."""
    return bad.keep_each(
        read_csv_lines(path, "landmark CSV file", bad),
        lambda line: checked_record(_csv_record(line, count), eyes),
        f"{path}: the CSV file has no usable faces",
    )


def _csv_record(line: Line, count: int) -> FacePoints:
    fields = line.csv_fields()
    if len(fields) != 1 + 2 * count:
        raise line.error(
            f"expected the image then x,y for {count} points ({1 + 2 * count} fields), got "
            f"{len(fields)}; set points in the task's data table if the count differs"
        )
    points = _pairs(line.floats(fields[1:], "x,y pairs"))
    return FacePoints(line.path.parent / fields[0], points, f"{line.path}:{line.number}")
