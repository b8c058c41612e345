"""The report of ``python -m bench.compiled``: the recipe's training updates, eager against
``torch.compile``, and what the compile costs."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON
from bench.reports.precision import medians, rounds

EAGER = "eager (the recipe's)"
COMPILED = "torch.compile"


def _times(r: dict[str, Any]) -> dict[str, dict[str, float]]:
    m = medians(r)
    return {**m, **rounds(m)}


def findings(r: dict[str, Any]) -> list[str]:
    """Each update's ratio, the compile's cost, and when (if ever) compiling pays for itself."""
    times = _times(r)
    compile_total = sum(r["compile_seconds"].values())
    out = [
        f"{case}: {t[EAGER]:.3f} s eager, {t[COMPILED]:.3f} s compiled "
        f"({t[EAGER] / t[COMPILED]:.2f}x the speed of eager)"
        for case, t in times.items()
    ]
    first = ", ".join(f"{task} {s:.0f} s" for task, s in r["compile_seconds"].items())
    out.append(
        f"the compile (each task's first update, from an empty cache): {compile_total:.0f} s "
        f"({first})"
    )
    round_ = next(t for case, t in times.items() if case.startswith("round"))
    saved = round_[EAGER] - round_[COMPILED]
    if saved > 0:
        out.append(
            f"a round saves {saved:.3f} s compiled: the compile pays for itself after "
            f"{compile_total / saved:.0f} rounds (in every process a recipe step starts)"
        )
    else:
        out.append(
            f"a round takes {-saved:.3f} s longer compiled: compiling never pays for itself "
            "here, and the recipe stays eager"
        )
    return out


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    rows = [
        [case, f"{t[EAGER]:.3f}", f"{t[COMPILED]:.3f}", f"{t[EAGER] / t[COMPILED]:.2f}x"]
        for case, t in _times(r).items()
    ]
    s = r["settings"]
    blocks = [
        "# The recipe's training updates: eager against torch.compile",
        provenance(f"{PYTHON} -m bench.compiled", r),
        "`examples/faces3-cpu.toml`'s network (`faces3`'s: `mobilenetv3_small_100`, 64 px, one "
        "iteration, heat-map landmarks, bf16): the recipe's stage-2 update of each task on real "
        "batches replayed from memory, by two trainers with the same starting weights, one "
        "compiled (`Module.compile()`, inductor's default mode). Median of "
        f"{s['repeats']} interleaved runs (bench/README.md says how), seconds per call, after "
        "the compiled trainer's first update of each task, which is timed once on its own: the "
        "compile, from an empty inductor cache.",
        table(["case", EAGER, COMPILED, "speed against eager"], rows),
        what_this_shows(r["findings"]),
        f"Command: `{r['command']}`",
    ]
    return "\n\n".join(blocks) + "\n"
