"""Reading the code blocks of the docs and what each says about how it is tested.

A fenced block's language says what it is:

- ``console``: shell commands after ``$ ``; the lines up to the next ``$ `` are the output the
  command prints (checked, with ``...`` matching anything, whitespace normalised);
- ``sh``, ``bash``: shell commands, one a line (``\\`` continues a line);
- ``python``: run as a script;
- ``toml``, ``yaml``, ``json``: parsed;
- ``text``, ``mermaid``, ``bibtex``: not code (output shown on its own, diagrams, citations).

An HTML comment right before a block changes how it is tested; its lines are ``key: value``::

    <!-- docs-test
    save-as: broken.toml          write the block to this file (in the page's folder), do not run it
    exit: 2 0                     the exit status of each command in turn (default: all 0)
    replace: OLD => NEW           run the commands (or Python) with OLD as NEW (repeatable)
    output: ignore                do not compare the output
    tested-by: tests/docs/x.py    another test runs this block (the file must name the page)
    skip: REASON                  not run, for the reason given
    why: TEXT                     a note for the reader of the source (why a replace, say)
    -->

A page-level comment ``<!-- docs-test-page requires: quickstart.md -->`` says that the page uses
what another page made (the demo run), so that page runs first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SHELL = ("console", "sh", "bash")
PARSED = ("toml", "yaml", "json")
NOT_CODE = ("text", "mermaid", "bibtex")
LANGUAGES = (*SHELL, "python", *PARSED, *NOT_CODE)
KEYS = ("save-as", "exit", "replace", "output", "tested-by", "skip", "why")

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
DIRECTIVE = re.compile(r"<!--\s*docs-test\b(?P<body>.*?)-->\s*$", re.S)
PAGE_DIRECTIVE = re.compile(r"<!--\s*docs-test-page\s+requires:\s*(?P<pages>[^>]*?)\s*-->")


class DocsFormatError(ValueError):
    """A block or directive the harness cannot read; the message names the page and line."""


@dataclass(frozen=True)
class Command:
    """One shell command and the output the docs show for it (empty: not shown)."""

    text: str
    expected: str


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    directives: dict[str, list[str]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"

    def one(self, key: str) -> str | None:
        values = self.directives.get(key, [])
        return values[-1] if values else None

    def commands(self) -> list[Command]:
        """The shell commands of a ``console``, ``sh`` or ``bash`` block, continuations joined."""
        if self.lang == "console":
            return _console_commands(self)
        joined = re.sub(r"\\\n", " ", self.body)
        lines = [line.strip() for line in joined.splitlines()]
        return [Command(line, "") for line in lines if line and not line.startswith("#")]

    def run_text(self, command: str) -> str:
        """``command`` (or a Python block's code) with the ``replace`` directives applied."""
        for rule in self.directives.get("replace", []):
            old, sep, new = rule.partition("=>")
            if not sep:
                raise DocsFormatError(f"{self.where}: replace needs 'OLD => NEW', got {rule!r}")
            command = command.replace(old.strip(), new.strip())
        return command

    def exits(self, count: int) -> list[int]:
        given = self.one("exit")
        if given is None:
            return [0] * count
        codes = [int(code) for code in given.split()]
        if len(codes) != count:
            raise DocsFormatError(
                f"{self.where}: exit gives {len(codes)} codes for {count} commands"
            )
        return codes


def _console_commands(block: Block) -> list[Command]:
    commands: list[Command] = []
    text: list[str] = []
    output: list[str] = []
    for line in block.body.splitlines():
        if line.startswith("$ ") and not (text and text[-1].endswith("\\")):
            if text:
                commands.append(Command(" ".join(text), "\n".join(output)))
            text, output = [line[2:]], []
        elif text and text[-1].endswith("\\"):
            text[-1] = text[-1][:-1].rstrip()
            text.append(line.strip())
        elif text:
            output.append(line)
        else:
            raise DocsFormatError(f"{block.where}: a console block starts with '$ COMMAND'")
    if text:
        commands.append(Command(" ".join(text), "\n".join(output)))
    return commands


def _directives(comment: str, where: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in comment.splitlines():
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep or key.strip() not in KEYS:
            raise DocsFormatError(
                f"{where}: expected 'KEY: VALUE' with KEY in {KEYS}, got {line!r}"
            )
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def read_blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, with the directives of the comment right before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start, indent, lang = i, len(fence["indent"]), fence["lang"]
        where = f"{page.name}:{start + 1}"
        if lang not in LANGUAGES:
            raise DocsFormatError(f"{where}: code block language {lang!r}; use one of {LANGUAGES}")
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:])
            i += 1
        if i == len(lines):
            raise DocsFormatError(f"{where}: the code block is never closed")
        directives = _preceding_directives(lines, start, where)
        blocks.append(Block(page, start + 1, lang, "\n".join(body) + "\n", directives))
        i += 1
    return blocks


def _preceding_directives(lines: list[str], start: int, where: str) -> dict[str, list[str]]:
    """The ``docs-test`` comment ending on the line before ``start`` (blank lines allowed)."""
    end = start - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return {}
    begin = end
    while begin > 0 and "<!--" not in lines[begin]:
        begin -= 1
    match = DIRECTIVE.search("\n".join(lines[begin : end + 1]))
    return _directives(match["body"], where) if match else {}


def required_pages(page: Path) -> list[str]:
    """The pages this page says must run before it."""
    found = PAGE_DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    return [name for names in found for name in names.split()]
