"""Readers of the emotion formats: a folder per class (:mod:`ifan.data.classes`, shared with other
class tasks), and the original ``fer2013.csv``.

Faces are cropped by the model's crop rule (:mod:`ifan.data.crop`: the largest face the detector
finds, enlarged for the detector when small; a dataset of face crops falls back on the whole image
placed like the detector's typical box) and resized to ``S x S``; FER2013's 48 x 48 grey faces are
made RGB. The target is ``{"label": class index}``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.images import Box, crop_square, to_tensor
from ifan.data.lists import undecodable

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""The task's classes: FER2013's, in the alphabetical order of its image folders."""
FER2013_CSV_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The meaning of fer2013.csv's ``emotion`` column, 0 to 6."""
CSV_COLUMNS = ("emotion", "pixels", "Usage")


def _sample(
    photo: Image.Image, label: int, box: Box, size: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    image = to_tensor(crop_square(photo.convert("RGB"), box, size))
    return image, {"label": torch.tensor(label, dtype=torch.int64)}


@dataclass(frozen=True)
class PixelRecord:
    pixels: np.ndarray
    """``side x side`` grey values."""
    label: int


def load_pixels(
    record: PixelRecord, box: Box, size: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One face of fer2013.csv."""
    return _sample(Image.fromarray(record.pixels, mode="L"), record.label, box, size)


def pixel_hint(record: PixelRecord, where: str) -> FaceHint:
    """A face crop held as pixels: the largest face in it; the whole image is the reference."""
    height, width = record.pixels.shape
    return FaceHint(record.pixels, (0, 0, width, height), None, where)


def read_fer2013_csv(path: Path, usage: str, bad: BadSamples) -> list[PixelRecord]:
    """The faces of ``fer2013.csv`` whose ``Usage`` is ``usage``, labels in the task's order;
    each malformed row goes to ``bad``."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the FER2013 CSV ({exc})") from None
    records, usages = [], set()
    with handle:
        reader = csv.reader(handle)
        rows = _csv_rows(reader, path, bad)
        header = [h.strip() for h in next(rows, [])]
        if not set(CSV_COLUMNS) <= set(header):
            raise DatasetError(
                f"{path}:1: expected the header {','.join(CSV_COLUMNS)}, got {','.join(header)!r}"
            )
        columns = [header.index(name) for name in CSV_COLUMNS]
        for row in rows:
            if not row:
                continue
            where = f"{path}:{reader.line_num}"
            reason = undecodable(",".join(row))
            if reason is not None:
                bad.report(DatasetError(f"{where}: {reason}"))
                continue
            if len(row) != len(header):
                bad.report(DatasetError(f"{where}: expected {len(header)} fields, got {len(row)}"))
                continue
            emotion, pixels, row_usage = (row[i].strip() for i in columns)
            usages.add(row_usage)
            if row_usage == usage:
                record = bad.keep(lambda: _pixel_record(emotion, pixels, where))  # noqa: B023
                if record is not None:
                    records.append(record)
    if not records:
        found = ", ".join(sorted(usages)) or "none"
        raise DatasetError(
            f"{path}: no rows with Usage {usage!r} (found: {found}); check the data table's "
            "usage option"
        )
    return records


def _csv_rows(reader: Any, path: Path, bad: BadSamples) -> Iterator[list[str]]:
    """The rows of ``reader``; a row the csv module cannot parse (a field over its size limit,
    say) goes to ``bad``, and reading goes on at the next line."""
    while True:
        before = reader.line_num
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            error = DatasetError(f"{path}:{reader.line_num}: malformed CSV row ({exc})")
            if reader.line_num == before:  # nothing was consumed: going on would not end
                raise error from None
            bad.report(error)


def _pixel_record(emotion: str, pixels: str, where: str) -> PixelRecord:
    if emotion not in {str(i) for i in range(len(FER2013_CSV_CLASSES))}:
        raise DatasetError(f"{where}: emotion must be 0 to 6, got {emotion!r}")
    label = FER2013_CLASSES.index(FER2013_CSV_CLASSES[int(emotion)])
    return PixelRecord(_pixels(pixels, where), label)


def _pixels(text: str, where: str) -> np.ndarray:
    try:
        values = np.array(text.split(), dtype=np.int64)
    except (ValueError, OverflowError):
        raise DatasetError(
            f"{where}: pixels must be space-separated integers (grey values 0 to 255)"
        ) from None
    side = math.isqrt(len(values))
    if side == 0 or side * side != len(values):
        raise DatasetError(
            f"{where}: expected a square image of grey values 0 to 255 (48 x 48 = 2304), got "
            f"{len(values)} values"
        )
    outside = values[(values < 0) | (values > 255)]
    if len(outside):
        raise DatasetError(f"{where}: grey value {int(outside[0])} is outside 0 to 255")
    return values.astype(np.uint8).reshape(side, side)


def open_fer2013_csv(path: Path, usage: str, ctx: OpenContext) -> RecordDataset:
    """The fer2013.csv rows of one ``Usage``."""
    records = read_fer2013_csv(path, usage, ctx.bad)
    hint = partial(pixel_hint, where=f"{path} ({usage})")
    return face_dataset(records, hint, partial(load_pixels, size=ctx.input_size), ctx)
