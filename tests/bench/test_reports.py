"""Each benchmark's report is a function of its results alone: from a committed results file it
gives the findings that file holds and the report beside it (but the line naming the command,
which is the current one)."""

from __future__ import annotations

import importlib
import json

import pytest

from bench.lib.paths import RESULTS

REPORTS = {  # results file -> the benchmark that writes it
    "balancers": "balancers",
    "compiled": "compiled",
    "crops": "crops",
    "demo": "demo",
    "faces3": "pretrained",
    "inference": "inference",
    "performance": "performance",
    "precision": "precision",
    "precision-xeon": "precision",
    "predict": "predict",
    "storage": "storage",
    "training": "training",
    "training-128": "training",
    "updates": "updates",
}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_a_committed_result_gives_its_findings_and_report_again(name):
    report = importlib.import_module(f"bench.reports.{REPORTS[name]}")
    result = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    recorded = result["findings"]
    result["findings"] = report.findings(result)
    assert result["findings"] == recorded
    written = report.markdown(result).splitlines()
    committed = (RESULTS / f"{name}.md").read_text(encoding="utf-8").splitlines()
    assert len(written) == len(committed)
    differing = [(a, b) for a, b in zip(written, committed, strict=True) if a != b]
    assert all(a.startswith("Written by `.venv/bin/python -m bench.") for a, _ in differing)
    assert len(differing) <= 1


def test_the_photo_report_names_the_point_that_misses_most_and_reads_older_results():
    report = importlib.import_module("bench.reports.pretrained")
    missed = {
        "photo": "turned.jpg",
        "nme": 0.15,
        "passed": False,
        "point_nme": {
            "left_eye": 0.05,
            "right_eye": 0.09,
            "nose": 0.35,
            "mouth_left": 0.13,
            "mouth_right": 0.13,
        },
    }
    older = {"photo": "frontal.jpg", "nme": 0.04, "passed": True}  # before point_nme was kept
    findings = report.findings({"photos": [missed, older]})
    assert findings[1:] == [
        "turned.jpg misses most at the nose (35.0% of the inter-ocular distance)"
    ]
    assert report.point_cells(missed) == ["5.0%", "9.0%", "35.0%", "13.0%", "13.0%"]
    assert report.point_cells(older) == ["-"] * 5
