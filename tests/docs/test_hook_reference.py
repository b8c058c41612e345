"""docs/plugins.md's hook reference must match the hook specifications' docstrings."""

from __future__ import annotations

from pathlib import Path

from tests.docs.generators import load_generator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator():
    return load_generator("gen_hook_reference")


def test_the_hook_reference_is_generated_from_the_hookspecs() -> None:
    generator = _generator()
    current = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/plugins.md's hook reference is out of date with core/ifan/hookspecs.py: run "
        "`python docs/gen_hook_reference.py` and commit the result"
    )
    names = [name for name, _, _ in generator.hooks()]
    assert names == [
        "ifan_tasks",
        "ifan_face_detectors",
        "ifan_models",
        "ifan_balancers",
        "ifan_loggers",
    ]
    assert "def ifan_tasks() -> list[type[Task]]: ..." in current
    assert "def ifan_face_detectors() -> list[FaceDetector]: ..." in current
