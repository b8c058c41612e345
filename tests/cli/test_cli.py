"""The ``ifan`` command: tasks, validate, schema, --version, --strict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ifan
from ifan.cli.main import main
from ifan.contract import CONTRACT_VERSION
from ifan.plugins import FIND_A_PLUGIN

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own exits (--version, usage errors)
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"ifan {ifan.__version__} (task contract {CONTRACT_VERSION})"


def test_tasks_lists_the_builtins(capsys) -> None:
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "TASK",
        "VERSION",
        "DISTRIBUTION",
        "CONTRACT",
        "TAP",
        "FORMATS",
        "STATUS",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["landmarks"][:5] == ["landmarks", ifan.__version__, "ifan", "1.4", "down4"]
    assert rows["parsing"][-1] == "ok" and rows["emotion"][-1] == "ok"


def test_tasks_json(capsys) -> None:
    code, out, _ = run(capsys, "tasks", "--json")
    data = json.loads(out)
    assert code == 0 and data["contract"] == CONTRACT_VERSION and data["broken"] == []
    assert {t["task"] for t in data["tasks"]} == {"emotion", "landmarks", "parsing"}
    emotion = next(t for t in data["tasks"] if t["task"] == "emotion")
    assert emotion["formats"] == "folder, fer2013-csv"


def test_tasks_reports_broken_plugins_and_strict_fails(capsys, install_plugin) -> None:
    install_plugin(
        "ifan-task-broken",
        "0.9",
        {"cli_broken": "import no_such_module_here\n"},
        {"broken": "cli_broken"},
    )
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    assert "broken plugins (skipped; use --strict to make this an error):" in out
    assert (
        "ifan-task-broken:broken (ifan-task-broken 0.9): failed to load 'cli_broken': "
        "ModuleNotFoundError: No module named 'no_such_module_here'" in out
    )
    assert "landmarks" in out
    code, out, err = run(capsys, "--strict", "tasks")
    assert code == 2 and out == ""
    assert err.startswith("error: strict plugin loading failed:")
    assert "ifan-task-broken 0.9" in err


def test_validate_example_manifest(capsys) -> None:
    code, out, _ = run(capsys, "validate", str(REPO / "examples/faces3.toml"))
    assert code == 0
    assert out.splitlines()[0].endswith("examples/faces3.toml: valid")
    assert "task landmarks: format mtfl (train), batch 64, loss weight 1, tap down4" in out


def test_validate_bad_manifest_exits_2_with_every_problem(capsys, tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[model]\niterations = -1\n[tasks.age.data]\nformat = 'x'\n")
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: 2 problems\n")
    assert f"  - {path}:2: model.iterations = -1:" in err
    assert FIND_A_PLUGIN in err and "pip install" not in err


def test_validate_with_overrides(capsys) -> None:
    example = str(REPO / "examples/faces3.toml")
    code, out, _ = run(
        capsys,
        "validate",
        example,
        "--set",
        "model.iterations=0",
        "--set",
        "model.backbone=resnet18",
    )
    assert code == 0
    assert "backbone resnet18, input 128, iterations 0" in out
    code, _, err = run(capsys, "validate", example, "--set", "model.iterations=9")
    assert code == 2
    assert "(from --set model.iterations=9): Input should be less than or equal to 8" in err


def test_schema_has_every_installed_tasks_options(
    capsys, tmp_path, install_plugin, toy_source
) -> None:
    install_plugin("ifan-task-toy", "1.0", {"schema_toy": toy_source()}, {"toy": "schema_toy"})
    out_file = tmp_path / "schema.json"
    code, _, _ = run(capsys, "schema", "--output", str(out_file))
    assert code == 0
    schema = json.loads(out_file.read_text())
    assert schema["title"] == "ifan manifest"
    tasks = schema["$defs"]["Tasks"]["properties"]
    assert set(tasks) == {"emotion", "landmarks", "parsing", "toy"}
    landmarks = schema["$defs"]["Task_landmarks"]["properties"]
    assert landmarks["heatmap_radius"]["default"] == 5
    assert landmarks["batch_size"]["default"] == 64
    assert "strength" in schema["$defs"]["Task_toy"]["properties"]
    formats = {ref["$ref"].rsplit("/", 1)[1] for ref in landmarks["data"]["oneOf"]}
    assert formats == {"Data_mtfl", "Data_pts", "Data_csv"}
    model = schema["$defs"]["ModelConfig"]["properties"]
    assert model["iterations"]["maximum"] == 8 and model["input_size"]["multipleOf"] == 32


def test_plugins_lists_hooks_and_tasks_per_plugin(capsys, install_plugin, toy_source) -> None:
    install_plugin("ifan-task-toy", "3.1", {"plugins_toy": toy_source()}, {"toy": "plugins_toy"})
    install_plugin(
        "ifan-task-broken",
        "0.9",
        {"plugins_broken": "raise ImportError('x')\n"},
        {"broken": "plugins_broken"},
    )
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    table, _, broken = out.partition("\n\n")
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert rows["ifan-task-toy:toy"] == [
        "ifan-task-toy:toy",
        "ifan-task-toy",
        "3.1",
        "ifan_tasks",
        "toy",
    ]
    assert rows["ifan:parsing"][1:] == ["ifan", ifan.__version__, "ifan_tasks", "parsing"]
    assert "ifan-task-broken:broken" not in rows
    assert "ifan-task-broken:broken (ifan-task-broken 0.9): failed to load" in broken


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """``ifan tasks | head -0``: the pipe is closed before ifan writes; no traceback, status 141
    as a shell reports a SIGPIPE."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ifan", "tasks"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    errors = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors


def test_sigterm_stops_a_command_with_a_message_and_status_143(capsys, monkeypatch) -> None:
    """A command killed with SIGTERM (a session shut down, ``kill``) says so instead of vanishing,
    exits 143 as a shell reports it, and the caller's handler is back afterwards."""
    import os
    import signal
    import time

    from ifan.cli import validate

    def stopped(args) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # the signal's exception arrives here
        return 0

    monkeypatch.setattr(validate, "run", stopped)
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run(capsys, "validate", "any.toml")
    assert code == 143
    assert err == "stopped by SIGTERM: ifan validate did not finish\n"
    assert signal.getsignal(signal.SIGTERM) is before
