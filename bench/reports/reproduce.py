"""The report of ``python -m bench.reproduce``: the paper's tables with its numbers beside ours,
each run, the paper's order judged over the seeds, and the findings."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import pct, table, what_this_shows
from bench.lib.results import PYTHON
from bench.reproduce.experiments import EXPERIMENTS, Experiment, folder_name
from bench.reproduce.paper import (
    PAPER_ABLATION,
    PAPER_EMOTION,
    PAPER_NME,
    PAPER_PARSING,
    PAPER_TABLE4,
)
from bench.reproduce.seeds import seed_values
from bench.reproduce.verdicts import CLAIM_ROWS, claim_names

POINTS = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
"""MTFL's five points, in the order of Table 1's columns."""
SCALE_NOTES = {
    "cpu": "The cpu scale crops each face to the detector's box (`model.crop.margin=0`), as the "
    "recipe `examples/faces3-cpu.toml` does: at small inputs that crop scored better for "
    "landmarks and emotion (docs/recipe.md). Everything else is the paper's setup: its "
    "FC-DenseNet, its Euclidean landmark loss, RMSprop, FASSEG V2 for parsing; so these tables "
    "reproduce the paper, not the recipe.",
    "gpu": "The gpu scale is the paper's setting as the manifest gives it, crop included.",
}


def paper(value: float | None) -> str:
    """One of the paper's numbers (already in %); ``-`` for none."""
    return "-" if value is None else f"{value:.2f}"


def cell(scores: dict[str, Any], name: str, key: str, split: str = "val") -> str:
    """A table's number for experiment ``name``, in %: the mean of its seeds, ± half their
    range when two or more are done, and how many are done when some are not yet."""
    entry = scores.get(name, {})
    value = entry.get(split, {}).get(key)
    if value is None:
        return "-"
    half = entry.get("half_range", {}).get(split, {}).get(key)
    text = pct(value) if half is None else f"{pct(value)} ± {pct(half)}"
    done, planned = len(seed_values(entry, key, split)), len(entry["planned"])
    return text if done == planned else f"{text} ({done} of {planned} seeds)"


def single_or(exp: Experiment, task: str) -> str:
    """The experiment whose ``task`` score fills the row: a single-task row reads its own run."""
    return f"single-{task}" if exp.row == "Single Task" else exp.name


def rows_for(task: str, scale: str) -> list[Experiment]:
    """The table rows of ``task``: its single-task run, then the iFAN runs that include it."""
    rows = [e for e in EXPERIMENTS if e.name == f"single-{task}"]
    rows += [e for e in EXPERIMENTS
             if e.row.startswith("iFAN") and task in e.tasks and scale in e.scales]  # fmt: skip
    return rows


def step_cell(step: dict[str, Any] | None) -> str:
    """One step of the order in a table cell: the difference of the means and the spread."""
    if step is None:
        return "-"
    better = "better" if step["gain"] > 0 else "worse"
    spread = "unknown" if step["spread"] is None else pct(step["spread"])
    return f"{pct(abs(step['gain']))} {better} (spread {spread})"


def verdict_table(r: dict[str, Any]) -> str:
    """The paper's order on each task: the rows, each step against the spread, the verdict."""
    rows = []
    for v in r["verdicts"]:
        steps = v["steps"] or [None, None]
        rows.append([f"{v['task']} ({v['metric']})",
                     *(cell(r["scores"], n, v["metric"]) for n in claim_names(v["task"])),
                     *map(step_cell, steps), v["verdict"]])  # fmt: skip
    return table(["task", *CLAIM_ROWS, "3T Iter0 against single task",
                  "3T Iter2 against 3T Iter0", "the paper's order"], rows)  # fmt: skip


