"""docs/manifest.md must match the live manifest models and built-in tasks, and its examples must
stay valid."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from ifan.manifest import load_manifest
from ifan.plugins import load_registry
from tests.docs.generators import load_generator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MANIFEST_MD = DOCS / "manifest.md"


def _generator():
    return load_generator("gen_manifest_reference")


def _code_blocks(language: str) -> list[str]:
    text = MANIFEST_MD.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def test_manifest_reference_is_up_to_date() -> None:
    current = MANIFEST_MD.read_text(encoding="utf-8")
    expected = _generator().render(current)
    assert current == expected, (
        "docs/manifest.md is out of date with the manifest models or the built-in tasks: run "
        "`python docs/gen_manifest_reference.py` (with the project's virtualenv) and commit the "
        "result"
    )


def test_example_matches_examples_faces3_toml() -> None:
    faces3 = (ROOT / "examples" / "faces3.toml").read_text(encoding="utf-8")
    without_header = faces3.split("\n\n", 1)[1]
    assert _code_blocks("toml")[0] == without_header, (
        "the first TOML block of docs/manifest.md must be examples/faces3.toml without its "
        "header comment: copy the file into the page"
    )


def test_yaml_example_is_the_toml_example() -> None:
    toml_data = tomllib.loads(_code_blocks("toml")[0])
    yaml_data = yaml.safe_load(_code_blocks("yaml")[0])
    assert yaml_data == toml_data


def test_yaml_example_validates(tmp_path: Path) -> None:
    examples = tmp_path / "main" / "examples"
    examples.mkdir(parents=True)
    manifest = examples / "faces3.yaml"
    manifest.write_text(_code_blocks("yaml")[0], encoding="utf-8")
    loaded = load_manifest(manifest, registry=load_registry(strict=True, allow={"ifan"}))
    assert list(loaded.tasks) == ["parsing", "landmarks", "emotion"]
    assert loaded.train.out_dir.resolve() == (tmp_path / "main" / "runs").resolve()
