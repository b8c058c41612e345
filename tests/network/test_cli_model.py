"""``ifan model MANIFEST``: the architecture, parameter counts and FLOPs of examples/faces3.toml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from ifan.cli.main import main
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.network.summary import count_flops, meta_model
from ifan.network.task_batchnorm import TaskBatchNorm

FACES3 = str(Path(__file__).resolve().parents[2] / "examples" / "faces3.toml")


def section(text: str, title: str) -> list[str]:
    """The table lines after the line starting with ``title`` up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    table = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        table.append(line)
    return table


@pytest.mark.slow
def test_model_prints_the_paper_configuration(capsys):
    assert main(["model", FACES3]) == 0
    out = capsys.readouterr().out
    assert "backbone fc-densenet, input 128, iterations 2, batchnorm per-task (3 sets)" in out

    taps = section(out, "Taps")
    assert re.search(r"^down4\s+228 x 8 x 8\s+yes\s+landmarks$", "\n".join(taps), re.M)
    assert re.search(r"^down5\s+228 x 4 x 4\s+yes\s+emotion$", "\n".join(taps), re.M)
    assert re.search(r"^up0\s+36 x 128 x 128\s+parsing$", "\n".join(taps), re.M)
    assert len(taps) == 1 + 11

    tasks = "\n".join(section(out, "Tasks"))
    assert re.search(
        r"^parsing\s+up0\s+PixelClassifier\s+6 x 128 x 128\s+Softmax > Conv", tasks, re.M
    )
    assert re.search(
        r"^landmarks\s+down4\s+MLPHead > Unflatten\s+5 x 2\s+PointHeatmaps", tasks, re.M
    )
    assert re.search(r"^emotion\s+down5\s+MLPHead\s+7\s+Probabilities > FCTileEncoder", tasks, re.M)

    rows = section(out, "Parameters")[1:]
    counts = {
        re.split(r"\s{2,}", r)[0]: int(re.split(r"\s{2,}", r)[1].replace(",", "")) for r in rows
    }
    total = counts.pop("total")
    assert sum(counts.values()) == total
    model = build_model(load_manifest(FACES3))
    assert total == sum(p.numel() for p in model.parameters())
    # parts count one batch-norm copy; the two other tasks' copies are the overhead row
    task_bn = sum(
        p.numel() for m in model.modules() if isinstance(m, TaskBatchNorm) for p in m.parameters()
    )
    assert counts["per-task batch norm (2 extra copies)"] == task_bn * 2 // 3 > 0
    emotion_bn = sum(
        p.numel()
        for m in model.decoders["emotion"].modules()
        if isinstance(m, TaskBatchNorm)
        for p in m.norms["emotion"].parameters()
    )
    emotion_all = sum(p.numel() for p in model.decoders["emotion"].parameters())
    assert counts["decoder emotion"] == emotion_all - 2 * emotion_bn
    assert counts["integrator (1x1 fusion convs)"] == sum(
        p.numel() for p in model.integrator.fusions.parameters()
    )

    flops = section(out, "ITERATIONS")
    assert [row.split()[0] for row in flops] == ["0", "1", "2"]
    forward = [float(row.split()[1]) for row in flops]
    assert forward[0] < forward[1] < forward[2]
    assert [int(row.split()[2]) for row in flops] == [1, 2, 3]
    assert [int(row.split()[4]) for row in flops] == [3, 6, 9]
    # the meta-device count equals a count on real weights
    real = count_flops(model, 0)
    assert forward[0] == pytest.approx(real.forward / 1e9, abs=1e-3)


def test_meta_and_real_models_count_the_same(images):
    manifest = load_manifest(FACES3, ["model.input_size=64", "model.backbone=resnet18"])
    meta, real = meta_model(manifest), build_model(manifest)
    assert next(meta.parameters()).device == torch.device("meta")
    assert sum(p.numel() for p in meta.parameters()) == sum(p.numel() for p in real.parameters())
    assert count_flops(meta, 1) == count_flops(real, 1)


def test_model_ablations_and_plain_multi_task(capsys):
    assert main(["model", FACES3, "--set", "model.iterations=0"]) == 0
    out = capsys.readouterr().out
    assert "re-encoder" not in "\n".join(section(out, "Parameters"))
    assert "integrator" not in out.split("Parameters")[1]
    assert [row.split()[0] for row in section(out, "ITERATIONS")] == ["0"]

    assert (
        main(["model", FACES3, "--set", "model.reencoder=resize", "--set", "model.iterations=1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "resize (6 prediction maps)" in out and "resize (7 prediction maps)" in out

    assert main(["model", FACES3, "--set", "model.batchnorm=shared"]) == 0
    out = capsys.readouterr().out
    assert "per-task batch norm" not in out
    flops = section(out, "ITERATIONS")
    assert [int(row.split()[4]) for row in flops] == [1, 2, 3]


def test_model_reports_an_unusable_backbone(capsys):
    code = main(["model", FACES3, "--set", "model.backbone=vit_tiny_patch16_224"])
    assert code == 2
    assert "strides 4, 8, 16 and 32" in capsys.readouterr().err
