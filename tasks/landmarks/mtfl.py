"""Reader of MTFL (Zhang et al. 2014) list files: ``training.txt`` and ``testing.txt``.

A line is ``path x1..x5 y1..y5 gender smile glasses pose``: left eye, right eye, nose tip, left
and right mouth corner in pixels, then the attributes as coded by MTFL (gender 1 male / 2 female;
smile and glasses 1 yes / 2 no; pose 1 left profile to 5 right profile), which the target keeps
as given. Lines end in CRLF and may start with spaces; paths are relative to the list file's
folder, with backslashes (training) or slashes (testing).
"""

from __future__ import annotations

from pathlib import Path

from ifan.data.bad_samples import BadSamples
from ifan.data.lists import Line, read_lines
from ifan_tasks.landmarks.samples import LandmarkRecord, checked_record

MTFL_EYES = ((0,), (1,))
ATTRIBUTES = ("gender", "smile", "glasses", "pose")
ATTRIBUTE_RANGES = {"gender": (1, 2), "smile": (1, 2), "glasses": (1, 2), "pose": (1, 5)}


def read_mtfl(path: Path, bad: BadSamples) -> list[LandmarkRecord]:
    """Every face of an MTFL list file; each bad line goes to ``bad``."""
    return bad.keep_each(
        read_lines(path, "MTFL list file", bad),
        lambda line: checked_record(parse_line(line), MTFL_EYES),
        f"{path}: the list file has no usable faces",
    )


def parse_line(line: Line) -> LandmarkRecord:
    """One MTFL line as a record (not yet checked against its image)."""
    fields = line.text.split()
    if len(fields) != 15:
        raise line.error(
            f"expected 15 fields (path, x1..x5, y1..y5, gender, smile, glasses, pose), "
            f"got {len(fields)}"
        )
    coords = line.floats(fields[1:11], "x1..x5 y1..y5")
    codes = line.floats(fields[11:], "gender smile glasses pose")
    attributes = {}
    for name, value in zip(ATTRIBUTES, codes, strict=True):
        low, high = ATTRIBUTE_RANGES[name]
        if not value.is_integer() or not low <= value <= high:
            raise line.error(f"{name} must be an integer from {low} to {high}, got {value:g}")
        attributes[name] = int(value)
    return LandmarkRecord(
        image=line.path.parent / fields[0].replace("\\", "/"),
        points=tuple(zip(coords[:5], coords[5:], strict=True)),
        where=f"{line.path}:{line.number}",
        attributes=attributes,
    )
