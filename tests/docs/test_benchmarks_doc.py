"""docs/benchmarks.md shows the numbers of the result files in bench/results, as they are now."""

from __future__ import annotations

import json
from pathlib import Path

from generators import load_generator

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
