"""The paper's order, single task > 3T Iter0 > 3T Iter2 in error, judged on each task's main
metric over the seeds done (:mod:`bench.reproduce.seeds`), with the judgement in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.lib.markdown import pct
from bench.reproduce.seeds import describe, order, seed_values


@dataclass(frozen=True)
class MainMetric:
    """The metric of a task that the paper's order is judged on."""

    key: str
    subject: str
    """What it is, as a finding opens."""
    higher_is_better: bool


MAIN_METRICS = {
    "landmarks": MainMetric("landmarks.nme", "Landmarks, mean NME in % on MTFL val (lower is "
                            "better)", higher_is_better=False),
    "parsing": MainMetric("parsing.f1_overall", "Parsing, overall F-score in % on FASSEG V2 val "
                          "(higher is better)", higher_is_better=True),
    "emotion": MainMetric("emotion.accuracy", "Emotion, accuracy in % on FER2013 val (higher is "
                          "better)", higher_is_better=True),
}  # fmt: skip
CLAIM = "the paper's order (single task > 3T Iter0 > 3T Iter2 in error)"
CLAIM_ROWS = ("single task", "3T Iter0", "3T Iter2")


def claim_names(task: str) -> list[str]:
    """The experiments of the paper's order on ``task``, worst first by its claim."""
    return [f"single-{task}", "3t-iter0", "3t-iter2"]


def verdicts(scores: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """For each task: every seed's value of its main metric in the experiments of the paper's
    order, whether the order holds (``seeds.order``), and that in words."""
    out = []
    for task, metric in MAIN_METRICS.items():
        names = claim_names(task)
        values = {n: seed_values(scores.get(n), metric.key) for n in names}
        result = order(values, names, metric.higher_is_better)
        labels = dict(zip(names, CLAIM_ROWS, strict=True))
        sentence = describe(result, values, labels, metric.subject, CLAIM, pct)
        out.append({"task": task, "metric": metric.key, "values": values, **result,
                    "sentence": sentence})  # fmt: skip
    return out
