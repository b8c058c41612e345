"""Every shell command and code block of the docs runs here, so the docs cannot drift from the code.

Each page runs in order, block by block, in one workspace: a copy of the repository's files (as a
fresh clone has them) with this test's virtual environment as ``.venv``. Shell commands must exit
as the page says and print what it shows (``...`` matches anything); Python blocks must run;
TOML, YAML and JSON blocks must parse. How a block is tested can be changed only by a visible
``<!-- docs-test ... -->`` comment before it (see ``doc_blocks.py``). The workspace's
``../shared/data`` is written by ``python -m ifan_tasks.synthetic --layout real``: drawn faces laid
out like the real datasets, so the suite never needs them.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.docs.doc_blocks import NOT_CODE, PARSED, SHELL, Block, read_blocks, required_pages

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_COPIED = {".git", ".venv", "build", "runs", ".pytest_cache", ".ruff_cache", "__pycache__"}
END = "@@ifan-docs-command-end"
CHECK = doctest.OutputChecker()
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
SHARED_LIKE = "../shared/data"
"""Beside the workspace, as ``../shared/data`` is beside a checkout: data laid out like it."""


QUICK = (
    "--set model.input_size=32 --set train.pretrain_epochs=1 --set train.finetune_epochs=1 "
    "--set train.finetune_rounds=2 --set train.workers=0"
)
"""``$IFAN_DOCS_QUICK``: what a ``replace`` adds to a training command of the docs so that it
runs in seconds: the same code, two rounds of the schedule at input 32."""


class Workspace:
    """The copy of the repository the pages run in, and which pages ran already."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "IFAN_REPO": str(ROOT),
            "IFAN_DOCS_QUICK": QUICK,
            "TQDM_DISABLE": "1",
            "COLUMNS": "100",
            "PYTHONUNBUFFERED": "1",
        }
        # A user's shell: no plugin settings, and not inside a make (CI runs pytest from `make
        # test`, and a make run from a make prints "Entering directory" lines).
        for name in ("IFAN_PLUGINS", "IFAN_STRICT_PLUGINS", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
            self.env.pop(name, None)

    def page_env(self, page: Path) -> dict[str, str]:
        """The environment of one page's commands: ``IFAN_DOCS_SITE`` is a folder of its own on
        ``PYTHONPATH``, where the page's ``pip install`` commands install (with ``replace``), so
        a plugin a page installs is seen by that page only."""
        site = self.root.parent / f"site-{page.stem}"
        site.mkdir(exist_ok=True)
        return {**self.env, "IFAN_DOCS_SITE": str(site), "PYTHONPATH": str(site)}


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in NOT_COPIED or n.endswith(".egg-info")}


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("docs") / "ifan"
    shutil.copytree(ROOT, root, ignore=_ignore, symlinks=True)
    _shadow_venv(root / ".venv")
    space = Workspace(root)
    subprocess.run(
        [sys.executable, "-m", "ifan_tasks.synthetic", SHARED_LIKE, "--layout", "real"],
        cwd=root,
        env=space.env,
        check=True,
        capture_output=True,
    )
    yield space