def seeds_paragraph(r: dict[str, Any]) -> str:
    """What the seeds are and how the tables show them, from the report's settings."""
    seeds = r["settings"]["seeds"]
    seeded = [e["name"] for e in r["experiments"] if len(e["seeds"]) > 1]
    runs = (
        f"Seeds {', '.join(map(str, seeds))} (`--set train.seed=N`) for {', '.join(seeded)}; "
        f"the other experiments once, with seed {seeds[0]}."
        if seeded
        else f"Every experiment once, with seed {seeds[0]} (`--set train.seed={seeds[0]}`)."
    )
    return (
        f"{runs} A seed draws the initial weights, the batches, the augmentation, the "
        "training subsets and the validation faces (`train.seed` carves them out of the "
        "training sets): the experiments of one seed are scored on the same faces, two seeds on "
        "different ones, so the spread between seeds includes which faces were held out. A row "
        "with several seeds shows their mean ± half their range (with two seeds: the mean, and "
        'the distance from it to either seed\'s value); "(1 of 2 seeds)" marks a row whose '
        "other seeds are not done yet. Each seed's own scores are in the table of runs."
    )


def experiments_table(r: dict[str, Any]) -> str:
    """Every experiment: the paper's row, its tasks and settings, its seeds and time."""
    rows = [[e["name"], e["row"], ",".join(e["tasks"]), " ".join(e["settings"]) or "-",
             ", ".join(map(str, e["seeds"])),
             f"{e['train_seconds'] / 60:.1f} min" if e["train_seconds"] else "-",
             ", ".join(map(str, e["done"])) or "none"] for e in r["experiments"]]  # fmt: skip
    return table(["experiment", "paper's row", "tasks", "its own settings", "seeds",
                  "training (all seeds)", "seeds done"], rows)  # fmt: skip


def runs_table(r: dict[str, Any]) -> str:
    """Every planned run: its folder, its training time and its main scores, or that it is
    not done yet."""
    rows = []
    for e in r["experiments"]:
        entry = r["scores"].get(e["name"], {})
        for seed in e["seeds"]:
            run = entry.get("seeds", {}).get(str(seed))
            got = [pct(seed_values(entry, k, split).get(str(seed))) for k, split in
                   (("parsing.f1_overall", "val"), ("landmarks.nme", "val"),
                    ("emotion.accuracy", "val"), ("emotion.accuracy", "test"))]  # fmt: skip
            train = (run or {}).get("seconds", {}).get("train")
            rows.append([e["name"], seed, f"`{folder_name(e['name'], seed)}/`",
                         "-" if train is None else f"{train / 60:.1f} min", *got,
                         "yes" if run else "not yet"])  # fmt: skip
    return table(["experiment", "seed", "folder", "training", "parsing F", "landmark NME",
                  "emotion acc. (val)", "emotion acc. (test)", "done"], rows)  # fmt: skip


def introduction(r: dict[str, Any]) -> list[str]:
    """The blocks before the tables: who wrote it, the common settings, the scale, the seeds,
    the experiments and the validation splits."""
    scale = r["settings"]["scale"]
    return [
        f"# The paper's tables on real data ({scale} scale)",
        f"Written by `{PYTHON} -m bench.reproduce --scale {scale}` on {r['date']}. Machine: "
        f"{r['machine']['cpu']}, {r['machine']['cpus_available']} CPUs; torch "
        f"{r['versions']['torch']}, ifan {r['versions']['ifan']}. Every experiment is "
        "`ifan train examples/real-3task.toml` with `--tasks` and these `--set` values, then "
        "`ifan eval --split val` (FER2013 also `--split test`):",
        "\n".join(["```", *r["settings"]["common"], "```"]),
        SCALE_NOTES[scale],
        seeds_paragraph(r),
        experiments_table(r),
        "Validation splits carved out of the training sets by `val_fraction` and the seed (the\n"
        "same faces in every experiment of one seed): MTFL 1,000 faces, FASSEG V2 4 faces,\n"
        "FER2013 2,871 faces (its test split: PublicTest, 3,589 faces, the same for every seed).\n"
        "The peers and the no-model rows use seed 0's validation faces. Numbers in %.",
    ]


