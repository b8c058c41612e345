"""Suite-wide settings: ifan's cache (detected faces, prepared datasets) in a folder of this run,
so that tests neither read nor leave anything in the user's cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    patch = pytest.MonkeyPatch()
    patch.setenv("IFAN_CACHE", str(tmp_path_factory.mktemp("ifan-cache")))
    yield
    patch.undo()