def _shadow_venv(venv: Path) -> None:
    """``.venv`` of the workspace: this test's environment, entry by entry, with a stamp of its
    own newer than the copied ``pyproject.toml``, so ``make`` sees ifan installed and never
    reinstalls it (an editable install from the copy would point the real environment at it)."""
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".ifan-installed":
            (venv / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (venv / ".ifan-installed").touch()


def _shell_script(block: Block, cwd: Path, state: Path) -> str:
    lines = [f"cd {json.dumps(str(cwd))} || exit 99"]
    for command in block.commands():
        lines += [
            block.run_text(command.text),
            "__status=$?",
            f"printf '\\n{END} %d\\n' \"$__status\"",
            '(exit "$__status")',
        ]
    lines.append(f"pwd > {json.dumps(str(state))}")
    return "\n".join(lines) + "\n"


def _split_outputs(output: str) -> list[tuple[str, int]]:
    """Each command's output and exit status, from the markers the script printed."""
    parts = re.split(rf"\n{END} (\d+)\n", output)
    return [(parts[i], int(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]


def run_shell(block: Block, cwd: Path, space: Workspace, env: dict[str, str]) -> Path:
    """Run a shell block's commands in one shell; check each one's status and output. Returns
    the directory the block ended in (a ``cd`` carries over to the next block)."""
    commands = block.commands()
    state = space.root.parent / "cwd.txt"
    done = subprocess.run(
        ["bash", "-c", _shell_script(block, cwd, state)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    results = _split_outputs(done.stdout)
    assert len(results) == len(commands), (
        f"{block.where}: the shell stopped after {len(results)} of {len(commands)} commands:\n"
        f"{done.stdout[-4000:]}"
    )
    ignore_output = block.one("output") == "ignore"
    for command, (got, status), wanted in zip(
        commands, results, block.exits(len(commands)), strict=True
    ):
        where = f"{block.where}: $ {command.text}"
        assert status == wanted, f"{where}\nexit {status}, expected {wanted}:\n{got[-4000:]}"
        assert "Traceback (most recent call last)" not in got or wanted == 0, f"{where}\n{got}"
        if command.expected.strip() and not ignore_output:
            want = command.expected.rstrip() + "\n"
            assert CHECK.check_output(want, got, OPTIONS), f"{where}\n" + CHECK.output_difference(
                doctest.Example(command.text, want), got, OPTIONS
            )
    return Path(state.read_text().strip())


def run_block(block: Block, cwd: Path, space: Workspace, env: dict[str, str]) -> Path:
    """Test one block as its language and directives say; returns the directory to go on in."""
    if block.one("skip") is not None:
        assert block.one("skip"), f"{block.where}: skip needs a reason"
        return cwd
    if (tested_by := block.one("tested-by")) is not None:
        assert block.page.name in (ROOT / tested_by).read_text(), (
            f"{block.where}: {tested_by} does not name {block.page.name}"
        )
        return cwd
    if (save_as := block.one("save-as")) is not None:
        target = cwd / save_as
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.body, encoding="utf-8")
        return cwd
    if block.lang in SHELL:
        return run_shell(block, cwd, space, env)
    if block.lang == "python":
        done = subprocess.run(
            [sys.executable, "-c", block.run_text(block.body)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{block.where}: python block failed:\n{done.stderr[-4000:]}"
    elif block.lang in PARSED:
        parse = {"toml": tomllib.loads, "yaml": yaml.safe_load, "json": json.loads}[block.lang]
        parse(block.body)
    else:
        assert block.lang in NOT_CODE, block.where
    return cwd


def run_page(page: Path, space: Workspace) -> None:
    for required in required_pages(page):
        if required in space.failed:
            pytest.fail(f"{page.name} uses what {required} makes, and {required} failed")
        if required not in space.done:
            run_page(next(p for p in PAGES if p.name == required), space)
    cwd, env = space.root, space.page_env(page)
    try:
        for block in read_blocks(page):
            cwd = run_block(block, cwd, space, env)
    except BaseException:
        space.failed.add(page.name)
        raise
    space.done.add(page.name)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_block_of_the_page_runs(page: Path, workspace: Workspace) -> None:
    if page.name in workspace.failed:
        pytest.fail(f"{page.name} failed already, as a page another page requires")
    if page.name not in workspace.done:
        run_page(page, workspace)


def test_every_block_is_understood_and_almost_none_is_skipped() -> None:
    """Fast: every page parses, every block has a language the runner knows, and a skipped
    block is rare and says why (the slow test above runs the rest)."""
    blocks = [block for page in PAGES for block in read_blocks(page)]
    skipped = [block.where for block in blocks if block.one("skip") is not None]
    runnable = [block for block in blocks if block.lang not in NOT_CODE]
    assert len(runnable) > 60
    assert all(block.one("skip") for block in blocks if "skip" in block.directives)
    assert len(skipped) <= 4, f"skipped blocks: {skipped}"  # downloads, GPUs, make demo twice
    for block in (block for block in blocks if block.lang in SHELL):
        commands = block.commands()
        assert commands, f"{block.where}: a shell block without a command"
        assert len(block.exits(len(commands))) == len(commands)
    names = {page.name for page in PAGES}
    for page in PAGES:
        assert set(required_pages(page)) <= names, page
