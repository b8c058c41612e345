"""The report of ``python -m bench.updates``: the recipe's updates before and after the up path's
channels-last gradient and the fused optimizer."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON
from bench.reports.precision import medians, rounds

BEFORE = "before"
GRADIENT = "+ channels-last gradient"
NOW = "+ fused optimizer (now)"
PAPER = "now, regression decoder"
"""The same recipe and batches with the paper's landmark decoder (faces3's before the heat maps)."""


def findings(r: dict[str, Any]) -> list[str]:
    """How much faster each update and each round is now than before, and by which change."""
    m = medians(r)
    return [
        f"{case}: {t[BEFORE]:.3f} s before, {t[NOW]:.3f} s now ({t[BEFORE] / t[NOW]:.2f}x "
        f"faster; the gradient's layout {t[BEFORE] / t[GRADIENT]:.2f}x, then the fused "
        f"optimizer {t[GRADIENT] / t[NOW]:.2f}x); with the regression decoder "
        f"{t[PAPER]:.3f} s (the heat maps take {t[NOW] / t[PAPER]:.2f}x its time)"
        for case, t in {**m, **rounds(m)}.items()
    ]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    m = medians(r)
    rows = [
        [
            case,
            *(f"{t[v]:.3f}" for v in (BEFORE, GRADIENT, NOW)),
            f"{t[BEFORE] / t[NOW]:.2f}x",
            f"{t[PAPER]:.3f}",
        ]
        for case, t in {**m, **rounds(m)}.items()
    ]
    s = r["settings"]
    blocks = [
        "# The recipe's training updates: before and after",
        provenance(f"{PYTHON} -m bench.updates", r),
        "`examples/faces3-cpu.toml`'s network with the heat-map landmark decoder (`faces3`'s: "
        "`mobilenetv3_small_100`, 64 px, one iteration, bf16): the recipe's stage-2 update of "
        f"each task on real batches replayed from memory. Median of {s['repeats']} interleaved "
        "runs (bench/README.md says how), seconds per call. The last column is the same recipe "
        "with the paper's regression decoder for the landmarks, on the same batches.",
        table(["case", BEFORE, GRADIENT, NOW, "now against before", PAPER], rows),
        what_this_shows(r["findings"]),
        f"Command: `{r['command']}`",
    ]
    return "\n\n".join(blocks) + "\n"