def landmarks_table(r: dict[str, Any]) -> list[str]:
    """Table 1: NME per point of every landmark row, the peers and the mean shape, then the
    paper's rows."""
    s, scale = r["scores"], r["settings"]["scale"]
    header = ["row", "L.Eye", "R.Eye", "Nose", "L.Mouth", "R.Mouth", "Mean", "failure rate",
              "paper's Mean"]  # fmt: skip
    rows = []
    for exp in rows_for("landmarks", scale):
        name = single_or(exp, "landmarks")
        keys = [*(f"landmarks.nme_{p}" for p in POINTS), "landmarks.nme", "landmarks.failure_rate"]
        rows.append([exp.row, *(cell(s, name, k) for k in keys),
                     paper(PAPER_NME.get(exp.row, [None] * 6)[-1])])  # fmt: skip
    peers = r.get("peers") or {}
    for peer in ("mediapipe-face-mesh", "mtcnn"):
        if peer in peers:
            p = peers[peer]
            values = [p[f"nme_{x}"] for x in POINTS] + [p["nme"]]
            rows.append([f"{peer} {p['version']} ({p['found']}/{peers['faces']} faces found)",
                         *map(pct, values), pct(p["failure_rate"]), "-"])  # fmt: skip
    floor = (r.get("baselines") or {}).get("landmarks_mean_shape")
    if floor:
        v = floor["val"]
        rows.append([f"no model: the mean training shape ({floor['train_faces']} faces)",
                     *(pct(v[f"nme_{x}"]) for x in POINTS), pct(v["nme"]),
                     pct(v["failure_rate"]), "-"])  # fmt: skip
    return [
        "## Table 1: landmarks, NME per point (MTFL)",
        table(header, rows),
        "The paper's rows, for comparison:",
        table(header[:7], [[k, *map(paper, v)] for k, v in PAPER_NME.items()]),
    ]


def parsing_table(r: dict[str, Any]) -> list[str]:
    """Table 2: the F-score of each class and overall, of every parsing row."""
    s, scale = r["scores"], r["settings"]["scale"]
    classes = sorted(
        {k.split("f1_", 1)[1] for v in s.values() for k in v["val"] if k.startswith("parsing.f1_")}
        - {"overall"}
    )
    rows = []
    for exp in rows_for("parsing", scale):
        name = single_or(exp, "parsing")
        rows.append([exp.row, *(cell(s, name, f"parsing.f1_{c}") for c in classes),
                     cell(s, name, "parsing.f1_overall"),
                     paper(PAPER_PARSING.get(exp.row))])  # fmt: skip
    return [
        "## Table 2: parsing, F-score (FASSEG V2; the paper: Helen)",
        table(["row", *classes, "overall", "paper's overall"], rows),
    ]


def emotion_table(r: dict[str, Any]) -> list[str]:
    """Table 3: the accuracy of every emotion row, and of the majority class."""
    s, scale = r["scores"], r["settings"]["scale"]
    rows = []
    for exp in rows_for("emotion", scale):
        name = single_or(exp, "emotion")
        rows.append([exp.row, cell(s, name, "emotion.accuracy"),
                     cell(s, name, "emotion.accuracy", "test"),
                     cell(s, name, "emotion.mean_accuracy", "test"),
                     paper(PAPER_EMOTION.get(exp.row))])  # fmt: skip
    floor = (r.get("baselines") or {}).get("emotion_majority")
    if floor:
        rows.append([f"no model: always {floor['class']} (the most common training class)",
                     pct(floor["val"]), pct(floor["test"]), pct(1 / 7), "-"])  # fmt: skip
    return [
        "## Table 3: emotion, accuracy (FER2013; the paper: BNU-LSVED)",
        table(
            ["row", "val", "test (PublicTest)", "test, mean per class", "paper's (cropped faces)"],
            rows,
        ),
    ]


