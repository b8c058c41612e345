"""The paper's numbers (Li et al. 2017), in %, that the report puts beside ours. Table 1: NME per
point on MTFL ("MTFD"); Table 2: F-score overall on Helen; Table 3: accuracy on BNU-LSVED; Table
4: each task's main metric by iterations; §4.3: the ablations at Iter2."""

from __future__ import annotations

from typing import Any

from bench.reproduce.experiments import EXPERIMENTS

PAPER_NME = {
    "Single Task": [8.19, 10.30, 10.86, 10.25, 10.68, 10.06],
    "iFAN 2T Iter0": [6.52, 8.21, 9.67, 7.39, 8.03, 7.96],
    "iFAN 2T Iter1": [6.20, 5.97, 7.53, 5.79, 5.76, 6.25],
    "iFAN 2T Iter2": [5.99, 6.10, 7.46, 5.73, 5.68, 6.19],
    "iFAN 3T Iter0": [6.08, 7.54, 8.92, 7.42, 7.79, 7.55],
    "iFAN 3T Iter1": [5.93, 5.91, 6.79, 5.38, 5.26, 5.85],
    "iFAN 3T Iter2": [5.73, 6.05, 6.85, 5.31, 5.25, 5.84],
}
PAPER_TABLE4 = {  # parsing overall F-score, landmark NME, emotion accuracy
    "Single Task": (88.750, 10.06, 42.26),
    "iFAN 3T Iter0": (90.961, 7.55, 44.84),
    "iFAN 3T Iter1": (91.142, 5.85, 45.16),
    "iFAN 3T Iter2": (91.147, 5.84, 45.40),
    "iFAN 3T Iter3": (91.145, 5.81, 45.73),
    "iFAN 3T Iter4": (91.145, 5.82, 45.48),
}
PAPER_PARSING = {"Single Task": 88.75, "iFAN 2T Iter0": 90.52, "iFAN 2T Iter1": 91.03,
                 "iFAN 2T Iter2": 91.10, "iFAN 3T Iter0": 90.96, "iFAN 3T Iter1": 91.14,
                 "iFAN 3T Iter2": 91.15}  # fmt: skip
PAPER_EMOTION = {"Single Task": 42.26, "iFAN 3T Iter0": 44.84, "iFAN 3T Iter1": 45.16,
                 "iFAN 3T Iter2": 45.40}  # fmt: skip
PAPER_ABLATION = {  # (parsing F-score, NME, accuracy) after two iterations
    "3t-iter2": (91.15, 5.84, 45.40),
    "3t-iter2-resize": (89.4, 10.5, 42.09),
    "3t-iter2-shared-bn": (87.65, 9.74, 33.63),
}


def paper_by_experiment() -> dict[str, Any]:
    """(parsing F-score, landmark NME, emotion accuracy) in %, per experiment, as the results
    record them (``single`` for the single-task rows)."""
    return {
        "single": PAPER_TABLE4["Single Task"],
        **{
            e.name: PAPER_TABLE4[e.row]
            for e in EXPERIMENTS
            if e.row in PAPER_TABLE4 and e.row != "Single Task"
        },
        **PAPER_ABLATION,
    }
