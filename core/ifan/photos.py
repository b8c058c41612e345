"""Predicting many photo files, as ``ifan predict`` does: each decoded only when its batch is
next, an unreadable one skipped with its reason instead of stopping the run, and the outputs
written under ``--out`` by each file's output name (:mod:`ifan.inputs`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from ifan.data.errors import DatasetError
from ifan.data.images import UNREADABLE, require_format, upright_rgb
from ifan.inputs import IMAGE_OUTPUTS, InputFile, Skipped

if TYPE_CHECKING:
    from ifan.inference import FacePrediction, Predictor

OVERLAY_PNG_LEVEL = 1
"""zlib level of the overlay PNGs: a photo's overlay encodes about 3 times as fast as at
Pillow's default 6, for files about a tenth larger (``bench.predict`` measures it)."""


def read_photo(path: Path) -> Image.Image | str:
    """The photo at ``path`` in RGB as viewers show it (EXIF orientation applied, see
    :func:`ifan.data.images.upright_rgb`), or why it cannot be read."""
    try:
        require_format(path)
        with Image.open(path) as image:
            image.load()
            return upright_rgb(image)
    except DatasetError as exc:
        return str(exc).removeprefix(f"{path}: ")
    except UNREADABLE as exc:
        return f"not a readable image ({exc})"


class PhotoRun:
    """Photo files predicted in batches: iterate for each readable photo's ``(InputFile,
    FacePrediction)``, in order. A photo that cannot be decoded is added to ``skipped`` with its
    reason when it is met (after those given, the files skipped while walking); ``predicted``
    and ``faces`` count the photos predicted so far and their faces."""

    def __init__(
        self,
        predictor: Predictor,
        files: Sequence[InputFile],
        batch_size: int = 16,
        detect: bool = True,
        skipped: Sequence[Skipped] = (),
    ):
        self.predictor = predictor
        self.files = list(files)
        self.batch_size = batch_size
        self.detect = detect
        self.skipped = list(skipped)
        self._walked = len(self.skipped)
        self.predicted = 0
        self.faces = 0

    @property
    def done(self) -> int:
        """The photo files predicted or found unreadable so far (of ``len(files)``)."""
        return self.predicted + len(self.skipped) - self._walked

    def __iter__(self) -> Iterator[tuple[InputFile, FacePrediction]]:
        predictions = self.predictor.predict_keyed(self._readable(), self.batch_size, self.detect)
        for file, prediction in predictions:
            prediction.source = str(file.path)
            self.predicted += 1
            self.faces += len(prediction.faces)
            yield file, prediction

    def _readable(self) -> Iterator[tuple[InputFile, Image.Image]]:
        for file in self.files:
            photo = read_photo(file.path)
            if isinstance(photo, str):
                self.skipped.append(Skipped(file.path, photo))
            else:
                yield file, photo

    def save(self, file: InputFile, prediction: FacePrediction, out: Path) -> tuple[Path, Path]:
        """Write ``out/<name>.json`` (the prediction and the checkpoint it came from) and
        ``out/<name>.png`` (its overlay), making the folders of the name; return both paths."""
        json_path, png_path = (file.output(out, suffix) for suffix in IMAGE_OUTPUTS)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        data = {**prediction.to_json(), "checkpoint": str(self.predictor.checkpoint)}
        json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        prediction.overlay().save(png_path, compress_level=OVERLAY_PNG_LEVEL)
        return json_path, png_path
