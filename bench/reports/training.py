"""The report of ``python -m bench.training``: each task's update with every data path, as a
multiple of the same update on batches in memory, and the profile of an alternating round."""

from __future__ import annotations

import statistics
from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.profiling import is_convolution
from bench.lib.results import PYTHON


def median(values: list[float]) -> float:
    """The median of timings."""
    return statistics.median(values)


def before_words(r: dict[str, Any], task: str, memory: float) -> str:
    """What an earlier commit's run (``--before``) measured for ``task`` (nothing without one)."""
    before = (r.get("before") or {}).get("update_seconds", {}).get(task)
    if not before:
        return ""
    batch = r["settings"]["batch_sizes"][task]
    old, old_memory = median(before["workers 0"]), median(before["memory"])
    text = (
        f"; before ({r['before']['commit']}, workers 0) reading added "
        f"{100 * (old / old_memory - 1):.0f} % to the update and it made "
        f"{batch / old:.0f} images/s"
    )
    if abs(old_memory / memory - 1) > 0.05:
        text += (
            f" (but the model alone ran {memory / old_memory:.2f}x as fast in that run, "
            "so compare the percentages)"
        )
    return text


def task_finding(r: dict[str, Any], task: str) -> str:
    """What reading costs ``task``'s update, decoding the photos instead, an earlier commit,
    and the best number of workers."""
    variants = r["update_seconds"][task]
    memory = median(variants["memory"])
    serial = median(variants["workers 0"])
    best = min((v for v in variants if v.startswith("workers")), key=lambda v: median(variants[v]))
    batch = r["settings"]["batch_sizes"][task]
    line = (
        f"{task}: an update on batches in memory takes {memory * 1e3:.0f} ms; reading the "
        f"prepared split and augmenting the batch in the training process (workers 0) adds "
        f"{100 * (serial / memory - 1):.0f} % "
        f"({median(r['read_batch_seconds'][task]) * 1e3:.0f} ms a batch read alone), "
        f"{'within' if serial / memory <= 1.10 else 'OVER'} the 10 % target; "
        f"{batch / serial:.0f} images/s"
    )
    if "photos" in variants:
        photos = median(variants["photos"])
        line += (
            f" (decoding the photos instead: {photos / memory:.2f}x, {batch / photos:.0f} images/s)"
        )
    line += before_words(r, task, memory)
    return line + f"; with {best}: {median(variants[best]) / memory:.2f}x."


def profile_finding(p: dict[str, Any]) -> str:
    """Where an alternating round's time goes: the convolutions, the data, the rest."""
    rest = [t for t in p["top"] if not is_convolution(t["operator"])]
    big = [f"{t['operator']} {100 * t['share']:.0f} %" for t in rest if t["share"] > 0.10]
    return (
        f"one alternating round of the 3 tasks ({p['iterations']} iterations) took "
        f"{p['seconds']:.2f} s: convolutions {100 * p['convolution_share']:.0f} % of it, "
        f"reading and augmenting the batches {100 * p['data_share']:.1f} %; outside the "
        "convolutions, "
        + (
            "above 10 %: " + ", ".join(big)
            if big
            else f"no operator above 10 % (the largest: {rest[0]['operator']} "
            f"{100 * rest[0]['share']:.1f} %)"
        )
    )


def findings(r: dict[str, Any]) -> list[str]:
    """Per task, what reading costs an update and what workers win back; where a round's time
    goes; how long preparing the splits took."""
    out = [task_finding(r, task) for task in r["update_seconds"]]
    if r.get("profile"):
        out.append(profile_finding(r["profile"]))
    for task, seconds in r.get("prepare_seconds", {}).items():
        out.append(
            f"preparing {task}'s splits from {r['settings'].get('cache_state', 'an empty cache')} "
            f"took {seconds['empty cache']:.0f} s "
            f"(opening them again: {seconds['cached']:.1f} s)"
        )
    return out


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    s = r["settings"]
    times, reads = r["update_seconds"], r["read_batch_seconds"]
    variants = list(next(iter(times.values())))
    order = ["memory", *[v for v in variants if v != "memory"]]
    rows = []
    for task, per in times.items():
        memory = median(per["memory"])
        rows.append(
            [task, s["batch_sizes"][task], f"{median(reads[task]) * 1e3:,.0f}"]
            + [f"{median(per[v]) * 1e3:,.0f} ({median(per[v]) / memory:.2f}x)" for v in order]
        )
    blocks = [
        "# Training: the data pipeline's cost",
        provenance(f"{PYTHON} -m bench.training", r),
        f"`{s['manifest']}` on `{s['data']}` with `{' '.join(s['overrides'])}`: pre-training "
        "updates (forward, backward and RMSprop step of one task) with each task's batch size, "
        f"median of {s['repeats']} interleaved blocks of {s['updates']} updates each "
        "(bench/README.md says how the blocks are timed).",
        table(
            ["task", "batch", "read a batch alone (ms)", *[f"update, {v} (ms)" for v in order]],
            rows,
        ),
        "Ratios are against the same update on batches in memory: 1.00x means the data pipeline "
        "costs nothing visible.",
        what_this_shows(r["findings"]),
    ]
    if r.get("profile"):
        top = r["profile"]["top"]
        blocks += [
            "## Profile of one alternating round",
            table(
                ["operator", "share of the round", "calls"],
                [[t["operator"], f"{100 * t['share']:.1f} %", t["calls"]] for t in top],
            ),
        ]
    return "\n\n".join(blocks) + "\n"
