"""docs/reliability.md states the counts of the reliability suite (tests/reliability) as its
tables are now, and a recorded run of the suite as it is now."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.generators import load_generator

RELIABILITY_MD = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@pytest.mark.slow  # collects the suite in a fresh process
def test_the_counts_are_those_of_the_suite_and_its_latest_run() -> None:
    generator = load_generator("gen_reliability")
    current = RELIABILITY_MD.read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/reliability.md's counts differ from tests/reliability: run "
        "`python docs/gen_reliability.py --run` and commit the result"
    )
    assert "| **all 9 readers** |" in current
    run = re.search(r"\*\*(\d+) tests, (\d+) passed, 0 failed, 0 skipped\*\*", current)
    assert run, "the recorded run must have passed in full"
    assert int(run[1]) == int(run[2]) == generator.collected(), (
        "tests/reliability has changed since its recorded run: run "
        "`python docs/gen_reliability.py --run` and commit the result"
    )
