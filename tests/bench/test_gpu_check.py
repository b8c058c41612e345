"""The GPU check compares its training speed with the CPU baseline only when both timed the same
manifest, and says why when it does not."""

from __future__ import annotations

import json

from bench import gpu_check
from bench.reports import gpu_check as report


def cuda_result(images_per_second: float, digest: str) -> dict:
    return {
        "device": "cuda",
        "device_name": "Some GPU",
        "torch": "2.x",
        "torch_threads": 2,
        "seconds": 300.0,
        "manifest_sha256": digest,
        "cuda_tests": {"summary": "5 passed"},
        "training": {
            "seconds_per_round": 0.1,
            "images_per_round": 240,
            "images_per_second": images_per_second,
            "rounds": 220,
        },
        "predict": {"float32": {"largest_difference": 1e-5, "tolerance": 1e-3, "within": True}},
        "predict_model": "faces3.safetensors",
    }


def write_baseline(path, digest: str, images_per_second: float = 150.0) -> None:
    baseline = {
        "device_name": "Some CPU",
        "manifest_sha256": digest,
        "training": {"images_per_second": images_per_second},
    }
    path.write_text(json.dumps(baseline), encoding="utf-8")


def test_the_manifest_digest_follows_its_settings_not_its_comments(tmp_path, monkeypatch):
    manifest = tmp_path / "m.toml"
    monkeypatch.setattr(gpu_check, "MANIFEST", manifest)
    manifest.write_text("[model]\ninput_size = 64  # pixels\n", encoding="utf-8")
    first = gpu_check.manifest_digest()
    manifest.write_text("# the recipe\n[model]\ninput_size = 64\n", encoding="utf-8")
    assert gpu_check.manifest_digest() == first
    manifest.write_text("[model]\ninput_size = 96\n", encoding="utf-8")
    assert gpu_check.manifest_digest() != first


def test_a_gpu_run_is_compared_with_a_baseline_of_the_same_manifest(tmp_path):
    baseline = tmp_path / "gpu-check-cpu.json"
    write_baseline(baseline, "abc", images_per_second=150.0)
    result = cuda_result(3000.0, "abc")
    result["against_cpu"] = gpu_check.against_baseline(result, baseline)
    assert result["against_cpu"] == {
        "cpu_name": "Some CPU",
        "cpu_images_per_second": 150.0,
        "times_the_cpu": 20.0,
    }
    line = next(f for f in report.findings(result) if "against the CPU baseline" in f)
    assert "20.0 times the 150 images/s of Some CPU" in line


def test_a_baseline_of_another_manifest_or_none_is_not_compared(tmp_path):
    baseline = tmp_path / "gpu-check-cpu.json"
    result = cuda_result(3000.0, "new")
    assert "no CPU baseline at" in gpu_check.against_baseline(result, baseline)["not_compared"]
    write_baseline(baseline, "old")
    result["against_cpu"] = gpu_check.against_baseline(result, baseline)
    why = result["against_cpu"]["not_compared"]
    assert "timed another version of examples/faces3-cpu.toml" in why
    written = report.markdown({**result, "findings": report.findings(result)})
    assert "rerun it with --device cpu" in written


def test_the_committed_cpu_baseline_timed_the_recipe_as_it_is():
    """A changed recipe must come with a new baseline, or the next GPU run compares nothing."""
    baseline = json.loads(gpu_check.CPU_BASELINE.read_text(encoding="utf-8"))
    assert baseline["manifest_sha256"] == gpu_check.manifest_digest()
    assert baseline["device"] == "cpu" and baseline["training"]["images_per_second"] > 0


def test_predict_agreement_feeds_the_model_its_own_input_size():
    """The shipped faces3 takes 96-px faces; the check fed 64 px to every model and failed."""
    agreement = gpu_check.predict_agreement(gpu_check.FACES3, "cpu")
    assert agreement["float32"]["largest_difference"] == 0.0  # the CPU against itself
    assert agreement["bf16"]["within"] and agreement["bf16"]["largest_difference"] > 0
