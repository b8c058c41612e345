"""``ifan models`` with no model to list says when the IFAN_PLUGINS allow-list may hide them."""

from __future__ import annotations

import pytest

from ifan.cli.main import main


def test_no_models_and_an_allow_list_that_leaves_plugins_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IFAN_PLUGINS", "ifan-task-nothing")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no pretrained models installed")
    assert "IFAN_PLUGINS=ifan-task-nothing leaves out every installed plugin: ifan" in out
    assert "ifan-task-nothing is no installed plugin distribution" in out


def test_no_models_without_an_allow_list_says_only_that(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IFAN_PLUGINS", raising=False)
    monkeypatch.setattr("ifan.cli.models.installed_models", lambda registry: {})
    assert main(["models"]) == 0
    assert capsys.readouterr().out == (
        "no pretrained models installed (a plugin ships them through the ifan_models hook)\n"
    )
