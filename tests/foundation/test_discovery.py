"""Plugin discovery: built-ins, a real third-party distribution, broken plugins, allow-list,
strict mode and duplicate task names."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ifan.contract import CONTRACT_VERSION, contract_problem
from ifan.contract_checks import task_problems
from ifan.errors import PluginError, TaskConflictError
from ifan.plugins import load_registry

BUILTINS = {"parsing", "landmarks", "emotion"}


def test_builtins_load_through_entry_points_and_conform() -> None:
    registry = load_registry(strict=True, allow=None)
    assert set(registry.tasks) >= BUILTINS
    for name in BUILTINS:
        entry = registry.tasks[name]
        assert entry.distribution == "ifan"
        assert entry.plugin == f"ifan:{name}"
        assert task_problems(entry.cls) == []
        # Each targets the contract it was written for (1.2 or 1.4), which this core provides.
        assert contract_problem(entry.cls.contract_version) is None
    # registered through pluggy exactly like any plugin: one hookimpl per built-in entry point
    impls = {i.plugin_name for i in registry.manager.hook.ifan_tasks.get_hookimpls()}
    assert {f"ifan:{name}" for name in BUILTINS} <= impls


def test_builtin_option_schemas_have_their_keys() -> None:
    tasks = load_registry(allow=None).tasks
    assert "heatmap_radius" in tasks["landmarks"].cls.Options.model_json_schema()["properties"]
    assert tasks["landmarks"].cls.Options().heatmap_radius == 5
    assert tasks["parsing"].cls.default_tap == "up0"
    assert tasks["emotion"].cls.default_tap == "down5"
    assert tasks["landmarks"].cls.default_tap == "down4"


def test_third_party_distribution_is_discovered(install_plugin, toy_source) -> None:
    install_plugin(
        "ifan-task-toy", "2.3.1", {"toy_plugin_a": toy_source()}, {"toy": "toy_plugin_a"}
    )
    registry = load_registry(allow=None)
    entry = registry.tasks["toy"]
    assert (entry.distribution, entry.version) == ("ifan-task-toy", "2.3.1")
    assert set(registry.tasks) >= BUILTINS
    assert registry.broken == []


def test_third_party_plugin_listed_by_cli_in_a_fresh_process(install_plugin, toy_source) -> None:
    site = install_plugin(
        "ifan-task-toy", "2.3.1", {"toy_plugin_b": toy_source()}, {"toy": "toy_plugin_b"}
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("IFAN_PLUGINS", None)
    out = subprocess.run(
        [sys.executable, "-m", "ifan", "tasks"], env=env, capture_output=True, text=True, check=True
    ).stdout
    toy = next(line for line in out.splitlines() if line.startswith("toy "))
    assert "2.3.1" in toy and "ifan-task-toy" in toy and toy.rstrip().endswith("ok")


BROKEN_CASES = {
    "import error": ("import definitely_not_installed_module\n", "ModuleNotFoundError"),
    "hook raises": (
        "from ifan import hookimpl\n\n@hookimpl\ndef ifan_tasks():\n"
        "    raise RuntimeError('boom')\n",
        "ifan_tasks() raised RuntimeError: boom",
    ),
    "not a list": (
        "from ifan import hookimpl\n\n@hookimpl\ndef ifan_tasks():\n    return 42\n",
        "returned int, expected a list of Task classes",
    ),
    "not a task": (
        "from ifan import hookimpl\n\n@hookimpl\ndef ifan_tasks():\n    return [dict]\n",
        "is not a subclass of ifan.contract.Task",
    ),
    "bad hook signature": (
        "from ifan import hookimpl\n\n@hookimpl\ndef ifan_tasks(nonsense):\n    return []\n",
        "is not a valid ifan plugin: PluginValidationError",
    ),
    "misspelt hook": (
        "from ifan import hookimpl\n\n@hookimpl\ndef ifan_task():\n    return []\n",
        "unknown hook 'ifan_task'",
    ),
    "no hookimpl marker": (
        "def ifan_tasks():\n    return []\n",
        "implements no ifan hook: mark its functions with @ifan.hookimpl",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_broken_plugin_is_reported_and_skipped(install_plugin, toy_source, case: str) -> None:
    source, reason = BROKEN_CASES[case]
    module = "broken_" + case.replace(" ", "_")
    install_plugin("ifan-task-broken", "0.9", {module: source}, {"broken": module})
    registry = load_registry(allow=None)
    assert set(registry.tasks) >= BUILTINS, "a broken plugin must not take the others down"
    [broken] = registry.broken
    assert (broken.distribution, broken.version, broken.plugin) == (
        "ifan-task-broken",
        "0.9",
        "ifan-task-broken:broken",
    )
    assert reason in broken.reason
    with pytest.raises(PluginError, match=r"ifan-task-broken 0\.9"):
        load_registry(allow=None, strict=True)


def test_invalid_task_names_every_problem(install_plugin, toy_source) -> None:
    source = toy_source(task="Bad Name", contract="1.0").replace(
        'default_tap = "down5"', 'default_tap = "middle"'
    )
    install_plugin("ifan-task-bad", "0.1", {"bad_task_mod": source}, {"bad": "bad_task_mod"})
    [broken] = load_registry(allow=None).broken
    assert "name = 'Bad Name': expected a lower-case identifier" in broken.reason
    assert "default_tap = 'middle': expected one of down0" in broken.reason


def test_plugin_returning_a_class_twice_provides_it_once(install_plugin, toy_source) -> None:
    source = toy_source().replace("return [ToyTask]", "return [ToyTask, ToyTask]")
    install_plugin("ifan-task-toy", "1.0", {"twice_mod": source}, {"toy": "twice_mod"})
    registry = load_registry(allow=None)
    assert registry.tasks["toy"].distribution == "ifan-task-toy"
    assert registry.conflicts == {} and registry.broken == []


def test_format_options_must_not_shadow_split_keys(install_plugin, toy_source) -> None:
    source = (
        toy_source()
        .replace(
            'class ToyFormat(DatasetFormat):\n    name = "toy-folder"',
            "class ShadowOptions(FormatOptions):\n    train: int = 1\n\n\n"
            'class ToyFormat(DatasetFormat):\n    name = "toy-folder"\n    Options = ShadowOptions',
        )
        .replace('default_tap = "down5"', 'default_tap = "down5"\n    default_batch_size = 0')
    )
    install_plugin("ifan-task-toy", "1.0", {"shadow_mod": source}, {"toy": "shadow_mod"})
    [broken] = load_registry(allow=None).broken
    assert "formats['toy-folder'].Options defines train, which the manifest reserves" in (
        broken.reason
    )
    assert "default_batch_size = 0: expected an integer from 1 to 4096" in broken.reason


@pytest.mark.parametrize(
    ("targeted", "advice"),
    [("2.0", "upgrade ifan"), ("1.99", "upgrade ifan"), ("0.3", "upgrade the plugin")],
)
def test_incompatible_contract_is_reported(
    install_plugin, toy_source, targeted: str, advice: str
) -> None:
    module = "future_" + targeted.replace(".", "_")
    install_plugin(
        "ifan-task-future", "1.0", {module: toy_source(contract=targeted)}, {"toy": module}
    )
    registry = load_registry(allow=None)
    assert "toy" not in registry.tasks
    [broken] = registry.broken
    assert f"targets task contract {targeted} but this ifan provides {CONTRACT_VERSION}" in (
        broken.reason
    )
    assert advice in broken.reason


def test_strict_mode_from_environment(install_plugin, toy_source, monkeypatch) -> None:
    install_plugin(
        "ifan-task-broken",
        "0.9",
        {"broken_env": "raise ImportError('nope')\n"},
        {"broken": "broken_env"},
    )
    monkeypatch.setenv("IFAN_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="nope"):
        load_registry(allow=None)
    monkeypatch.setenv("IFAN_STRICT_PLUGINS", "0")
    assert load_registry(allow=None).broken


def test_allow_list_restricts_loading_by_distribution(
    install_plugin, toy_source, monkeypatch
) -> None:
    install_plugin("ifan-task-toy", "1.0", {"toy_allow": toy_source()}, {"toy": "toy_allow"})
    monkeypatch.setenv("IFAN_PLUGINS", "IFAN_Task_Toy")  # normalised like pip does
    assert set(load_registry().tasks) == {"toy"}
    monkeypatch.setenv("IFAN_PLUGINS", "ifan")
    assert set(load_registry().tasks) == BUILTINS
    monkeypatch.setenv("IFAN_PLUGINS", "ifan, ifan-task-toy")
    assert set(load_registry().tasks) == BUILTINS | {"toy"}


def test_duplicate_task_names_name_both_distributions(install_plugin, toy_source) -> None:
    install_plugin("ifan-task-one", "1.0", {"dup_one": toy_source(task="dup")}, {"dup": "dup_one"})
    install_plugin("ifan-task-two", "2.0", {"dup_two": toy_source(task="dup")}, {"dup": "dup_two"})
    registry = load_registry(allow=None)
    assert "dup" not in registry.tasks
    assert set(registry.tasks) >= BUILTINS
    with pytest.raises(PluginError) as info:
        registry.get("dup")
    message = str(info.value)
    assert "ifan-task-one 1.0" in message and "ifan-task-two 2.0" in message
    with pytest.raises(TaskConflictError, match=r"ifan-task-one 1\.0 .* and ifan-task-two 2\.0"):
        load_registry(allow=None, strict=True)


def test_duplicate_shadowing_a_builtin_is_a_conflict(install_plugin, toy_source) -> None:
    install_plugin(
        "ifan-task-evil",
        "6.6",
        {"evil_mod": toy_source(task="landmarks")},
        {"landmarks": "evil_mod"},
    )
    registry = load_registry(allow=None)
    assert "landmarks" in registry.conflicts
    assert {e.distribution for e in registry.conflicts["landmarks"]} == {"ifan", "ifan-task-evil"}
