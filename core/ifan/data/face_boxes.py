"""Which crop each annotated face of a dataset gets: the crop rule applied to the face the
detector finds, or a stated fallback where it finds none.

Every image is given to the model's face detector once; its faces are cached in
``<cache>/faces.sqlite`` (see :func:`ifan.files.cache_folder`), keyed by the digest of the file's
bytes (:mod:`ifan.data.file_digests`: a copy of the dataset elsewhere, or laid out afresh, finds
its faces cached; for pixels held in memory, their hash) and the detector's name, version and the
rule's ``detect_side``, so opening a split again costs a look-up per image.

A reader describes each face by a :class:`FaceHint`: the region its annotation says the face is
in (the points' bounds, the face pixels' bounds, or the whole image for a dataset of face crops)
and, where the annotation has a place, an ``anchor`` the right face must contain (the points'
centre, the face pixels' centre). The face chosen is the largest detected one that contains the
anchor (the largest of all when there is no anchor). When there is none, the fallback: the
reference region moved and scaled like the detector's boxes are, in the median, relative to the
reference regions of the faces it did find in the same split (the identity when it found fewer
than :data:`MIN_TYPICAL`), then cropped by the same rule. Every fallback is counted and reported
with its file (``ifan data``), never silent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ifan.data.crop import CropRule, detect_faces, face_crop
from ifan.data.errors import DatasetError
from ifan.data.file_digests import file_digests
from ifan.data.images import Box, load_rgb
from ifan.data.shared_table import SharedTable, flock
from ifan.detection import FaceBox, FaceDetector
from ifan.files import cache_folder
from ifan.progress import bar

MIN_TYPICAL = 3
"""Detected faces a split needs before its typical detector box is used by the fallback."""
Region = tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceHint:
    """What the crop rule needs to know of one annotated face (see the module docstring)."""

    image: Path | np.ndarray
    """The photo's file, or its pixels (``H x W`` grey or ``H x W x 3`` RGB uint8)."""
    reference: Region
    """``(x0, y0, x1, y1)`` in pixels: where the annotation says the face is."""
    anchor: tuple[float, float] | None
    """A point the right detected face contains; None: the largest face is the right one."""
    where: str
    """The annotation (file and line), for reports."""
    fixed: Box | None = None
    """A crop decided by the reader itself (the landmarks' ``points`` crop): no detection."""


@dataclass
class CropReport:
    """How the faces of one split were cropped."""

    detected: int = 0
    fixed: int = 0
    fallback: list[str] = field(default_factory=list)
    """``where: why`` of every face that took the fallback."""

    def summary(self, first: int = 3) -> str:
        """One line of counts, then the first fallback faces, one a line."""
        total = self.detected + self.fixed + len(self.fallback)
        parts = [f"{self.detected} of {total} faces found by the detector"]
        if self.fixed:
            parts.append(f"{self.fixed} cropped around their points")
        parts.append(f"{len(self.fallback)} by the fallback rule")
        lines = ["crops: " + ", ".join(parts)]
        lines += [f"  {reason}" for reason in self.fallback[:first]]
        if len(self.fallback) > first:
            lines.append(f"  ... and {len(self.fallback) - first} more")
        return "\n".join(lines)

    def merge(self, other: CropReport) -> None:
        """Add ``other``'s counts to this report."""
        self.detected += other.detected
        self.fixed += other.fixed
        self.fallback += other.fallback


class BoxCache:
    """Detected faces per image and detector, in one SQLite file that many processes share
    (:class:`~ifan.data.shared_table.SharedTable`)."""

    def __init__(self, path: Path | None = None):
        self.path = path or cache_folder() / "faces.sqlite"
        self.table = SharedTable(
            self.path, "the cache of detected faces", "faces are detected again"
        )

    @contextlib.contextmanager
    def detecting(self, keys: Sequence[str]) -> Iterator[None]:
        """Held while a process looks up and detects these images: processes started together
        on the same split (torchrun's ranks) detect each image once (the first does it, the
        others then find it cached), while runs on other data go on beside it. The lock is a
        small file per set of images in ``<cache>.locks/``."""
        digest = hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()[:16]
        folder = self.path.with_name(self.path.name + ".locks")
        folder.mkdir(exist_ok=True)
        with flock(folder / f"detect-{digest}.lock"):
            yield

    def get(self, keys: Sequence[str]) -> dict[str, list[FaceBox]]:
        """The cached faces of those ``keys`` that are cached."""
        return {key: _faces_from_json(text) for key, text in self.table.get(keys).items()}

    def put(self, items: dict[str, list[FaceBox]]) -> None:
        """Store the faces of these keys (replacing what was there)."""
        self.table.put(
            {key: json.dumps([_face_json(f) for f in faces]) for key, faces in items.items()}
        )

    def close(self) -> None:
        self.table.close()


def _face_json(face: FaceBox) -> list:
    return [face.x0, face.y0, face.x1, face.y1, face.score, face.eyes]


def _faces_from_json(text: str) -> list[FaceBox]:
    faces = []
    for x0, y0, x1, y1, score, eyes in json.loads(text):
        both = None if eyes is None else (tuple(eyes[0]), tuple(eyes[1]))
        faces.append(FaceBox(x0, y0, x1, y1, score, both))
    return faces


def image_keys(images: Sequence[Path | np.ndarray]) -> list[str]:
    """What identifies each image's content wherever it lies: its file's digest
    (:mod:`ifan.data.file_digests`), or a hash of pixels held in memory."""
    files = [Path(image) for image in images if not isinstance(image, np.ndarray)]
    digests = iter(file_digests(files))
    keys = []
    for image in images:
        if isinstance(image, np.ndarray):
            digest = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
            keys.append(f"pixels {image.shape} {digest}")
        else:
            keys.append(f"file {next(digests)}")
    return keys


