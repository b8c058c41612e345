"""Several seeds of one experiment: their mean and spread, and whether an order of experiments
holds beyond that spread.

Plain arithmetic on score dictionaries (no torch, no ifan), shared by ``bench.reproduce``'s
report and its tests. The spread of an experiment is the range of its seeds' values (largest
minus smallest); a table shows it as mean ± half the range, which with two seeds is the mean and
the distance from it to either seed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

Values = dict[str, float]
"""One experiment's value of one metric, by seed (as a string: JSON's keys are)."""


def numbers(scores: dict[str, Any]) -> Values:
    """The entries of ``scores`` that are numbers (not flags such as ``resumed``)."""
    return {
        k: float(v)
        for k, v in scores.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def by_key(runs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Each number of ``runs`` as the list of its value in every run, for the keys all have."""
    tables = [numbers(r) for r in runs]
    return {k: [t[k] for t in tables] for k in tables[0] if all(k in t for t in tables)}


def mean(runs: list[dict[str, Any]]) -> Values:
    """Each number's mean over ``runs``."""
    return {k: statistics.fmean(v) for k, v in by_key(runs).items()}


def half_range(runs: list[dict[str, Any]]) -> Values:
    """Each number's half range, (largest - smallest) / 2, over ``runs``."""
    return {k: (max(v) - min(v)) / 2 for k, v in by_key(runs).items()}


def summarize(runs: dict[int, dict[str, Any]], planned: list[int]) -> dict[str, Any]:
    """One experiment's entry from its scored runs by seed, each ``{"val": {...}, "test":
    {...}, "seconds": {...}}``: each split's mean over the seeds (so the entry reads like one
    run's), its half range where two or more seeds are done, the seeds planned, and every run as
    it was. Seconds are the mean of the runs trained in one go (a resumed run's time is that of
    its last part only)."""
    entries = list(runs.values())
    out: dict[str, Any] = {"planned": planned, "seeds": {str(s): e for s, e in runs.items()}}
    for split in ("val", "test"):
        found = [e[split] for e in entries if split in e]
        if found:
            out[split] = mean(found)
        if len(found) >= 2:
            out.setdefault("half_range", {})[split] = half_range(found)
    timed = [e["seconds"] for e in entries if "seconds" in e and not e["seconds"].get("resumed")]
    if timed:
        out["seconds"] = mean(timed)
    return out


def seed_values(entry: dict[str, Any] | None, key: str, split: str = "val") -> Values:
    """Each seed's value of ``key`` in an entry of ``summarize`` (none when it is missing)."""
    runs = (entry or {}).get("seeds", {})
    return {s: r[split][key] for s, r in runs.items() if key in r.get(split, {})}


def spread(values: Values) -> float | None:
    """Largest minus smallest of the seeds' values; None with fewer than two seeds."""
    return max(values.values()) - min(values.values()) if len(values) >= 2 else None


@dataclass(frozen=True)
class Step:
    """One link of an order: experiment ``later`` against the one before it, ``earlier``."""

    earlier: str
    later: str
    gain: float
    """Mean of ``later`` minus mean of ``earlier``, signed so that above 0 is better."""
    spread: float | None
    """The larger spread of the two; None unless both have two seeds or more."""
    better_in: list[str]
    """The seeds both have in which ``later`` is better (the same faces and draws for both)."""
    worse_in: list[str]

    @property
    def beyond_spread(self) -> bool:
        """Whether the difference of the means is larger than the seed-to-seed spread."""
        return self.spread is not None and abs(self.gain) > self.spread


def step(earlier: Values, later: Values, names: tuple[str, str], higher_is_better: bool) -> Step:
    """How ``later``'s seeds compare with ``earlier``'s on a metric: on the means, against the
    spread, and seed by seed."""
    sign = 1.0 if higher_is_better else -1.0
    gain = sign * (statistics.fmean(later.values()) - statistics.fmean(earlier.values()))
    known = [x for x in (spread(earlier), spread(later)) if x is not None]
    common = [s for s in earlier if s in later]
    return Step(
        earlier=names[0],
        later=names[1],
        gain=gain,
        spread=max(known) if len(known) == 2 else None,
        better_in=[s for s in common if sign * (later[s] - earlier[s]) > 0],
        worse_in=[s for s in common if sign * (later[s] - earlier[s]) <= 0],
    )


