"""What the docs generators share: rewriting the marked blocks of a page from the code, or
checking that they are current.

A generated block sits between ``<!-- BEGIN GENERATED name -->`` and the matching END marker;
everything outside the markers is hand-written. Each generator names its page and a function per
block, and its tests fail when the page differs from what the generator produces.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from pathlib import Path

BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED (?P<name>[\w-]+) -->\n).*?(<!-- END GENERATED (?P=name) -->)", re.S
)


def render(page: Path, text: str, sections: dict[str, Callable[[], str]], note: str) -> str:
    """``text`` with every generated block replaced by its section's current content."""
    found = {m.group("name") for m in BLOCK.finditer(text)}
    if found != set(sections):
        missing = ", ".join(sorted(set(sections) - found)) or "none"
        unknown = ", ".join(sorted(found - set(sections))) or "none"
        raise SystemExit(f"{page}: marker blocks missing: {missing}; unknown: {unknown}")
    return BLOCK.sub(lambda m: m.group(1) + note + sections[m.group("name")]() + m.group(3), text)


def main(
    page: Path,
    sections: dict[str, Callable[[], str]],
    note: str,
    description: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The generator's command line: rewrite ``page``, or with ``--check`` exit 1 when stale."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    current = page.read_text(encoding="utf-8")
    fresh = render(page, current, sections, note)
    if args.check:
        if fresh != current:
            print(f"{page} is out of date: run python docs/{Path(parser.prog).name}")
            return 1
        return 0
    if fresh != current:
        page.write_text(fresh, encoding="utf-8")
        print(f"updated {page}")
    else:
        print(f"{page} is up to date")
    return 0
