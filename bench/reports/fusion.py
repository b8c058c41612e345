"""The report of ``python -m bench.fusion``: each run, the probe matrices, each model's own test
scores, the integrated model beside post-hoc fusion, the paper's claims beside ours, and the
findings."""

from __future__ import annotations

from typing import Any

from bench.fusion.claims import (
    COMPARED,
    best_way,
    beyond_noise,
    claims,
    gain,
    integrated_vs_fusion,
    relative,
    scored_faces,
)
from bench.fusion.design import LOWER_IS_BETTER, MAIN, PAPER_CLAIMS, PAPER_OVER
from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON

OTHER_VALUES = {
    "identity": ("top5", "verification_accuracy", "eer"),
    "age": ("cs5",),
    "gender": ("mean_accuracy",),
    "race": ("mean_accuracy",),
}
"""The values of each task's test scores shown beside its main one."""
MATRIX_TITLES = {
    "single": "The matrix of the single-task models (post-hoc fusion)",
    "integrated": "The matrix of the integrated model",
}


def shown(value: float | None, metric: str) -> str:
    """A score as the report shows it: a fraction in %, an MAE in years."""
    if value is None:
        return "-"
    return f"{value:.2f} y" if metric in LOWER_IS_BETTER else f"{100 * value:.1f} %"


def change_text(value: float, base: float, metric: str) -> str:
    """``+2.1 points, +3.4 %`` (accuracy), ``+0.52 y, +5.0 %`` (an MAE 0.52 years lower): the
    gain and the relative gain, positive when ``value`` is better than ``base``."""
    points = gain(value, base, metric)
    rel = relative(value, base, metric)
    text = f"{points:+.2f} y" if metric in LOWER_IS_BETTER else f"{100 * points:+.1f} points"
    return text + ("" if rel is None else f", {100 * rel:+.1f} %")


def noise_words(a: float, b: float, faces: int | None, metric: str) -> str:
    """``, beyond noise`` or ``, within noise`` (nothing when the faces are not known)."""
    if faces is None:
        return ""
    return ", beyond noise" if beyond_noise(a, b, faces, metric) else ", within noise"


def claim_findings(r: dict[str, Any]) -> list[str]:
    """Each claim of the paper on each matrix, in words."""
    out = []
    names = {"single": "the single-task models", "integrated": "the integrated model"}
    found = claims(r)
    for c in found:
        where = names[c["matrix"]]
        if c["claim"] == "transfer":
            by_target = []
            for target in dict.fromkeys(x["target"] for x in c["cells"]):
                cells = [x for x in c["cells"] if x["target"] == target]
                metric = MAIN[target]
                by_target.append(
                    f"{target} " + ", ".join(
                        f"from {x['source']} {shown(x['value'], metric)}" for x in cells
                    ) + f" (own {shown(cells[0]['own'], metric)}, no model "
                    f"{shown(cells[0]['floor'], metric)})"
                )  # fmt: skip
            out.append(
                f"Features of one task for another ({where}): {c['summary']}. Scores: "
                + "; ".join(by_target)
                + f". The paper's claim that they can be used for related tasks {c['verdict']}."
            )
        elif c["claim"] == "id-on-race":
            out.append(
                f"Identity's features on race ({where}): {shown(c['value'], 'accuracy')} against "
                f"race's own {shown(c['own'], 'accuracy')}, "
                f"{change_text(c['value'], c['own'], 'accuracy')}: the paper's claim that they "
                f"beat race's own {c['verdict']}."
            )
    fusion = [c for c in found if c["claim"] == "fusion"]
    for kind in names:
        chosen = [c for c in fusion if c["matrix"] == kind]
        if not chosen:
            continue
        parts = [
            f"{c['target']} {shown(c['value'], c['metric'])} against "
            f"{shown(c['own'], c['metric'])} ({change_text(c['value'], c['own'], c['metric'])}, "
            f"paper {'over ' if c['target'] in PAPER_OVER else ''}+{c['paper_percent']:g} %: "
            f"{c['verdict']})"
            for c in chosen
        ]
        out.append(f"Fusion against each task's own features ({names[kind]}): " + "; ".join(parts)
                   + ".")  # fmt: skip
    return out