HOLDS_BEYOND = "holds, each step beyond the seed-to-seed spread"
HOLDS_WITHIN = "holds on the means, not every step beyond the seed-to-seed spread"
FAILS = "does not hold"
MISSING = "not judged yet"


def order(values: dict[str, Values], names: list[str], higher_is_better: bool) -> dict[str, Any]:
    """Whether each of ``names`` is better than the one before it, from every seed's value of
    one metric (``values`` by name): the verdict (one of the sentences above), each step, and
    the names with no value yet."""
    missing = [n for n in names if not values.get(n)]
    if missing:
        return {"verdict": MISSING, "missing": missing, "steps": []}
    steps = [step(values[a], values[b], (a, b), higher_is_better) for a, b in pairwise(names)]
    if not all(s.gain > 0 for s in steps):
        verdict = FAILS
    elif all(s.beyond_spread for s in steps):
        verdict = HOLDS_BEYOND
    else:
        verdict = HOLDS_WITHIN
    return {
        "verdict": verdict,
        "missing": [],
        "steps": [{**asdict(s), "beyond_spread": s.beyond_spread} for s in steps],
    }


def seeds_text(seeds: list[str]) -> str:
    """``seed 0``, ``seeds 0 and 1``, ``seeds 0, 1 and 2``."""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return f"seeds {', '.join(seeds[:-1])} and {seeds[-1]}"


def row_phrase(label: str, values: Values, fmt: Callable[[float], str]) -> str:
    """``3T Iter0 24.60 (seeds 0 and 1: 24.20, 25.00)``, or ``(seed 0 only)``."""
    mean_text = fmt(statistics.fmean(values.values()))
    if len(values) == 1:
        return f"{label} {mean_text} (seed {next(iter(values))} only)"
    each = ", ".join(fmt(v) for v in values.values())
    return f"{label} {mean_text} ({seeds_text(list(values))}: {each})"


def step_phrase(s: dict[str, Any], labels: dict[str, str], fmt: Callable[[float], str]) -> str:
    """One step in words: how far apart the means are, against the spread, and seed by seed."""
    better = "better" if s["gain"] > 0 else "worse"
    later, earlier = labels[s["later"]], labels[s["earlier"]]
    text = f"{later} is {fmt(abs(s['gain']))} points {better} than {earlier}"
    if s["spread"] is None:
        text += ", the seed-to-seed spread not known (one of them has a single seed)"
    else:
        size = "more than" if s["beyond_spread"] else "within"
        text += f", {size} the seed-to-seed spread ({fmt(s['spread'])})"
    better_in, worse_in = s["better_in"], s["worse_in"]
    if better_in and worse_in:
        text += f", better in {seeds_text(better_in)}, not in {seeds_text(worse_in)}"
    elif better_in:
        text += f", better in {seeds_text(better_in)}"
    elif worse_in:
        text += f", not better in {seeds_text(worse_in)}"
    return text


def describe(
    result: dict[str, Any],
    values: dict[str, Values],
    labels: dict[str, str],
    subject: str,
    claim: str,
    fmt: Callable[[float], str],
) -> str:
    """``order``'s result in words, every number from ``values``: ``subject`` names the metric,
    ``claim`` the order being tested, ``labels`` the experiments."""
    if result["missing"]:
        absent = ", ".join(labels[n] for n in result["missing"])
        return f"{subject}: {claim} is {MISSING}, no scores for {absent} so far."
    rows = ", ".join(row_phrase(labels[n], values[n], fmt) for n in labels)
    steps = "; ".join(step_phrase(s, labels, fmt) for s in result["steps"])
    return f"{subject}: {rows}. Here {claim} {result['verdict']}: {steps}."
