"""Face detectors: the ones plugins provide, and what they return.

Detectors come from the :func:`ifan.hookspecs.ifan_face_detectors` hook, keyed by name; the
built-in ``yuface`` one (libfacedetection, in ``ifan_tasks.faces``) is the default. The square
fed to the network around a detected face is the crop rule's (:mod:`ifan.data.crop`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from ifan.errors import IfanError
from ifan.plugins import PluginRegistry

DEFAULT_DETECTOR = "yuface"
Point = tuple[float, float]


@dataclass(frozen=True)
class FaceBox:
    """One detected face: its box in the photo's pixels and the detector's score in [0, 1]."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    eyes: tuple[Point, Point] | None = None
    """The eye centres, the one with the smaller x first, when the detector finds them (the
    crop rule's ``align`` levels them)."""

    def scaled(self, factor: float) -> FaceBox:
        """The face in an image ``factor`` times as large."""
        eyes = None
        if self.eyes is not None:
            eyes = tuple((x * factor, y * factor) for x, y in self.eyes)
        corners = (self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor)
        return FaceBox(*corners, self.score, eyes)  # type: ignore[arg-type]

    def contains(self, point: Point) -> bool:
        """Whether ``point`` (x, y) lies inside the box."""
        return self.x0 <= point[0] <= self.x1 and self.y0 <= point[1] <= self.y1

    def to_json(self) -> list[float]:
        """``[x0, y0, x1, y1]`` in pixels."""
        return [self.x0, self.y0, self.x1, self.y1]


@runtime_checkable
class FaceDetector(Protocol):
    """What :func:`ifan.hookspecs.ifan_face_detectors` returns: a named face detector.

    An optional ``version`` attribute (a string: the package's version and settings) joins the
    name in the keys of cached detections, so that another version detects afresh."""

    name: str

    def detect(self, image: Image.Image) -> list[FaceBox]:
        """Every face in the RGB ``image``, most confident first."""
        ...


class DetectorError(IfanError):
    """A face detector that is unknown, claimed twice, or whose package is missing."""


def face_detectors(registry: PluginRegistry) -> dict[str, FaceDetector]:
    """Every detector the loaded plugins provide, by name; a detector name claimed by two plugins
    is an error that names both."""
    found: dict[str, FaceDetector] = {}
    owners: dict[str, str] = {}
    if registry.manager is None:
        return found
    for impl in registry.manager.hook.ifan_face_detectors.get_hookimpls():
        provided = impl.function()
        if not isinstance(provided, Iterable):
            raise DetectorError(
                f"{impl.plugin_name}: ifan_face_detectors() returned {type(provided).__name__}, "
                "expected a list of face detectors"
            )
        for detector in provided:
            if not isinstance(detector, FaceDetector):
                raise DetectorError(
                    f"{impl.plugin_name}: ifan_face_detectors() returned {detector!r}, which has "
                    "no name and detect(image) method"
                )
            if detector.name in found:
                raise DetectorError(
                    f"face detector {detector.name!r} is provided by {owners[detector.name]} and "
                    f"{impl.plugin_name}: uninstall one of them"
                )
            found[detector.name] = detector
            owners[detector.name] = impl.plugin_name
    return found


def get_detector(registry: PluginRegistry, name: str = DEFAULT_DETECTOR) -> FaceDetector:
    """The detector called ``name``; an error listing the installed ones when there is none."""
    detectors = face_detectors(registry)
    if name not in detectors:
        known = ", ".join(sorted(detectors)) or "none"
        raise DetectorError(
            f"unknown face detector {name!r} (installed: {known}); a plugin provides it through "
            "the ifan_face_detectors hook"
        )
    return detectors[name]
