"""A plugin hook that returns something other than a list is named in the error or warning,
instead of failing deep in the loop that reads it."""

from __future__ import annotations

import pytest

from ifan.detection import DetectorError, face_detectors
from ifan.hookspecs import hookimpl
from ifan.plugins import load_registry
from ifan.pretrained import installed_models


class NoneDetectors:
    @hookimpl
    def ifan_face_detectors(self):
        return None


class OneModel:
    @hookimpl
    def ifan_models(self):
        return 42


def test_a_detectors_hook_that_returns_no_list_is_named() -> None:
    registry = load_registry(allow=None)
    registry.manager.register(NoneDetectors(), name="test:none")
    with pytest.raises(
        DetectorError,
        match=r"test:none: ifan_face_detectors\(\) returned NoneType, expected a list",
    ):
        face_detectors(registry)


def test_a_models_hook_that_returns_no_list_is_skipped_with_a_warning() -> None:
    registry = load_registry(allow=None)
    before = list(installed_models(registry))
    registry.manager.register(OneModel(), name="test:int")
    with pytest.warns(
        UserWarning, match=r"test:int: ifan_models\(\) returned int, expected a list"
    ):
        after = list(installed_models(registry))
    assert after == before
