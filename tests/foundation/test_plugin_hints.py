"""What ifan says when a task or plugin is not loaded: ``ifan tasks`` and ``ifan plugins`` name
what the ``IFAN_PLUGINS`` allow-list left out, and an unknown task's error suggests only names
known to exist (installed tasks, the allow-list) or where to search, never a guessed package."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from ifan.cli.main import main
from ifan.plugins import FIND_A_PLUGIN, load_registry


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def installed() -> list[str]:
    """Every distribution with an ``ifan`` entry point (the fake ones a test installed too)."""
    return sorted({ep.dist.name for ep in metadata.entry_points(group="ifan") if ep.dist})


@pytest.fixture
def toy(install_plugin, toy_source) -> None:
    install_plugin("ifan-task-toy", "1.0", {"hints_toy": toy_source()}, {"toy": "hints_toy"})


def test_tasks_says_the_allow_list_leaves_out_every_plugin(capsys, monkeypatch, toy) -> None:
    monkeypatch.setenv("IFAN_PLUGINS", "ifan-task-tyo")
    code, out, err = run(capsys, "tasks")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1:] == [
        "(no tasks loaded)",
        "",
        f"IFAN_PLUGINS=ifan-task-tyo leaves out every installed plugin: {', '.join(installed())}",
        "  unset IFAN_PLUGINS to load them all, or add the distributions to load to it "
        "(comma-separated)",
        "  ifan-task-tyo is no installed plugin distribution (did you mean ifan-task-toy?)",
    ]
    code, out, _ = run(capsys, "tasks", "--json")
    data = json.loads(out)
    assert (data["tasks"], data["allow_list"], data["left_out"]) == (
        [],
        ["ifan-task-tyo"],
        installed(),
    )


def test_tasks_and_plugins_name_what_a_partial_allow_list_leaves_out(
    capsys, monkeypatch, toy
) -> None:
    monkeypatch.setenv("IFAN_PLUGINS", "IFAN_Task_Toy")  # shown normalised, as it is matched
    left_out = ", ".join(name for name in installed() if name != "ifan-task-toy")
    heading = f"IFAN_PLUGINS=ifan-task-toy leaves out the installed plugins {left_out}"
    for command in ("tasks", "plugins"):
        code, out, _ = run(capsys, command)
        assert code == 0
        assert out.split("\n\n")[-1].splitlines() == [
            heading,
            "  unset IFAN_PLUGINS to load them all, or add the distributions to load to it "
            "(comma-separated)",
        ]
        assert "toy" in out.split("\n\n")[0]
    assert json.loads(run(capsys, "tasks", "--json")[1])["allow_list"] == ["ifan-task-toy"]


def test_an_allow_list_naming_what_is_not_installed_is_reported(capsys, monkeypatch) -> None:
    monkeypatch.setenv("IFAN_PLUGINS", ",".join([*installed(), "ifan-task-nope"]))
    code, out, _ = run(capsys, "tasks")
    assert code == 0 and "landmarks" in out
    setting = ",".join(sorted([*installed(), "ifan-task-nope"]))
    assert out.split("\n\n")[-1].splitlines() == [
        f"IFAN_PLUGINS={setting} names distributions that are not installed",
        "  ifan-task-nope is no installed plugin distribution",
    ]


def test_without_an_allow_list_nothing_is_said_about_it(capsys) -> None:
    code, out, _ = run(capsys, "tasks")
    assert code == 0 and "IFAN_PLUGINS" not in out
    data = json.loads(run(capsys, "tasks", "--json")[1])
    assert (data["allow_list"], data["left_out"]) == (None, [])


def test_an_unknown_task_points_to_the_search_not_to_a_guessed_package() -> None:
    message = load_registry(allow=None).missing_task_message("smile")
    assert message == (
        "unknown task 'smile' (loaded: emotion, landmarks, parsing); no loaded plugin provides "
        f"it: {FIND_A_PLUGIN}"
    )
    assert "pip install" not in message
    assert "https://pypi.org/search/?q=ifan-task" in FIND_A_PLUGIN


def test_an_unknown_task_suggests_only_names_known_to_exist() -> None:
    registry = load_registry(allow=None)
    assert registry.missing_task_message("landmark") == (
        "unknown task 'landmark' (loaded: emotion, landmarks, parsing); did you mean 'landmarks'?"
    )
    assert registry.missing_task_message("Age!").endswith("task names are lower-case identifiers")
    left_out = load_registry(allow={"ifan-task-age"}).missing_task_message("landmarks")
    assert left_out == (
        "unknown task 'landmarks' (loaded: none); IFAN_PLUGINS leaves out "
        f"{', '.join(installed())}, which may provide it: add it to IFAN_PLUGINS"
    )


def test_validate_names_where_to_look_for_an_unknown_tasks_plugin(capsys, tmp_path) -> None:
    path = tmp_path / "age.toml"
    path.write_text('[tasks.age.data]\nformat = "utkface"\ntrain = "x"\n')
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert f"  - {path}:1: tasks.age: unknown task 'age'" in err
    assert FIND_A_PLUGIN in err and "pip install" not in err