def versus_finding(r: dict[str, Any]) -> list[str]:
    """The integrated model against the single-task models and post-hoc fusion, in words (none
    before both models are scored on a task)."""
    parts = []
    for task, values in integrated_vs_fusion(r).items():
        metric, faces = MAIN[task], scored_faces(r, task)
        single, integrated, posthoc = (
            values[k] for k in ("single", "integrated", "posthoc_fusion")
        )
        if single is None or integrated is None:
            continue
        text = (
            f"{task}: integrated {shown(integrated, metric)} against single-task "
            f"{shown(single, metric)} ({change_text(integrated, single, metric)}"
            f"{noise_words(integrated, single, faces, metric)})"
        )
        if posthoc is not None:
            text += (
                f", post-hoc fusion {shown(posthoc, metric)} "
                f"({change_text(posthoc, integrated, metric)} on the integrated model"
                f"{noise_words(posthoc, integrated, faces, metric)})"
            )
        best = best_way(values, metric)
        parts.append(text + ("" if best is None else f"; best: {COMPARED[best]}"))
    if not parts:
        return []
    return ["The integrated model against post-hoc fusion (test splits): " + "; ".join(parts)
            + "."]  # fmt: skip


def findings(r: dict[str, Any]) -> list[str]:
    """Sentences whose numbers all come from the results: each claim of the paper on each
    matrix, then the integrated model against post-hoc fusion."""
    out = claim_findings(r) + versus_finding(r)
    if out:
        out.append(
            'One seed and one carving of the data: "beyond noise" means more than two '
            "standard errors of the difference (binomial for accuracies, MAE / sqrt(faces) for "
            "age), a rough bar; another seed moves every number."
        )
    else:
        out.append("Nothing is done yet: no model is scored and no matrix is probed.")
    return out


def matrix_table(matrix: dict[str, Any], floors: dict[str, Any]) -> str:
    """Rows the feature sources, ``own`` and ``fused``, then the no-model floor; columns the
    targets; the best of each column in bold."""
    targets = matrix["targets"]
    headers = ["features"] + [
        f"{task} {t['metric']} ({'years' if t['unit'] else '%'}, "
        f"{'higher' if t['higher_is_better'] else 'lower'} is better)"
        for task, t in targets.items()
    ]
    rows = []
    for row in matrix["rows"]:
        cells = [row]
        for t in targets.values():
            value = t["scores"][row]
            best = (max if t["higher_is_better"] else min)(t["scores"].values())
            text = shown(value, t["metric"])
            cells.append(f"**{text}**" if value == best else text)
        rows.append(cells)
    rows.append(["no model"] + [shown(floors[task]["value"], t["metric"])
                                for task, t in targets.items()])  # fmt: skip
    faces = ", ".join(f"{task} {t['samples']['train']} / {t['samples']['test']}"
                      for task, t in targets.items())  # fmt: skip
    return table(headers, rows) + f"\n\nFaces (train / test): {faces}."


def introduction(r: dict[str, Any]) -> list[str]:
    """The title, who wrote it, the experiment and the test splits."""
    s = r["settings"]
    utk = s["utkface"]
    first = "" if utk["test_files"] is None else f", the first {utk['test_files']} of them"
    return [
        f"# Features across tasks: post-hoc fusion and the integrated model ({s['scale']} scale)",
        provenance(f"{PYTHON} -m bench.fusion --scale {s['scale']}", r),
        "Li and Zhu train four single-task classifiers (race, age, gender, identity), extract "
        "each one's features and train every task on the other tasks' features and on all of "
        "them fused. Here: identity on LFW (158 people), age, gender and race on UTKFace "
        f"(`crop_part1`), each a model of `{s['manifest']}`, and one integrated model of the four "
        "trained across the two datasets; the probe matrices are `ifan probe` with "
        f"{s['head']} heads trained {s['probe_epochs']} epochs on each target's training faces.",
        f"Test splits, the same in every row: LFW holds out {s['lfw']['test_per_person']} "
        f"photo(s) of each person ({s['lfw']['val_per_person']} more for validation); UTKFace is "
        f"carved by file ({utk['test']} test files, a SHA-256 of the name below "
        f"{utk['test_fraction']:g}{first}; "
        f"{utk['train']} training files; digest {utk['digest']}).",
    ]  # fmt: skip


