"""The report of ``python -m bench.pretrained``: a pretrained model's five points against the
annotations of real photos, photo by photo."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON

PASS = 0.10
"""A photo passes under this inter-ocular NME."""


POINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""The five points, in the order of the report's columns."""


def spoken(point: str) -> str:
    """A point's name as the report writes it: ``mouth_left`` -> ``mouth left``."""
    return point.replace("_", " ")


def findings(r: dict[str, Any]) -> list[str]:
    """How many photos pass, the mean error, and the point furthest off on each that misses."""
    rows = [row for row in r["photos"] if "nme" in row]
    passed = sum(row["passed"] for row in rows)
    mean = sum(row["nme"] for row in rows) / max(1, len(rows))
    out = [
        f"{passed} of {len(r['photos'])} photos within {PASS:.0%} inter-ocular NME "
        f"(mean {mean:.1%}) through the detector, no ground truth used to find the face"
    ]
    for row in rows:
        errors = row.get("point_nme")
        if not row["passed"] and errors:
            worst = max(errors, key=errors.get)
            out.append(
                f"{row['photo']} misses most at the {spoken(worst)} "
                f"({errors[worst]:.1%} of the inter-ocular distance)"
            )
    return out


def point_cells(row: dict[str, Any]) -> list[str]:
    """Each point's error of a photo's row, in :data:`POINTS` order ("-" when not measured)."""
    errors = row.get("point_nme", {})
    return [f"{errors[name]:.1%}" if name in errors else "-" for name in POINTS]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    rows = [
        [
            row["photo"],
            row["faces"],
            row["iod_px"],
            f"{row['nme']:.1%}" if "nme" in row else "no face",
            *point_cells(row),
            ("yes" if row["passed"] else "**no**") if "nme" in row else "**no**",
            row.get("emotion", "-"),
        ]
        for row in r["photos"]
    ]
    blocks = [
        f"# `{r['model']}` on real photos",
        provenance(f"{PYTHON} -m bench.pretrained", r),
        f"Command: `{r['command']}`",
        table(
            [
                "photo",
                "faces found",
                "IOD (px)",
                "NME",
                *map(spoken, POINTS),
                "within 10 %",
                "emotion",
            ],
            rows,
        ),
        what_this_shows(r["findings"]),
    ]
    return "\n\n".join(blocks) + "\n"
