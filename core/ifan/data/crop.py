"""The crop rule: the one definition of "the face crop" that training, evaluation and prediction
share.

A face reaches the network as the square around its face detector's box: centred on the box, its
side the box's larger extent times ``1 + 2 * margin``, padded where it leaves the photo, and (with
``align``) turned so that the detector's two eye points are level. :func:`face_crop` is that rule;
:class:`CropRule` holds its settings, the manifest's ``[model.crop]`` table, stored in every
checkpoint so that a model is always used on crops like those it was trained on. Photos too small
for the detector (FER2013's 48 x 48 faces) are enlarged for detection only (:func:`detect_faces`).

Which detected face belongs to an annotation, and what happens when none does, is
:mod:`ifan.data.face_boxes`.
"""

from __future__ import annotations

import math

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ifan.data.images import Box
from ifan.detection import FaceBox, FaceDetector


class CropRule(BaseModel):
    """``[model.crop]``: how a face is found and cropped, alike in training and in use."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    detector: str = Field(
        default="yuface",
        description="face detector, from a plugin's ifan_face_detectors hook; 'none': no "
        "detection, each face is the square around its annotation (the whole photo for face "
        "crops), and prediction takes the whole photo",
    )
    margin: float = Field(
        default=0.25,
        ge=0,
        le=2,
        description="added on each side of the detected box, times its larger extent (0.25: a "
        "100 px face gives a 150 px crop)",
    )
    align: bool = Field(
        default=False, description="turn each crop so that the detector's eye points are level"
    )
    detect_side: int = Field(
        default=160,
        ge=16,
        le=4096,
        description="photos whose shorter side is below this are enlarged to it for detection "
        "only (a 48 x 48 face is too small for most detectors)",
    )


NO_DETECTOR = "none"
"""The ``detector`` value that turns detection off (datasets of faces already cropped alike)."""


def face_crop(face: FaceBox, rule: CropRule) -> Box:
    """The square crop the network sees for a detected ``face`` (see the module docstring)."""
    side = max(face.x1 - face.x0, face.y1 - face.y0, 1.0) * (1 + 2 * rule.margin)
    cx, cy = (face.x0 + face.x1) / 2, (face.y0 + face.y1) / 2
    angle = 0.0
    if rule.align and face.eyes is not None:
        (lx, ly), (rx, ry) = face.eyes
        angle = math.degrees(math.atan2(ry - ly, rx - lx))
    return Box(round(cx - side / 2), round(cy - side / 2), round(side), angle)


def detect_faces(detector: FaceDetector, photo: Image.Image, rule: CropRule) -> list[FaceBox]:
    """Every face the detector finds in the RGB ``photo``, in its pixels, best first; a photo
    smaller than ``rule.detect_side`` is enlarged for the detector and the boxes scaled back."""
    scale = rule.detect_side / min(photo.size)
    if scale <= 1:
        return detector.detect(photo)
    size = (round(photo.width * scale), round(photo.height * scale))
    faces = detector.detect(photo.resize(size, Image.Resampling.BILINEAR))
    return [face.scaled(1 / scale) for face in faces]