def runs_section(r: dict[str, Any]) -> list[str]:
    """Each model's training time and speed, and every command."""
    rows = []
    for name, m in r["models"].items():
        speed = m["speed"] or {}
        seconds = m["seconds"].get("train")
        rows.append([
            name, ",".join(m["tasks"]),
            "-" if seconds is None else f"{seconds / 60:.1f} min"
            + (" (resumed: last part)" if m["seconds"].get("resumed") else ""),
            speed.get("updates", "-"),
            *(f"{speed[k]:.3f}" if k in speed else "-"
              for k in ("stage_1_seconds_per_update", "stage_2_seconds_per_round")),
            "yes" if m["test"] is not None else "not yet",
        ])  # fmt: skip
    commands = [
        *(f"$ {m['command']}" for m in r["models"].values() if m["command"]),
        *(f"$ {m['command']}" for m in r["matrices"].values() if m),
    ]
    return [
        "## Each run",
        table(["model", "tasks", "training", "updates", "s / update, stage 1",
               "s / round, stage 2", "scored"], rows),
        "Commands (from the repository root; the plugins installed in the folder on "
        "`PYTHONPATH` by the script):",
        "\n".join(["```console", *commands, "```"]),
        "Each model is then scored by `ifan eval` on its test splits: `ifan eval "
        "WORK/<model>/run --split test --json WORK/<model>/test.json`. A resumed training's "
        "speeds include its restart.",
    ]  # fmt: skip


def matrix_sections(r: dict[str, Any]) -> list[str]:
    """Each matrix, or that it is not probed yet."""
    blocks = []
    for kind, matrix in r["matrices"].items():
        blocks.append(f"## {MATRIX_TITLES[kind]}")
        if matrix is None:
            blocks.append("Not probed yet.")
            continue
        blocks += [
            "Rows: the features a head learns from (a task's, `own`: the target's own, "
            "`fused`: all side by side); columns: the targets, on their test splits. Identity's "
            "accuracy is top-1 over its people.",
            matrix_table(matrix, r["no_model"]),
        ]
    return blocks


def scores_sections(r: dict[str, Any]) -> list[str]:
    """Each model's own test scores, and the integrated model beside post-hoc fusion."""
    rows = []
    for name, m in r["models"].items():
        for task in m["tasks"]:
            test = m["test"] or {}
            more = ", ".join(
                f"{k} {100 * test[f'{task}.{k}']:.1f} %"
                for k in OTHER_VALUES[task]
                if f"{task}.{k}" in test
            )
            rows.append([name, task, shown(test.get(f"{task}.{MAIN[task]}"), MAIN[task]),
                         more or "-"])  # fmt: skip
    compared = [
        [task, *(shown(v, MAIN[task]) for v in values.values())]
        for task, values in integrated_vs_fusion(r).items()
    ]
    return [
        "## Each model's own test scores",
        table(["model", "task", "main", "other values"], rows),
        "## The integrated model beside post-hoc fusion",
        table(["task", *COMPARED.values()], compared),
    ]


def claims_section(r: dict[str, Any]) -> list[str]:
    """The paper's claims beside ours, with a verdict each."""
    rows = []
    for c in claims(r):
        if c["claim"] == "transfer":
            ours = c["summary"]
        elif c["claim"] == "id-on-race":
            ours = (f"identity -> race {shown(c['value'], 'accuracy')}, own "
                    f"{shown(c['own'], 'accuracy')}")  # fmt: skip
        else:
            ours = (
                f"{c['target']}: fused {shown(c['value'], c['metric'])}, own "
                f"{shown(c['own'], c['metric'])}, "
                f"{change_text(c['value'], c['own'], c['metric'])} (paper: "
                f"{'over ' if c['target'] in PAPER_OVER else ''}+{c['paper_percent']:g} %)"
            )
        rows.append([PAPER_CLAIMS[c["claim"]], c["matrix"], ours, c["verdict"]])
    return [
        "## The paper's claims beside ours",
        table(["the paper", "matrix", "here", "verdict"], rows) if rows else "No matrix yet.",
        "The paper gives its gains in % without saying of what; here both the change in "
        "points (years for age) and the relative change against the target's own features. "
        "Its age task classifies age groups; here age is regressed and scored by MAE.",
    ]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    blocks = [
        *introduction(r),
        *runs_section(r),
        *matrix_sections(r),
        *scores_sections(r),
        *claims_section(r),
        what_this_shows(r["findings"]),
    ]
    return "\n\n".join(blocks) + "\n"
