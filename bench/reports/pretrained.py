"""The report of ``python -m bench.pretrained``: a pretrained model's five points against the
annotations of real photos, photo by photo."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON

PASS = 0.10
"""A photo passes under this inter-ocular NME."""


def findings(r: dict[str, Any]) -> list[str]:
    """How many photos pass, and the mean error."""
    rows = [row for row in r["photos"] if "nme" in row]
    passed = sum(row["passed"] for row in rows)
    mean = sum(row["nme"] for row in rows) / max(1, len(rows))
    return [
        f"{passed} of {len(r['photos'])} photos within {PASS:.0%} inter-ocular NME "
        f"(mean {mean:.1%}) through the detector, no ground truth used to find the face"
    ]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    rows = [
        [
            row["photo"],
            row["faces"],
            row["iod_px"],
            f"{row['nme']:.1%}" if "nme" in row else "no face",
            ("yes" if row["passed"] else "**no**") if "nme" in row else "**no**",
            row.get("emotion", "-"),
        ]
        for row in r["photos"]
    ]
    blocks = [
        f"# `{r['model']}` on real photos",
        provenance(f"{PYTHON} -m bench.pretrained", r),
        f"Command: `{r['command']}`",
        table(["photo", "faces found", "IOD (px)", "NME", "within 10 %", "emotion"], rows),
        what_this_shows(r["findings"]),
    ]
    return "\n\n".join(blocks) + "\n"