def _photo(image: Path | np.ndarray) -> Image.Image:
    if isinstance(image, np.ndarray):
        return Image.fromarray(image).convert("RGB")
    return load_rgb(Path(image))


class FaceLocator:
    """The crop of every face of a split by the rule (see the module docstring); ``room`` enlarges
    each crop about its centre (a prepared training split keeps room around the face for
    augmentation)."""

    def __init__(
        self,
        rule: CropRule,
        detector: FaceDetector | None,
        cache: BoxCache | None = None,
        room: float = 1.0,
    ):
        self.rule = rule
        self.detector = detector
        self.cache = cache
        self.room = room
        version = getattr(detector, "version", "")
        name = detector.name if detector is not None else "none"
        self.prefix = f"{name} {version} side {rule.detect_side} | "

    @classmethod
    def without_detector(cls) -> FaceLocator:
        """A locator that detects nothing (a reader's unit test): every face is cropped to the
        square around its annotation's region, with no margin (a face photo: the photo
        letterboxed)."""
        return cls(CropRule(margin=0), None)

    def detections(
        self, images: Sequence[Path | np.ndarray], progress: str | None = None
    ) -> list[list[FaceBox]]:
        """The faces of each image, from the cache or detected now (and cached)."""
        if self.detector is None:
            return [[] for _ in images]
        if self.cache is None:  # nothing to look up: no file is read for its digest
            return self._detections(images, [str(i) for i in range(len(images))], progress)
        keys = [self.prefix + key for key in image_keys(images)]
        with self.cache.detecting(keys):
            return self._detections(images, keys, progress)

    def _detections(
        self, images: Sequence[Path | np.ndarray], keys: list[str], progress: str | None
    ) -> list[list[FaceBox]]:
        cached = self.cache.get(sorted(set(keys))) if self.cache is not None else {}
        missing = {key: image for key, image in zip(keys, images, strict=True) if key not in cached}
        found: dict[str, list[FaceBox]] = {}
        unreadable: set[str] = set()
        for key, image in bar(missing.items(), desc=progress, unit="image", enabled=bool(progress)):
            try:
                photo = _photo(image)
            except DatasetError:  # reported with its file when the sample is loaded
                unreadable.add(key)
                continue
            found[key] = detect_faces(self.detector, photo, self.rule)  # type: ignore[arg-type]
            if self.cache is not None and len(found) % 500 == 0:
                self.cache.put(found)
        if self.cache is not None and found:
            self.cache.put(found)
        cached.update(found)
        return [cached.get(key, []) for key in keys]

    def crops(
        self, hints: Sequence[FaceHint], progress: str | None = None
    ) -> tuple[list[Box], CropReport]:
        """Each face's crop (enlarged by ``room``) and the report of how they were found."""
        report = CropReport()
        needed = [i for i, hint in enumerate(hints) if hint.fixed is None]
        faces = self.detections([hints[i].image for i in needed], progress)
        chosen: dict[int, FaceBox | None] = {
            i: _choose(found, hints[i].anchor) for i, found in zip(needed, faces, strict=True)
        }
        position = {i: n for n, i in enumerate(needed)}
        typical = _typical(
            [(hints[i].reference, face) for i, face in chosen.items() if face is not None]
        )
        boxes = []
        for i, hint in enumerate(hints):
            if hint.fixed is not None:
                report.fixed += 1
                boxes.append(hint.fixed.scaled(self.room))
                continue
            face = chosen[i]
            if face is None:
                why = "no face found" if not faces[position[i]] else "no face holds it"
                if self.detector is None:
                    why = "detector = 'none'"
                report.fallback.append(f"{hint.where}: {why}")
                face = _fallback(hint.reference, typical)
            else:
                report.detected += 1
            boxes.append(face_crop(face, self.rule).scaled(self.room))
        return boxes, report


def _choose(faces: Sequence[FaceBox], anchor: tuple[float, float] | None) -> FaceBox | None:
    """The largest face containing ``anchor`` (of all faces when None); None when there is none."""
    candidates = [f for f in faces if anchor is None or f.contains(anchor)]
    if not candidates:
        return None
    return max(candidates, key=lambda f: (f.x1 - f.x0) * (f.y1 - f.y0))


def _extent(region: Region) -> tuple[float, float, float]:
    """Centre x, centre y and larger side of a region (at least 1 pixel)."""
    x0, y0, x1, y1 = region
    return (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0, 1.0)


def _typical(pairs: Sequence[tuple[Region, FaceBox]]) -> tuple[float, float, float]:
    """The median shift (x, y) and scale of detected boxes relative to their reference regions,
    in units of the reference's larger side; ``(0, 0, 1)`` with fewer than MIN_TYPICAL pairs."""
    if len(pairs) < MIN_TYPICAL:
        return 0.0, 0.0, 1.0
    shifts_x, shifts_y, scales = [], [], []
    for reference, face in pairs:
        rx, ry, rs = _extent(reference)
        fx, fy, fs = _extent((face.x0, face.y0, face.x1, face.y1))
        shifts_x.append((fx - rx) / rs)
        shifts_y.append((fy - ry) / rs)
        scales.append(fs / rs)
    return statistics.median(shifts_x), statistics.median(shifts_y), statistics.median(scales)


def _fallback(reference: Region, typical: tuple[float, float, float]) -> FaceBox:
    """The box the detector would typically have found for a face annotated at ``reference``."""
    rx, ry, rs = _extent(reference)
    dx, dy, scale = typical
    cx, cy, half = rx + dx * rs, ry + dy * rs, scale * rs / 2
    return FaceBox(cx - half, cy - half, cx + half, cy + half, 0.0)
