"""bench.fusion's arithmetic and words on made-up numbers: the UTKFace test carving, the
recipes and commands, training speeds from a history file, and the paper's claims judged from a
matrix (floors, noise, verdicts, findings, report). Nothing is trained and no data is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.fusion import carving, claims, collect, commands, design
from bench.lib.paths import ROOT
from bench.reports import fusion as report

ROWS = ["identity", "age", "gender", "race", "own", "fused"]
SINGLE = {  # target -> row -> main value; accuracies are fractions, age an MAE in years
    "identity": {"identity": 0.40, "age": 0.02, "gender": 0.03, "race": 0.05, "own": 0.40,
                 "fused": 0.45},
    "age": {"identity": 9.0, "age": 8.0, "gender": 12.0, "race": 11.5, "own": 8.0, "fused": 7.0},
    "gender": {"identity": 0.80, "age": 0.70, "gender": 0.85, "race": 0.52, "own": 0.85,
               "fused": 0.86},
    "race": {"identity": 0.75, "age": 0.55, "gender": 0.53, "race": 0.70, "own": 0.70,
             "fused": 0.68},
}  # fmt: skip
FLOORS = {"identity": 0.0064, "age": 20.6, "gender": 0.525, "race": 0.52}


def matrix(scores: dict[str, dict[str, float]], faces: int = 1000) -> dict:
    """A matrix as ``read_matrix`` gives it, every target scored on ``faces`` test faces."""
    targets = {}
    for target, rows in scores.items():
        metric = design.MAIN[target]
        targets[target] = {
            "metric": metric,
            "higher_is_better": metric != "mae",
            "unit": "years" if metric == "mae" else "",
            "samples": {"train": 5000, "test": faces},
            "scores": dict(rows),
            "values": {row: {metric: value} for row, value in rows.items()},
            "dims": dict.fromkeys(rows, 128),
        }
    return {
        "rows": ROWS,
        "head": "linear",
        "options": {},
        "targets": targets,
        "command": "PYTHONPATH=build/bench-fusion/site ifan probe ...",
        "seconds": 60.0,
    }


def result(integrated: dict | None = None) -> dict:
    """A whole result: the single-task matrix, each model's test scores, the floors."""
    tests = {
        "single-identity": {"identity.accuracy": 0.38, "identity.top5": 0.6},
        "single-age": {"age.mae": 8.2, "age.cs5": 0.4},
        "single-gender": {"gender.accuracy": 0.85},
        "single-race": {"race.accuracy": 0.69},
        "integrated": {"identity.accuracy": 0.42, "age.mae": 7.5, "gender.accuracy": 0.84,
                       "race.accuracy": 0.74},
    }  # fmt: skip
    models = {
        name: {
            "tasks": [name.removeprefix("single-")] if name != "integrated" else list(design.TASKS),
            "settings": [],
            "command": f"PYTHONPATH=build/bench-fusion/site ifan train ... {name}",
            "seconds": {"train": 600.0, "resumed": False},
            "speed": {"updates": 100, "stage_1_seconds_per_update": 0.25},
            "test": test,
        }
        for name, test in tests.items()
    }
    return {
        "date": "2026-12-06 12:00 UTC",
        "seconds": 7000.0,
        "machine": {"cpu": "a CPU", "cpu_flags": ["avx2"], "cpus_available": 2,
                    "memory_gib": 8.0, "load_average_at_start": [0.0, 0.0, 0.0],
                    "torch_threads": 1},
        "versions": {"ifan": "0.1.0", "torch": "2.0"},
        "settings": {
            "scale": "full", "manifest": "examples/fusion.toml", "schedule": [],
            "train_samples": None, "threads": 1, "head": "linear", "probe_epochs": 30,
            "utkface": {"source": "crop_part1", "val_fraction": 0.1, "test_fraction": 0.15,
                        "test_files": None, "train": 6636, "test": 1160, "digest": "abc"},
            "lfw": {"val_per_person": 2, "test_per_person": 3},
        },
        "models": models,
        "matrices": {"single": matrix(SINGLE), "integrated": integrated},
        "no_model": {task: {"value": value, "what": "-"} for task, value in FLOORS.items()},
    }  # fmt: skip


def test_carving_is_by_file_name_and_a_quick_test_split_is_part_of_the_full_one():
    names = [f"{i % 90}_{i % 2}_{i % 5}_20170116{i:09d}.jpg.chip.jpg" for i in range(2000)]
    train, test = carving.carve(names, 0.15, None)
    assert sorted(train + test) == sorted(names) and not set(train) & set(test)
    assert 0.12 < len(test) / len(names) < 0.18
    assert all(carving.unit_hash(n) < 0.15 for n in test)
    assert all(0 <= carving.unit_hash(n) < 1 for n in names)
    # a file's side depends on its name alone, not on the other files
    assert carving.carve(names[:500], 0.15, None)[1] == [n for n in test if n in names[:500]]
    quick_train, quick_test = carving.carve(names, 0.15, 50)
    assert len(quick_test) == 50 and set(quick_test) <= set(test)
    assert quick_train == train  # no file of the full test split is trained on at any scale


