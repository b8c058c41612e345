"""`make docs` builds the documentation site from docs/ with mkdocs, strictly: a broken link, a
page missing from the navigation or a missing image fails the build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    pages = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    built = sorted(p.stem for p in site.glob("*.html") if p.stem not in ("404", "search"))
    assert built == pages
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = sorted(_nav_pages(config["nav"]))
    assert [Path(page).stem for page in in_nav] == sorted(pages, key=lambda s: s + ".md")
    quickstart = (site / "quickstart.html").read_text(encoding="utf-8")
    assert "make demo" in quickstart and "ifan predict" in quickstart
    assert (site / "img" / "ifan-flow.svg").is_file()
    assert not list(site.glob("*.py")), "the docs generators are not part of the site"


def _nav_pages(nav: list) -> list[str]:
    found = []
    for item in nav:
        for value in item.values():
            found += _nav_pages(value) if isinstance(value, list) else [value]
    return found
