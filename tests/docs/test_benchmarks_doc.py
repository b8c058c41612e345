"""docs/benchmarks.md shows the numbers of the result files in bench/results, as they are now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.docs.generators import load_generator

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_matches_the_result_files() -> None:
    generator = load_generator("gen_benchmarks")
    current = generator.BENCHMARKS_MD.read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/benchmarks.md differs from bench/results: run `python docs/gen_benchmarks.py` and "
        "commit the result"
    )


def test_every_result_file_has_its_report_and_findings() -> None:
    results = ROOT / "bench" / "results"
    names = sorted(p.stem for p in results.glob("*.json"))
    assert {"inference", "training", "performance", "reproduce-cpu"} <= set(names)
    for name in names:
        data = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        assert data["findings"], f"{name}.json has no findings"
        report = (results / f"{name}.md").read_text(encoding="utf-8")
        for finding in data["findings"]:
            assert finding in report, f"{name}.md lacks a finding of {name}.json: {finding[:60]}"


def test_rows_run_with_several_seeds_show_their_spread(tmp_path, monkeypatch) -> None:
    generator = load_generator("gen_benchmarks")
    r = generator.result("reproduce-cpu", "reproduce")
    r["scores"]["3t-iter0"]["half_range"] = {"val": {"landmarks.nme": 0.004}}
    for e in r["experiments"]:
        e["seeds"] = [0, 1] if e["name"] == "3t-iter0" else [0]
    (tmp_path / "reproduce-cpu.json").write_text(json.dumps(r), encoding="utf-8")
    monkeypatch.setattr(generator, "RESULTS", tmp_path)
    text = generator.reproduce()
    nme = 100 * r["scores"]["3t-iter0"]["val"]["landmarks.nme"]
    assert f"| {nme:.2f} ± 0.40 (" in text
    assert "3t-iter0 ran with seeds 0, 1: their rows show the mean ± half the range" in text


def test_a_missing_result_file_names_the_benchmark_that_writes_it(tmp_path, monkeypatch) -> None:
    generator = load_generator("gen_benchmarks")
    monkeypatch.setattr(generator, "RESULTS", tmp_path)
    with pytest.raises(SystemExit) as stopped:
        generator.result("faces3", "pretrained")
    assert str(stopped.value) == (
        f"{tmp_path / 'faces3.json'} is missing: run `.venv/bin/python -m bench.pretrained` first"
    )
