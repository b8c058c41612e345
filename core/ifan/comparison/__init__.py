"""Comparing runs: each task's values side by side, the relative change of each task's main value
against a baseline, their mean Δm, and a gate that refuses a run worse than its baselines.

Where the numbers come from. :func:`~ifan.comparison.scores.read_scores` takes the scores a run
already has: for each task, the latest validation record on the split in the run's ``metrics.jsonl``
(:mod:`ifan.runs.history`), which carries the metric's ``main`` value and its direction
(``higher_is_better``) as the task's :class:`~ifan.metrics.Metric` declares them. Nothing is loaded
or scored, so it takes no time and needs neither the data nor the plugins. Training scores only the
val split, so for the test split (or for a checkpoint newer than the last validation)
:func:`~ifan.comparison.scores.evaluate_scores` scores the run's latest checkpoint now, as ``ifan
eval`` does.

Δm (Maninis et al. 2019; Vandenhende et al. 2021) is the mean, over the T tasks a run shares with
its baselines, of each main value's relative change, its sign turned for lower-is-better metrics:

    Δm = (1/T) Σ_t (-1)^l_t (M_t - M_b,t) / |M_b,t|,   l_t = 1 when lower is better,

so a positive change is an improvement whichever way the metric goes. (``|M_b,t|`` is ``M_b,t`` for
the usual positive metrics, and keeps the sign's meaning for a negative one.)
"""

from ifan.comparison.changes import Comparison, compare, relative_change
from ifan.comparison.report import format_comparison, percent
from ifan.comparison.scores import RunScores, TaskScores, evaluate_scores, read_scores
from ifan.errors import ComparisonError

__all__ = [
    "Comparison",
    "ComparisonError",
    "RunScores",
    "TaskScores",
    "compare",
    "evaluate_scores",
    "format_comparison",
    "percent",
    "read_scores",
    "relative_change",
]