def test_recipes_differ_by_scale_only_in_their_settings():
    single = design.Model("single-identity", ("identity",), ("model.iterations=0",))
    quick = commands.recipe(single, design.SCALES["quick"], "d1")
    assert quick == {
        "tasks": ["identity"],
        "settings": [
            "train.pretrain_epochs=2", "train.finetune_epochs=2", "train.finetune_rounds=5",
            "model.iterations=0", "tasks.identity.data.train_samples=320",
            "tasks.identity.data.val_per_person=1", "tasks.identity.data.test_per_person=1",
        ],
        "utkface": "d1",
    }  # fmt: skip
    integrated = commands.recipe(design.MODELS[-1], design.SCALES["full"], "d2")
    assert integrated["tasks"] == ["identity", "age", "gender", "race"]
    assert integrated["settings"] == [
        "train.pretrain_epochs=8", "train.finetune_epochs=6", "train.finetune_rounds=300",
    ]  # fmt: skip
    age = commands.recipe(design.MODELS[1], design.SCALES["quick"], "d1")
    assert "tasks.age.data.val_fraction=0.02" in age["settings"]


def test_commands_name_each_run_and_task(tmp_path):
    command = commands.probe_command("single", tmp_path, "linear", 30, tmp_path / "p.json")
    targets = [command[i + 1] for i, w in enumerate(command) if w == "--target"]
    sources = [command[i + 1] for i, w in enumerate(command) if w == "--source"]
    assert targets == sources == [f"{tmp_path}/single-{t}/run:{t}" for t in design.TASKS]
    cache = str(tmp_path / "features" / "single")  # a cache per matrix
    assert command[-8:] == ["--epochs", "30", "--seed", "0", "--cache", cache, "--json",
                            str(tmp_path / "p.json")]  # fmt: skip
    command = commands.probe_command("integrated", tmp_path, "mlp", 5, tmp_path / "p.json")
    assert f"{tmp_path}/integrated/run:age" in command and "mlp" in command
    shown = commands.shown_command(["eval", str(ROOT / "build" / "x" / "run"), "--json",
                                  "/elsewhere/x.json"])  # fmt: skip
    assert shown == (
        "PYTHONPATH=build/bench-fusion/site ifan eval build/x/run --json /elsewhere/x.json"
    )


def test_training_speed_per_update_and_per_round(tmp_path):
    records = [
        (1, 1, "identity", 10, 100.0), (1, 2, "identity", 20, 102.5),
        (1, 1, "age", 30, 105.0), (1, 2, "age", 40, 107.5),
        (2, 1, "identity", 80, 120.0), (2, 1, "age", 80, 120.0),
        (2, 2, "identity", 120, 136.0), (2, 2, "age", 120, 136.0),
    ]  # fmt: skip
    lines = [
        json.dumps({"kind": "train", "stage": s, "epoch": e, "task": t, "step": n, "time": at,
                    "loss": 1.0, "lr": 1e-3, "outputs": 1})
        for s, e, t, n, at in records
    ]  # fmt: skip
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    speed = collect.training_speed(tmp_path)
    assert speed["updates"] == 120
    assert speed["stage_1_seconds_per_update"] == pytest.approx(5.0 / 20)
    assert speed["stage_2_seconds_per_round"] == pytest.approx(16.0 / 40 * 2)
    assert collect.training_speed(tmp_path / "nothing") is None


def test_gains_errors_and_noise():
    assert claims.gain(7.0, 8.0, "mae") == pytest.approx(1.0)  # a lower MAE is better
    assert claims.gain(0.45, 0.40, "accuracy") == pytest.approx(0.05)
    assert claims.relative(0.45, 0.40, "accuracy") == pytest.approx(0.125)
    assert claims.relative(0.1, 0.0, "accuracy") is None
    assert report.change_text(7.0, 8.0, "mae") == "+1.00 y, +12.5 %"
    assert report.change_text(0.68, 0.70, "accuracy") == "-2.0 points, -2.9 %"
    assert claims.standard_error(0.5, 100, "accuracy") == pytest.approx(0.05)
    assert claims.standard_error(10.0, 100, "mae") == pytest.approx(1.0)
    assert not claims.beyond_noise(0.6, 0.5, 100, "accuracy")  # 0.1 < 2 x 0.070
    assert claims.beyond_noise(0.6, 0.5, 1000, "accuracy")  # 0.1 > 2 x 0.022
    assert claims.verdict(0.1, True) == "holds"
    assert claims.verdict(0.1, False) == "same direction, within noise"
    assert claims.verdict(-0.1, True) == "does not hold: the opposite, beyond noise"
    assert claims.verdict(-0.1, False) == "does not hold: the opposite direction, within noise"
    assert claims.verdict(0.0, False) == "does not hold: no change"