def iterations_table(r: dict[str, Any]) -> list[str]:
    """Table 4: each task's main metric by iterations, beside the paper's."""
    s, scale = r["scores"], r["settings"]["scale"]
    rows = []
    for exp in [e for e in EXPERIMENTS if e.row in PAPER_TABLE4 and scale in e.scales]:
        if exp.row == "Single Task" and exp.name != "single-parsing":
            continue
        p = PAPER_TABLE4[exp.row]
        get = lambda t, k, e=exp: cell(s, single_or(e, t), k)  # noqa: E731
        rows.append([exp.row, get("parsing", "parsing.f1_overall"), paper(p[0]),
                     get("landmarks", "landmarks.nme"), paper(p[1]),
                     get("emotion", "emotion.accuracy"), paper(p[2])])  # fmt: skip
    return [
        "## Table 4: iterations, each task's main metric",
        table(
            ["row", "parsing F", "paper", "landmark NME", "paper", "emotion acc.", "paper"], rows
        ),
    ]


def order_section(r: dict[str, Any]) -> list[str]:
    """Whether the paper's order holds on each task, against the seed-to-seed spread."""
    return [
        "## Does single task > 3T Iter0 > 3T Iter2 in error hold here?",
        "The paper's claim, on each task's main metric. A step is beyond the seed-to-seed spread\n"
        "when the difference of the two rows' means is larger than the spread, the larger range\n"
        "(largest minus smallest) of the two rows' seeds; the findings below also compare the\n"
        "rows seed by seed, on the same faces.",
        verdict_table(r),
    ]


def ablations_table(r: dict[str, Any]) -> list[str]:
    """§4.3: the ablations after two iterations, beside the paper's."""
    s = r["scores"]
    rows = []
    for name, p in PAPER_ABLATION.items():
        rows.append([name, cell(s, name, "parsing.f1_overall"), paper(p[0]),
                     cell(s, name, "landmarks.nme"), paper(p[1]),
                     cell(s, name, "emotion.accuracy"), paper(p[2])])  # fmt: skip
    return [
        "## Ablations (§4.3): after two iterations",
        table(
            ["experiment", "parsing F", "paper", "landmark NME", "paper", "emotion acc.", "paper"],
            rows,
        ),
    ]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    blocks = [
        *introduction(r),
        "## Each run",
        runs_table(r),
        *landmarks_table(r),
        *parsing_table(r),
        *emotion_table(r),
        *iterations_table(r),
        *order_section(r),
        *ablations_table(r),
        what_this_shows(r["findings"]),
    ]
    return "\n\n".join(blocks) + "\n"


def findings(r: dict[str, Any]) -> list[str]:
    """Sentences whose numbers all come from the scores: the paper's order on each task (judged
    or not yet), then the peers and the ablations where they are done."""
    s = r["scores"]
    out = [v["sentence"] for v in r["verdicts"]]
    peers = r.get("peers") or {}
    if "mediapipe-face-mesh" in peers and "3t-iter2" in s:
        out.append(
            f"On the same MTFL faces, MediaPipe face mesh reaches an NME of "
            f"{pct(peers['mediapipe-face-mesh']['nme'])} and MTCNN {pct(peers['mtcnn']['nme'])}, "
            f"against {cell(s, '3t-iter2', 'landmarks.nme')} for 3T Iter2 at this scale: the "
            "peers were trained on far more faces at full resolution, and see the photo at its "
            "own size."
        )
    for name, what in (("3t-iter2-resize", "resizing instead of re-encoders"),
                       ("3t-iter2-shared-bn", "shared batch norm")):  # fmt: skip
        if "3t-iter2" in s and name in s:
            out.append(
                f"With {what}: landmark NME {cell(s, name, 'landmarks.nme')} (3T Iter2: "
                f"{cell(s, '3t-iter2', 'landmarks.nme')}), parsing F "
                f"{cell(s, name, 'parsing.f1_overall')} "
                f"({cell(s, '3t-iter2', 'parsing.f1_overall')}), emotion accuracy "
                f"{cell(s, name, 'emotion.accuracy')} "
                f"({cell(s, '3t-iter2', 'emotion.accuracy')})."
            )
    return out
