"""docs/plugins.md's hook reference must match the hook specifications' docstrings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_hook_reference", DOCS / "gen_hook_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_reference_is_generated_from_the_hookspecs() -> None:
    generator = _generator()
    current = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/plugins.md's hook reference is out of date with core/hookspecs.py: run "
        "`python docs/gen_hook_reference.py` and commit the result"
    )
    names = [name for name, _, _ in generator.hooks()]
    assert names == ["ifan_tasks", "ifan_face_detectors"]
    assert "def ifan_tasks() -> list[type[Task]]: ..." in current
    assert "def ifan_face_detectors() -> list[FaceDetector]: ..." in current
