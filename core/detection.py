"""Face detection for whole photos: the detectors that plugins provide, and the square crop fed to
the network around each face.

Detectors come from the :func:`ifan.hookspecs.ifan_face_detectors` hook, keyed by name; the
built-in ``yuface`` one (libfacedetection, in ``ifan_tasks.faces``) is the default. A detected
box is tight around the face, while the network was trained on crops with some context (whole
face photos letterboxed, or a square around the landmarks enlarged by 15% on each side), so the
crop is a square centred on the box, its side the box's larger extent times ``1 + 2 * margin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from PIL import Image

from ifan.data.images import Box, box_around
from ifan.errors import IfanError
from ifan.plugins import PluginRegistry

DEFAULT_DETECTOR = "yuface"
DEFAULT_MARGIN = 0.25
"""Added on each side of a detected box, times its larger extent: a 100 px face gives a 150 px
crop, which frames the face and some hair like the training crops."""


@dataclass(frozen=True)
class FaceBox:
    """One detected face: its box in the photo's pixels and the detector's score in [0, 1]."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    def crop(self, margin: float = DEFAULT_MARGIN) -> Box:
        """The square crop around this face that the network sees (see the module docstring)."""
        corners = torch.tensor([[self.x0, self.y0], [self.x1, self.y1]], dtype=torch.float32)
        return box_around(corners, margin)

    def to_json(self) -> list[float]:
        """``[x0, y0, x1, y1]`` in pixels."""
        return [self.x0, self.y0, self.x1, self.y1]


@runtime_checkable
class FaceDetector(Protocol):
    """What :func:`ifan.hookspecs.ifan_face_detectors` returns: a named face detector."""

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
        for detector in impl.function():
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
