"""``ifan new-task``: the generated plugin project, of every kind of label, installs, is discovered
and passes its tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ifan.cli.main import main
from ifan.contract import CONTRACT_VERSION
from ifan.scaffold import KINDS, render

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILES = [
    "README.md",
    "pyproject.toml",
    "src/ifan_task_head_pose/__init__.py",
    "src/ifan_task_head_pose/plugin.py",
    "src/ifan_task_head_pose/task.py",
    "tests/test_conformance.py",
    "tests/test_head_pose.py",
]


def new_task(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["new-task", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_new_task_writes_a_complete_project(tmp_path: Path, capsys) -> None:
    code, out, _ = new_task(capsys, "head_pose", "--dir", str(tmp_path))
    root = tmp_path / "ifan-task-head-pose"
    assert code == 0 and out.startswith(f"created {root}:")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == FILES
    assert "pip install -e '.[test]'" in out
    for name in files:
        assert "{{" not in (root / name).read_text(encoding="utf-8"), name
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (project["name"], project["version"]) == ("ifan-task-head-pose", "0.1.0")
    assert project["dependencies"][0].startswith("ifan")
    assert project["entry-points"]["ifan"] == {"head_pose": "ifan_task_head_pose.plugin"}
    task = (root / "src/ifan_task_head_pose/task.py").read_text(encoding="utf-8")
    assert "class HeadPoseTask(Task):" in task and 'name = "head_pose"' in task
    assert f'contract_version = "{CONTRACT_VERSION}"' in task


LABELS = {
    "class": ('kind="class"', "class HeadPoseTask(ClassTask):", 'main_metric = "mean_accuracy"'),
    "points": ('kind="points"', 'out = augment(images, points=target["points"])'),
    "mask": ('kind="segmentation"', 'out = augment(images, masks=target["mask"])'),
    "value": ('kind="value"', 'ValueMetric("value")'),
}
"""What each kind's task must hold: its kind of label, and the part that makes it that kind."""


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_writes_its_own_task_on_the_public_api(kind: str, tmp_path: Path, capsys) -> None:
    assert new_task(capsys, "head_pose", "--kind", kind, "--dir", str(tmp_path))[0] == 0
    root = tmp_path / "ifan-task-head-pose"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == FILES
    task = (root / "src/ifan_task_head_pose/task.py").read_text(encoding="utf-8")
    assert all(part in task for part in LABELS[kind])
    lines = task.splitlines()
    imports = {line.split()[1] for line in lines if line.startswith(("from ifan", "import ifan"))}
    assert imports == {"ifan.api"}  # nothing but the stable API
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert f"`ifan new-task head_pose --kind {kind}`" in readme
    assert KINDS[kind].summary in " ".join(readme.split())


def test_new_task_refuses_bad_names_and_used_folders(tmp_path: Path, capsys) -> None:
    code, _, err = new_task(capsys, "Smile", "--dir", str(tmp_path))
    assert code == 2 and "'Smile' is not a valid task name" in err
    code, _, err = new_task(capsys, "emotion", "--dir", str(tmp_path))
    assert code == 2 and "'emotion' is already installed (from ifan " in err
    (tmp_path / "ifan-task-smile").mkdir()  # an empty folder is fine
    assert new_task(capsys, "smile", "--dir", str(tmp_path))[0] == 0
    code, _, err = new_task(capsys, "smile", "--dir", str(tmp_path))
    assert code == 2 and "ifan-task-smile already exists and is not empty" in err
    (tmp_path / "ifan-task-frown").write_text("")
    code, _, err = new_task(capsys, "frown", "--dir", str(tmp_path))
    assert code == 2 and "ifan-task-frown exists and is not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ifan-task-frown", "ifan-task-smile"]
    with pytest.raises(SystemExit):
        new_task(capsys, "tree", "--kind", "tree", "--dir", str(tmp_path))
    err = capsys.readouterr().err
    assert "argument --kind: invalid choice: 'tree'" in err and "mask" in err


def test_render_fails_on_a_placeholder_without_value() -> None:
    assert render("{{a}}-{{b}}", {"a": "1", "b": "2"}) == "1-2"
    with pytest.raises(KeyError, match=r"\{\{c\}\} has no value"):
        render("{{c}}", {})


def _python(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


PASSED = {"class": 13, "points": 14, "mask": 14, "value": 13}
"""The tests each kind's project has: 9 conformance checks and its own."""


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_plugin_installs_and_passes_its_own_tests(
    kind: str, tmp_path: Path, capsys
) -> None:
    assert new_task(capsys, "smile", "--kind", kind, "--dir", str(tmp_path))[0] == 0
    project = tmp_path / "ifan-task-smile"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFAN_")}

    for lint in (["check", "."], ["format", "--check", "."]):
        done = _python("-m", "ruff", *lint, env=env, cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr

    site = tmp_path / "site"  # a real pip install, kept out of the shared environment
    install = ["-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    done = _python(*install, "--target", str(site), str(project), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    env["PYTHONPATH"] = str(site)

    done = _python("-m", "ifan", "tasks", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tasks = {row["task"]: row for row in json.loads(done.stdout)["tasks"]}
    assert tasks["smile"]["distribution"] == "ifan-task-smile"
    assert tasks["smile"]["status"] == "ok"

    done = _python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", env=env, cwd=project)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{PASSED[kind]} passed" in done.stdout, done.stdout[-2000:]
