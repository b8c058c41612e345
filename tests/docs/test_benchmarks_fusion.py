"""docs/benchmarks.md gets bench.fusion's section once bench/results/fusion.json exists, and
stays as it is before: made-up results in a copy of bench/results and of the page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.docs.generators import load_generator

ROOT = Path(__file__).resolve().parents[2]
TASKS = ("identity", "age", "gender", "race")


def made_up() -> dict:
    """The parts of bench.fusion's results that the page shows."""
    scores = {
        "identity": {"identity": 0.40, "age": 0.02, "gender": 0.03, "race": 0.05, "own": 0.40,
                     "fused": 0.45},
        "age": {"identity": 9.0, "age": 8.0, "gender": 12.0, "race": 11.5, "own": 8.0,
                "fused": 7.0},
        "gender": {"identity": 0.8, "age": 0.7, "gender": 0.85, "race": 0.52, "own": 0.85,
                   "fused": 0.86},
        "race": {"identity": 0.75, "age": 0.55, "gender": 0.53, "race": 0.7, "own": 0.7,
                 "fused": 0.68},
    }  # fmt: skip
    tests = {f"single-{t}": {f"{t}.{'mae' if t == 'age' else 'accuracy'}": 0.5} for t in TASKS}
    tests["single-age"]["age.mae"] = 8.2
    return {
        "date": "2026-12-06 12:00 UTC",
        "machine": {"cpu": "a CPU", "cpus_available": 2},
        "versions": {"torch": "2.0"},
        "settings": {"scale": "full", "head": "linear"},
        "models": {
            **{n: {"seconds": {"train": 600.0}, "test": t} for n, t in tests.items()},
            "integrated": {"seconds": {"train": 1800.0}, "test": None},
        },
        "matrices": {
            "single": {
                "rows": ["identity", "age", "gender", "race", "own", "fused"],
                "targets": {t: {"scores": s} for t, s in scores.items()},
            },
            "integrated": None,
        },
        "no_model": {
            "identity": {"value": 0.0064},
            "age": {"value": 20.6},
            "gender": {"value": 0.525},
            "race": {"value": 0.52},
        },
        "findings": ["a finding"],
    }


def test_no_fusion_results_no_section() -> None:
    generator = load_generator("gen_benchmarks")
    if (generator.RESULTS / "fusion.json").exists():
        return  # the results are in: test_benchmarks_doc.py checks the page as it is
    page = generator.BENCHMARKS_MD.read_text(encoding="utf-8")
    assert "fusion" not in generator.sections()
    assert generator.placed(page) == page


def test_fusion_results_add_their_section_at_the_end(tmp_path, monkeypatch) -> None:
    generator = load_generator("gen_benchmarks")
    results = tmp_path / "results"
    shutil.copytree(ROOT / "bench" / "results", results)
    (results / "fusion.json").write_text(json.dumps(made_up()), encoding="utf-8")
    page = tmp_path / "benchmarks.md"
    before = generator.BENCHMARKS_MD.read_text(encoding="utf-8")
    before = before.split("\n## Features across tasks")[0].rstrip("\n") + "\n"
    if "<!-- BEGIN GENERATED fusion -->" in before:  # a page written after the results: unplaced
        before = before.split("<!-- BEGIN GENERATED fusion -->")[0]
    page.write_text(before, encoding="utf-8")
    monkeypatch.setattr(generator, "RESULTS", results)
    monkeypatch.setattr(generator, "BENCHMARKS_MD", page)

    assert generator.main(["--check"]) == 1  # the section is missing: the page is stale
    assert page.read_text(encoding="utf-8") == before
    assert generator.main([]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith(before.rstrip("\n"))
    assert "\n## Features across tasks: post-hoc fusion and the integrated model\n" in text
    assert generator.main(["--check"]) == 0
    assert generator.render(text) == text
    assert "The full scale, 70 min of training in all; linear probe heads" in text
    assert (
        "| identity (accuracy %) | 50.0 | - | 40.0 | 45.0 | - | 0.6 |\n"
        "| age (MAE, years) | 8.20 | - | 8.00 | 7.00 | - | 20.60 |"
    ) in text
    assert "| features | identity accuracy | age MAE | gender accuracy | race accuracy |" in text
    assert "| fused | 45.0 | 7.00 | 86.0 | 68.0 |" in text  # the single-task models' matrix
    assert "The probe matrix of the integrated model" not in text  # not probed
    assert text.rstrip().endswith("- a finding\n<!-- END GENERATED fusion -->")
