"""Suite-wide settings: ifan's cache (detected faces, prepared datasets) in a folder of this run,
so that tests neither read nor leave anything in the user's cache; and the user's plugin
selection (``IFAN_PLUGINS``, ``IFAN_STRICT_PLUGINS``) left out of every test, which sets its
own where it needs one."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    patch = pytest.MonkeyPatch()
    patch.setenv("IFAN_CACHE", str(tmp_path_factory.mktemp("ifan-cache")))
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def _no_plugin_env():
    """For the whole session, so that module-scoped fixtures (runs built once per file) see it
    too; a test's own ``monkeypatch.setenv`` still wins within that test."""
    patch = pytest.MonkeyPatch()
    patch.delenv("IFAN_PLUGINS", raising=False)
    patch.delenv("IFAN_STRICT_PLUGINS", raising=False)
    yield
    patch.undo()
