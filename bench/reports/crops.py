"""The report of ``python -m bench.crops``: the median face scale in the crop the network sees,
in training, evaluation and prediction, per format, and whether the three paths agree."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import bullets, provenance, table, what_this_shows
from bench.lib.results import PYTHON

AGREEMENT = 0.05
"""The largest relative difference between the paths' median scales that counts as agreeing."""


def findings(r: dict[str, Any]) -> list[str]:
    """Per format, whether the three paths agree on the face's scale."""
    out = []
    for name, f in r["formats"].items():
        spread = ", ".join(f"{k} {100 * v:.1f} %" for k, v in f["spread"].items())
        verdict = "agree" if all(v <= AGREEMENT for v in f["spread"].values()) else "DISAGREE"
        out.append(f"{name}: the three paths {verdict} within {100 * AGREEMENT:.0f} % ({spread})")
    return out


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    headers = ["format", "faces", "measure", "training", "eval", "predict", "before", "spread"]
    rows = []
    for name, f in r["formats"].items():
        for measure_name in ("iod", "detected"):
            med = {p: f["medians"][p][measure_name] for p in f["medians"]}
            if med["eval"] is None:
                continue
            spread = f["spread"].get(measure_name)
            rows.append([
                name, f["faces"], "inter-ocular" if measure_name == "iod" else "detected again",
                *(f"{med[p]:.3f}" if med[p] is not None else "-"
                  for p in ("training", "eval", "predict", "before")),
                f"{100 * spread:.1f} %" if spread is not None else "-",
            ])  # fmt: skip
    blocks = [
        "# Face scale in training, evaluation and prediction",
        provenance(f"{PYTHON} -m bench.crops", r),
        "The median face scale in the crop the network sees, per path, on the real data: the "
        "inter-ocular distance over the crop side (points) and the side of the face the detector "
        "finds again in that crop over the crop side (every format). `before`: the old training "
        "crop (the whole photo letterboxed), which the crop rule replaced. Spread: the largest "
        "median over the smallest, minus one.",
        table(headers, rows),
        what_this_shows(r["findings"]),
        "How each split's faces were found:",
        bullets(
            [f"{name} {f['split']}: {f['crops']['training']}" for name, f in r["formats"].items()]
        ),
        f"Command: `{r['command']}`",
    ]
    return "\n\n".join(blocks) + "\n"
