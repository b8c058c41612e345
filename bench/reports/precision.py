"""The report of ``python -m bench.precision``: bfloat16 autocast with the grouped convolutions in
bfloat16 (before) or in float32 (now), against float32 throughout."""

from __future__ import annotations

import statistics
from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON

BEFORE = "bf16, grouped convolutions in bf16 (before)"
NOW = "bf16, grouped convolutions in float32 (now)"
FLOAT32 = "float32 throughout"


def medians(r: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Median seconds per case and variant."""
    return {
        case: {variant: statistics.median(t) for variant, t in times.items()}
        for case, times in r["seconds_per_call"].items()
    }


def rounds(m: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The seconds of one stage-2 round (one update of every task) per variant: with emotion's
    batch of 64 (steps 1 and 2) and of 128 (the later steps)."""
    cases = list(m)
    parts = [c for c in cases if c.startswith(("parsing", "landmarks"))]
    out = {}
    for emotion in [c for c in cases if c.startswith("emotion")]:
        out[f"round with {emotion}"] = {
            v: sum(m[c][v] for c in [*parts, emotion]) for v in m[emotion]
        }
    return out


def findings(r: dict[str, Any]) -> list[str]:
    """How much faster each case is now than before, and where float32 throughout stands."""
    m = medians(r)
    out = []
    for case, t in {**m, **rounds(m)}.items():
        out.append(
            f"{case}: {t[BEFORE]:.3f} s before, {t[NOW]:.3f} s now ({t[BEFORE] / t[NOW]:.2f}x "
            f"faster); float32 throughout {t[FLOAT32]:.3f} s ({t[FLOAT32] / t[NOW]:.2f}x the "
            "time of now)"
        )
    return out


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    m = medians(r)
    rows = [
        [case, *(f"{t[v]:.3f}" for v in (BEFORE, NOW, FLOAT32)), f"{t[BEFORE] / t[NOW]:.2f}x"]
        for case, t in {**m, **rounds(m)}.items()
    ]
    s = r["settings"]
    blocks = [
        "# bfloat16 and grouped convolutions on CPU",
        provenance(f"{PYTHON} -m bench.precision", r),
        "`examples/faces3-cpu.toml`'s network (`mobilenetv3_small_100`, 64 px, one iteration): "
        "the encoder alone on random faces, and the recipe's stage-2 update of each task on real "
        f"batches replayed from memory. Median of {s['repeats']} interleaved runs (bench/README.md "
        "says how), seconds per call.",
        table(["case", BEFORE, NOW, FLOAT32, "now against before"], rows),
        what_this_shows(r["findings"]),
        f"Command: `{r['command']}`",
    ]
    return "\n\n".join(blocks) + "\n"
