"""docs/cli.md must show the help every ``ifan`` command prints now (the docs test also runs each
block and compares its output)."""

from __future__ import annotations

from pathlib import Path

from tests.docs.generators import load_generator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_cli_reference_is_generated_from_the_parsers() -> None:
    generator = load_generator("gen_cli_reference")
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert current == generator.render(current), (
        "docs/cli.md is out of date with the ifan command: run `python docs/gen_cli_reference.py` "
        "and commit the result"
    )
    names = list(generator.subcommands())
    assert names[:3] == ["tasks", "plugins", "validate"] and "new-task" in names
    for name in names:
        section = f"## `ifan {name}`\n\n```console\n$ ifan {name} --help\nusage: ifan {name}"
        assert section in current
