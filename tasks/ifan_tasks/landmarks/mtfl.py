"""The landmarks task's reader of MTFL list files: MTFL's lines (:mod:`ifan.data.mtfl`), each face
checked for distinct eye centres too. The eye centres are points 1 and 2."""

from __future__ import annotations

from pathlib import Path

from ifan.data import mtfl
from ifan.data.bad_samples import BadSamples
from ifan.data.points import FacePoints
from ifan_tasks.landmarks.samples import checked_record

MTFL_EYES = ((0,), (1,))


def read_mtfl(path: Path, bad: BadSamples) -> list[FacePoints]:
    """Every face of an MTFL list file; each bad line goes to ``bad``."""
    return mtfl.read_mtfl(path, bad, lambda face: checked_record(face, MTFL_EYES))
