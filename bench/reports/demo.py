"""The report of ``python -m bench.demo``: how long ``make demo`` takes and its test scores
against the quick start's targets."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON

F1 = "parsing.f1_"
GROUPS = ("eyes", "brows", "overall")
"""The merged groups of examples/demo.toml: not classes of their own."""


def findings(r: dict[str, Any]) -> list[str]:
    """The time, the weakest parsing class and the landmarks against their targets."""
    s = r["scores"]
    classes = {
        k[len(F1) :]: v for k, v in s.items() if k.startswith(F1) and k[len(F1) :] not in GROUPS
    }
    weakest = min(classes, key=classes.__getitem__)
    return [
        f"`make demo` took {r['seconds']:.0f} s, of which training {r['train_seconds']:.0f} s",
        f"weakest parsing class {weakest}: {classes[weakest]:.1%} F1 "
        f"({'above' if classes[weakest] > 0.5 else '**below**'} the 50 % target)",
        f"landmarks NME {s['landmarks.nme']:.2%} "
        f"({'below' if s['landmarks.nme'] < 0.1 else '**above**'} the 10 % target)",
        f"emotion accuracy {s['emotion.accuracy']:.1%}",
    ]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    rows = [[key, f"{value:.2%}"] for key, value in sorted(r["scores"].items())]
    blocks = [
        "# `make demo`: time and test scores",
        provenance(f"{PYTHON} -m bench.demo", r),
        "Command: `make demo` (timed whole), with nothing else running.",
        what_this_shows(r["findings"]),
        table(["score (test split)", "value"], rows),
    ]
    return "\n\n".join(blocks) + "\n"
