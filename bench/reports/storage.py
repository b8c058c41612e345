"""The report of ``python -m bench.storage``: the time and bytes a face takes to read back in
each layout a prepared split could use."""

from __future__ import annotations

import statistics
from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON


def findings(r: dict[str, Any]) -> list[str]:
    """Each layout's time and size against the raw array's, and why ifan keeps the raw array."""
    times = {k: statistics.median(v) for k, v in r["seconds_per_face"].items()}
    raw = times["raw uint8 (ifan)"]
    out = [
        f"{name}: {t * 1e6:.0f} µs a face ({t / raw:.0f}x the raw array), "
        f"{r['bytes_per_face'][name] / 1024:.1f} KiB"
        for name, t in times.items()
    ]
    jpeg = times["JPEG q90"]
    out.append(
        "the raw array costs the most disk but no decoding at all: JPEG would store a face in "
        f"{r['bytes_per_face']['raw uint8 (ifan)'] / r['bytes_per_face']['JPEG q90']:.0f}x less "
        f"space at {jpeg / raw:.0f}x the read time; at these sizes a raw face is "
        f"{r['bytes_per_face']['raw uint8 (ifan)'] / 1024:.0f} KiB, so FER2013's 28,709 training "
        "faces take about half a GB, and ifan keeps the raw array"
    )
    return out


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    rows = [
        [
            name,
            f"{statistics.median(v) * 1e6:.0f}",
            f"{r['bytes_per_face'][name] / 1024:.1f}",
        ]
        for name, v in r["seconds_per_face"].items()
    ]
    s = r["settings"]
    blocks = [
        "# Storage of a prepared split",
        provenance(f"{PYTHON} -m bench.storage", r),
        f"{s['faces']} MTFL faces cropped at {s['side']} px, read back one at a time; median "
        f"of {s['repeats']} interleaved passes.",
        table(["layout", "µs per face", "KiB per face"], rows),
        what_this_shows(r["findings"]),
        f"Command: `{r['command']}`",
    ]
    return "\n\n".join(blocks) + "\n"
