"""The three tasks' modules on random tensors: the identity decoder's embedding, what reads the
logits alone, JSON, the loss learning, and the plugin's entry point."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from ifan.class_task import ClassTask
from ifan.contract import BuildContext, FeatureSpec, LabelSchema
from ifan.contract_checks import task_problems
from ifan.network.task_batchnorm import FlexBatchNorm
from torch import nn

import ifan_task_people.plugin
from ifan_task_people.attributes import GenderTask, RaceTask
from ifan_task_people.identity import IdentityOptions, IdentityTask

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parents[1]
CTX = BuildContext(input_size=64, norm=FlexBatchNorm)
TAP = FeatureSpec(32, 2, 2)
PEOPLE = LabelSchema(kind="class", names=("ada", "alan", "grace", "hedy", "kathy", "linus"))


def identity(hidden: int = 16) -> IdentityTask:
    return IdentityTask(IdentityOptions(hidden=hidden), PEOPLE)


def test_pyproject_declares_one_entry_point_for_the_three_tasks() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "ifan-task-people"
    assert project["entry-points"]["ifan"] == {"people": "ifan_task_people.plugin"}
    assert ifan_task_people.plugin.ifan_tasks() == [GenderTask, RaceTask, IdentityTask]
    for task in (GenderTask, RaceTask, IdentityTask):
        assert task_problems(task) == [] and issubclass(task, ClassTask)


def test_the_classes_of_gender_and_race_are_utkfaces_codes() -> None:
    assert GenderTask.labels.names == ("male", "female")
    assert RaceTask.labels.names == ("white", "black", "asian", "indian", "others")
    assert [f.name for f in GenderTask.formats] == ["utkface", "mtfl"]
    assert [f.name for f in RaceTask.formats] == ["utkface"]
    assert GenderTask.labels.mirror_pairs() == ()  # a flip changes neither


def test_identity_predicts_logits_then_the_embedding_the_last_linear_reads() -> None:
    task = identity(hidden=16)
    decoder = task.build_decoder(TAP, CTX).eval()
    seen = []
    last = [m for m in decoder.modules() if isinstance(m, nn.Linear)][-1]
    last.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    prediction = decoder(torch.randn(3, TAP.channels, TAP.height, TAP.width))
    assert prediction.shape == (3, 6 + 16)
    # the embedding is the input of the decoder's last nn.Linear, what ifan features extracts
    assert torch.equal(prediction[:, 6:], seen[0])
    assert torch.allclose(prediction[:, :6], last(seen[0]))
    names = [name for name, _ in decoder.named_parameters()]
    assert names == ["mlp.0.weight", "mlp.1.weight", "mlp.1.bias", "mlp.3.weight", "mlp.3.bias"]


def test_the_loss_maps_and_reencoder_read_the_logits_alone() -> None:
    task = identity()
    logits = torch.randn(4, 6)
    one, other = (torch.cat([logits, torch.randn(4, 16)], 1) for _ in range(2))
    target = {"label": torch.tensor([0, 1, 5, 5])}
    assert torch.equal(task.loss(one, target), task.loss(other, target))
    assert torch.equal(task.loss(one, target), task.loss(logits, target))  # a probe's head
    maps = task.prediction_maps(one, 3, 2)
    assert maps.shape == (4, 6, 3, 2) == (4, task.prediction_channels, 3, 2)
    assert torch.allclose(maps.sum(1), torch.ones(4, 3, 2))
    encoder = task.build_reencoder([FeatureSpec(8, 4, 4)], CTX)
    assert torch.equal(encoder(one)[0], encoder(other)[0])
    assert task.to_json(one[0]) == task.to_json(other[0])


def test_identity_json_lists_the_five_most_probable_people() -> None:
    task = identity()
    logits = torch.log(torch.tensor([0.06, 0.4, 0.1, 0.25, 0.15, 0.04]))
    data = task.to_json(torch.cat([logits, torch.zeros(16)]))
    assert data["label"] == "alan" and data["score"] == pytest.approx(0.4)
    assert list(data["top"]) == ["alan", "hedy", "kathy", "grace", "ada"]  # not linus, 6th
    assert list(data["top"].values()) == pytest.approx([0.4, 0.25, 0.15, 0.1, 0.06])


def test_gender_json_and_metric_are_the_class_bases() -> None:
    task = GenderTask()
    assert task.to_json(torch.tensor([0.0, 2.0]))["label"] == "female"
    metric = task.new_metric()
    metric.update(torch.tensor([[2.0, 0], [2, 0], [0, 2]]), {"label": torch.tensor([0, 1, 1])})
    assert metric.compute()["accuracy"] == pytest.approx(2 / 3)
    assert metric.main == "accuracy"


def test_label_smoothing_and_class_weights_reach_the_loss() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    target = {"label": torch.tensor([0, 1])}
    plain = GenderTask().loss(logits, target)
    expected = torch.nn.functional.cross_entropy(logits, target["label"])
    assert plain == pytest.approx(float(expected))
    weighted = GenderTask(GenderTask.Options(class_weights={"female": 3.0})).loss(logits, target)
    weights = torch.tensor([1.0, 3.0])
    expected = torch.nn.functional.cross_entropy(logits, target["label"], weight=weights)
    assert weighted == pytest.approx(float(expected))
    assert IdentityTask.Options().label_smoothing == 0.1


def test_identity_loss_falls_on_a_small_batch() -> None:
    torch.manual_seed(0)
    task = identity(hidden=32)
    decoder = task.build_decoder(TAP, CTX)
    features = torch.randn(12, TAP.channels, TAP.height, TAP.width)
    target = {"label": torch.arange(12) % 6}
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = task.loss(decoder(features), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    decoder.eval()
    metric = task.new_metric()
    with torch.no_grad():
        metric.update(decoder(features), target)
    values = metric.compute()
    assert values["accuracy"] == 1.0 and values["top5"] == 1.0
    assert 0 <= values["eer"] <= 1 and 0.5 <= values["verification_accuracy"] <= 1


def test_test_flip_averages_identity_logits_and_embeddings() -> None:
    """A mirrored face is the same person: ``[model] test_flip`` averages the logits and the
    embedding of a face and its mirror (the core's default, made for logits alone, would not)."""
    from ifan.network.test_flip import merge_flipped

    task = identity(hidden=16)
    plain, mirrored = torch.randn(3, 6 + 16), torch.randn(3, 6 + 16)
    assert torch.equal(task.unflip(mirrored), mirrored)
    merged = merge_flipped(plain, mirrored, task)
    assert torch.allclose(merged, (plain + mirrored) / 2)  # the 16 embedding columns too
    assert torch.allclose(task.logits(merged), (task.logits(plain) + task.logits(mirrored)) / 2)
