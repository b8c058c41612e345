"""docs/code.md's map of the source tree must list every module as the tree holds it now."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.generators import load_generator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_code_map_is_generated_from_the_tree() -> None:
    generator = load_generator("gen_code_map")
    current = (DOCS / "code.md").read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/code.md is out of date with the source tree: run `python docs/gen_code_map.py` "
        "and commit the result"
    )
    for row in (
        "| `taps.py` | The taps",
        "| `decoders.py` | Task decoders",
        "| `reencoders.py` | Task re-encoders",
        "| `integrator.py` |",
        "| `scheduler.py` |",
        "### `ifan.runs`: `core/ifan/runs/`",
        "### `ifan_tasks.landmarks`: `tasks/ifan_tasks/landmarks/`",
    ):
        assert row in current


def test_a_module_without_a_docstring_stops_the_generator(tmp_path: Path) -> None:
    generator = load_generator("gen_code_map")
    bare = tmp_path / "bare.py"
    bare.write_text("x = 1\n", encoding="utf-8")
    generator.ROOT = tmp_path
    with pytest.raises(SystemExit, match=r"bare\.py: no module docstring"):
        generator.first_sentence(bare)


def test_the_first_sentence_ends_at_a_full_stop_not_at_an_abbreviation(tmp_path: Path) -> None:
    generator = load_generator("gen_code_map")
    module = tmp_path / "m.py"
    module.write_text('"""Reads a :class:`Thing`, e.g. a face. More\nhere."""\n', encoding="utf-8")
    generator.ROOT = tmp_path
    assert generator.first_sentence(module) == "Reads a `Thing`, e.g. a face"