def test_the_papers_claims_are_judged_from_the_matrix():
    found = {(c["claim"], c.get("target")): c for c in claims.claims(result())}
    transfer = found["transfer", None]
    assert transfer["helped"] == {
        "identity": ["age", "gender", "race"],
        "age": ["identity", "gender", "race"],
        "gender": ["identity", "age"],  # race's 52.0 % is below the floor, 52.5 %
        "race": ["identity"],  # age's 55 % and gender's 53 % are within noise of 52 %
    }
    assert transfer["verdict"] == "holds"
    assert transfer["summary"].startswith("9 of 12 cross-task cells beat the no-model floor")
    assert found["id-on-race", None]["verdict"] == "holds"  # 75 % against 70 %, on 1000 faces
    assert found["fusion", "identity"]["verdict"] == "holds"
    assert found["fusion", "identity"]["relative"] == pytest.approx(0.125)
    assert found["fusion", "age"]["verdict"] == "holds"  # 7.0 against 8.0 years
    assert found["fusion", "gender"]["verdict"] == "same direction, within noise"
    assert found["fusion", "race"]["verdict"] == (
        "does not hold: the opposite direction, within noise"
    )
    assert all(c["matrix"] == "single" for c in found.values())  # no integrated matrix yet


def test_transfer_that_reaches_some_targets_only_says_which():
    scores = json.loads(json.dumps(SINGLE))
    for row in ("age", "gender", "race"):
        scores["identity"][row] = FLOORS["identity"]
    (transfer,) = [c for c in claims.claims(result(matrix(scores))) if c["claim"] == "transfer"
                   and c["matrix"] == "integrated"]  # fmt: skip
    assert transfer["verdict"] == "holds for age, gender, race only"


def test_integrated_model_beside_post_hoc_fusion():
    compared = claims.integrated_vs_fusion(result())
    assert compared["identity"] == {
        "single": 0.38, "integrated": 0.42, "single_own_probe": 0.40, "posthoc_fusion": 0.45,
        "integrated_fused_probe": None,
    }  # fmt: skip
    best = {t: claims.best_way(v, design.MAIN[t]) for t, v in compared.items()}
    assert best == {"identity": "posthoc_fusion", "age": "posthoc_fusion",
                    "gender": "posthoc_fusion", "race": "integrated"}  # fmt: skip
    assert claims.best_way(dict.fromkeys(claims.COMPARED), "mae") is None


def test_findings_carry_the_numbers_and_verdicts():
    lines = report.findings(result())
    assert (
        "Identity's features on race (the single-task models): 75.0 % against race's own 70.0 %, "
        "+5.0 points, +7.1 %: the paper's claim that they beat race's own holds." in lines
    )
    (fusion_line,) = [line for line in lines if line.startswith("Fusion against")]
    assert "identity 45.0 % against 40.0 % (+5.0 points, +12.5 %, paper +7.2 %: holds)" in (
        fusion_line
    )
    assert "age 7.00 y against 8.00 y (+1.00 y, +12.5 %, paper +20.1 %: holds)" in fusion_line
    assert (
        "race 68.0 % against 70.0 % (-2.0 points, -2.9 %, paper over +21 %: does not hold: the "
        "opposite direction, within noise)" in fusion_line
    )
    (versus,) = [line for line in lines if line.startswith("The integrated model against")]
    assert (
        "race: integrated 74.0 % against single-task 69.0 % (+5.0 points, +7.2 %, beyond noise), "
        "post-hoc fusion 68.0 % (-6.0 points, -8.1 % on the integrated model, beyond noise); "
        "best: integrated model" in versus
    )
    assert lines[-1].startswith("One seed and one carving of the data")
    nothing = result()
    nothing["matrices"] = {"single": None, "integrated": None}
    for model in nothing["models"].values():
        model["test"] = None
    assert report.findings(nothing) == [
        "Nothing is done yet: no model is scored and no matrix is probed."
    ]


def test_the_report_shows_every_part(tmp_path: Path):
    r = result()
    r["findings"] = report.findings(r)
    text = report.markdown(r)
    assert "| identity | 40.0 % | 9.00 y | 80.0 % | **75.0 %** |" in text  # bold: a column's best
    assert "| fused | **45.0 %** | **7.00 y** | **86.0 %** | 68.0 % |" in text
    assert "| no model | 0.6 % | 20.60 y | 52.5 % | 52.0 % |" in text
    assert "## The matrix of the integrated model\n\nNot probed yet." in text
    assert "| integrated | race | 74.0 % | - |" in text
    assert "| single-identity | identity | 38.0 % | top5 60.0 % |" in text
    assert "$ PYTHONPATH=build/bench-fusion/site ifan train ... integrated" in text
    assert all(line in text for line in r["findings"])
