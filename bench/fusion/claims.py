"""The paper's claims judged on the results (pure: made-up results in tests/bench/test_fusion.py):
gains in each metric's own direction, a rough noise bar from the test faces, each claim's verdict
on each matrix, and the integrated model beside post-hoc fusion."""

from __future__ import annotations

import math
from typing import Any

from bench.fusion.design import FUSED, LOWER_IS_BETTER, MAIN, OWN, PAPER_FUSION_GAIN, TASKS


def gain(value: float, base: float, metric: str) -> float:
    """How much better ``value`` is than ``base`` on ``metric``, in its own units (positive:
    better; a lower MAE is better)."""
    return base - value if metric in LOWER_IS_BETTER else value - base


def relative(value: float, base: float, metric: str) -> float | None:
    """:func:`gain` as a fraction of ``base`` (None for a base of 0)."""
    return gain(value, base, metric) / abs(base) if base else None


def standard_error(value: float, faces: int, metric: str) -> float:
    """A score's standard error on ``faces`` test faces: binomial for an accuracy; for an MAE
    roughly the MAE over the root of the faces (absolute errors spread about as much as their
    mean)."""
    if metric in LOWER_IS_BETTER:
        return value / math.sqrt(faces)
    return math.sqrt(max(value * (1 - value), 0.0) / faces)


def beyond_noise(a: float, b: float, faces: int, metric: str) -> bool:
    """Whether two scores on the same ``faces`` differ by more than two standard errors of
    their difference (taken as independent: conservative for the same faces)."""
    spread = math.hypot(standard_error(a, faces, metric), standard_error(b, faces, metric))
    return abs(a - b) > 2 * spread


def verdict(change: float, beyond: bool) -> str:
    """A claimed improvement's verdict from the change found (positive: the claimed way)."""
    if change > 0:
        return "holds" if beyond else "same direction, within noise"
    if change < 0:
        return "does not hold: the opposite, beyond noise" if beyond else (
            "does not hold: the opposite direction, within noise"
        )  # fmt: skip
    return "does not hold: no change"


def transfer_claim(kind: str, targets: dict[str, Any], floors: dict[str, Any]) -> dict[str, Any]:
    """Features of one task used for another: which cross-task cells of a matrix beat the
    no-model floor beyond noise."""
    transfer = []
    for target, t in targets.items():
        metric, faces = t["metric"], t["samples"]["test"]
        floor = floors[target]["value"]
        for source in TASKS:
            if source == target or source not in t["scores"]:
                continue
            value = t["scores"][source]
            transfer.append({
                "source": source, "target": target, "value": value, "floor": floor,
                "own": t["scores"][OWN],
                "above_floor": gain(value, floor, metric) > 0
                and beyond_noise(value, floor, faces, metric),
            })  # fmt: skip
    helped = {
        target: [c["source"] for c in transfer if c["target"] == target and c["above_floor"]]
        for target in targets
    }
    reached = [target for target, sources in helped.items() if sources]
    if len(reached) == len(targets):
        judged = "holds"
    elif reached:
        judged = f"holds for {', '.join(reached)} only"
    else:
        judged = "does not hold"
    count = sum(len(sources) for sources in helped.values())
    each = "; ".join(f"{t} from {', '.join(found) or 'none'}" for t, found in helped.items())
    return {
        "claim": "transfer", "matrix": kind, "cells": transfer, "helped": helped,
        "verdict": judged,
        "summary": f"{count} of {len(transfer)} cross-task cells beat the no-model floor "
        f"beyond noise: {each}",
    }  # fmt: skip


def claims(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's claims checked on each matrix done: per claim and matrix, the numbers and a
    verdict."""
    out = []
    for kind, matrix in r["matrices"].items():
        if matrix is None:
            continue
        targets = matrix["targets"]
        out.append(transfer_claim(kind, targets, r["no_model"]))
        race = targets.get("race")
        if race is not None and "identity" in race["scores"]:
            value, own = race["scores"]["identity"], race["scores"][OWN]
            beyond = beyond_noise(value, own, race["samples"]["test"], race["metric"])
            out.append({
                "claim": "id-on-race", "matrix": kind, "value": value, "own": own,
                "verdict": verdict(gain(value, own, race["metric"]), beyond),
            })  # fmt: skip
        for target, t in targets.items():
            value, own, metric = t["scores"][FUSED], t["scores"][OWN], t["metric"]
            beyond = beyond_noise(value, own, t["samples"]["test"], metric)
            out.append({
                "claim": "fusion", "matrix": kind, "target": target, "metric": metric,
                "value": value, "own": own, "relative": relative(value, own, metric),
                "paper_percent": PAPER_FUSION_GAIN[target],
                "verdict": verdict(gain(value, own, metric), beyond),
            })  # fmt: skip
    return out


COMPARED = {
    "single": "single-task model",
    "integrated": "integrated model",
    "single_own_probe": "probe on its own single-task features",
    "posthoc_fusion": "post-hoc fusion of the single-task models",
    "integrated_fused_probe": "probe on the integrated model's fused features",
}


def integrated_vs_fusion(r: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per task, its main test score five ways (:data:`COMPARED`): the single-task model and
    the integrated model as trained (``ifan eval``), and probe heads on the single-task model's
    own features, on the single-task models' fused features (post-hoc fusion) and on the
    integrated model's fused features."""

    def direct(name: str, task: str) -> float | None:
        test = r["models"][name]["test"]
        return None if test is None else test.get(f"{task}.{MAIN[task]}")

    def probed(kind: str, task: str, row: str) -> float | None:
        matrix = r["matrices"].get(kind)
        return None if matrix is None else matrix["targets"][task]["scores"].get(row)

    return {
        task: {
            "single": direct(f"single-{task}", task),
            "integrated": direct("integrated", task),
            "single_own_probe": probed("single", task, OWN),
            "posthoc_fusion": probed("single", task, FUSED),
            "integrated_fused_probe": probed("integrated", task, FUSED),
        }
        for task in TASKS
    }


def best_way(values: dict[str, float | None], metric: str) -> str | None:
    """The key of the best of ``values`` (None when none is known)."""
    known = {k: v for k, v in values.items() if v is not None}
    if not known:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(known, key=lambda k: known[k])


def scored_faces(r: dict[str, Any], task: str) -> int | None:
    """The faces of ``task``'s test split, as a matrix counted them (None before any)."""
    for matrix in r["matrices"].values():
        if matrix is not None and task in matrix["targets"]:
            return matrix["targets"][task]["samples"]["test"]
    return None
