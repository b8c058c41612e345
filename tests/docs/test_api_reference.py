"""docs/api.md's reference must match the docstrings of ``ifan.api``, name every one of its names,
and hold nothing that changes from run to run."""

from __future__ import annotations

import re
from pathlib import Path

from ifan import api
from tests.docs.generators import load_generator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_api_reference_is_generated_from_the_docstrings() -> None:
    generator = load_generator("gen_api_reference")
    current = (DOCS / "api.md").read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/api.md is out of date with ifan.api: run `python docs/gen_api_reference.py` and "
        "commit the result"
    )
    assert generator.missing() == [], "add these names of ifan.api to a section of SECTIONS"
    headings = re.findall(r"^### `(\w+)`$", current, flags=re.M)
    assert sorted(headings) == sorted(api.__all__)
    assert "`read_lines(path: Path, what: str, bad: BadSamples | None = None) -> list[Line]`" in (
        current
    )
    assert "check: Callable[[FacePoints], FacePoints] = check_points)" in current
    assert " at 0x" not in current  # no address of an object


def test_every_name_of_the_api_is_documented() -> None:
    generator = load_generator("gen_api_reference")
    for name in api.__all__:
        heading, signature, *text = generator.entry(name).split("\n\n")
        assert heading == f"### `{name}`" and signature
        assert text and text[0].strip(), f"ifan.api.{name} has no docstring"
