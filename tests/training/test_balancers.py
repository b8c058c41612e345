"""Loss balancers: each one's weights computed by hand for known losses, their state through a
checkpoint, the trainer's use of them (stage 2 only, exact resume, the default unchanged), the
manifest key and the plugin hook."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from ifan import hookimpl
from ifan.balancers import (
    Balancer,
    DynamicWeightAverage,
    FixedWeights,
    GradNorm,
    UncertaintyWeighting,
    balancers,
)
from ifan.balancers.dwa import DWAOptions
from ifan.balancers.gradnorm import GradNormOptions
from ifan.balancers.uncertainty import UncertaintyOptions
from ifan.cli.main import main
from ifan.errors import IfanError, ManifestError
from ifan.manifest import load_manifest
from ifan.plugins import PluginRegistry, load_registry
from ifan.runs.checkpoint import load_checkpoint
from ifan.runs.layout import checkpoint_path, latest_checkpoint
from ifan.training.resume import resume_manifest
from tests.training.short_run import EPOCH, SMALL, STAGE_1, trainer, write_faces

TASKS3 = {"a": 1.0, "b": 1.0, "c": 1.0}


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def _json_round_trip(balancer: Balancer) -> dict:
    """The balancer's state as a checkpoint stores it."""
    return json.loads(json.dumps(balancer.state()))


# -- each balancer by hand --------------------------------------------------------------------


def test_fixed_weights_multiply_each_loss_by_its_loss_weight_exactly():
    fixed = FixedWeights({"a": 0.3, "b": 2.5})
    loss = torch.tensor(1.7, requires_grad=True)
    assert torch.equal(fixed.weigh("a", loss), loss * 0.3)
    assert torch.equal(fixed.weigh("b", loss), loss * 2.5)
    assert fixed.weights() == {"a": 0.3, "b": 2.5}
    assert fixed.parameters() == () and fixed.state() == {}


def test_uncertainty_weighs_by_the_learned_log_variance():
    uw = UncertaintyWeighting({"a": 1.0, "b": 2.0}, UncertaintyOptions(init=math.log(2)))
    loss = torch.tensor(3.0)
    # exp(-s) / 2 x loss + s / 2, times loss_weight: s = log 2 gives 3 / 4 + log(2) / 2
    assert uw.weigh("a", loss).item() == pytest.approx(0.75 + math.log(2) / 2)
    assert uw.weigh("b", loss).item() == pytest.approx(2 * (0.75 + math.log(2) / 2))
    assert uw.weights() == pytest.approx({"a": 0.25, "b": 0.5})
    fresh = UncertaintyWeighting({"a": 1.0, "b": 1.0})
    fresh.weigh("a", torch.tensor(2.0)).backward()
    # d/ds (exp(-s) / 2 x 2 + s / 2) at s = 0: -1 + 1/2; the other task's s is not touched
    a, b = fresh.parameters()
    assert float(a.grad) == pytest.approx(-0.5) and b.grad is None
    copy = UncertaintyWeighting({"a": 1.0, "b": 2.0})
    copy.load_state(_json_round_trip(uw))
    assert [p.item() for p in copy.parameters()] == [p.item() for p in uw.parameters()]


def test_dwa_weighs_by_the_ratio_of_the_last_two_epoch_losses():
    dwa = DynamicWeightAverage(TASKS3, DWAOptions(temperature=2.0))
    assert dwa.weights() == {"a": 1.0, "b": 1.0, "c": 1.0}  # no epoch yet
    dwa.end_epoch({"a": 2.0, "b": 1.0, "c": 4.0})
    assert dwa.weights() == {"a": 1.0, "b": 1.0, "c": 1.0}  # one epoch: no ratio yet
    dwa.end_epoch({"a": 1.0, "b": 1.0, "c": 2.0})
    # r = 0.5, 1, 0.5; w_k = 3 exp(r_k / 2) / sum_i exp(r_i / 2)
    total = 2 * math.exp(0.25) + math.exp(0.5)
    expected = {"a": 3 * math.exp(0.25) / total, "b": 3 * math.exp(0.5) / total}
    expected["c"] = expected["a"]
    assert dwa.weights() == pytest.approx(expected)
    assert sum(dwa.weights().values()) == pytest.approx(3)
    loss = torch.tensor(2.0)
    assert float(dwa.weigh("b", loss)) == pytest.approx(2.0 * expected["b"])
    dwa.end_epoch({"a": 1.0, "b": 0.5, "c": 2.0})  # only the last two epochs count
    total = 2 * math.exp(0.5) + math.exp(0.25)
    assert dwa.weights()["b"] == pytest.approx(3 * math.exp(0.25) / total)
    copy = DynamicWeightAverage(TASKS3)
    copy.load_state(_json_round_trip(dwa))
    assert copy.weights() == dwa.weights()
    weighted = DynamicWeightAverage({"a": 0.5, "b": 1.0, "c": 1.0})
    assert weighted.weights()["a"] == 0.5  # times loss_weight


def test_gradnorm_balances_gradient_norms_by_hand():
    gn = GradNorm({"a": 1.0, "b": 1.0}, GradNormOptions(alpha=1.0, smoothing=0.5))
    gn.weigh("a", torch.tensor(1.0))
    gn.after_backward("a", [torch.tensor([3.0, 4.0])])  # |g_a| = 5
    assert gn.weights() == {"a": 1.0, "b": 1.0}  # b not measured yet
    gn.weigh("b", torch.tensor(1.0))
    gn.after_backward("b", [torch.tensor([1.0]), torch.tensor([0.0])])  # |g_b| = 1
    # w_t = K (r_t / G_t) / sum (r_i / G_i) with r = 1: 2 x (1/5) / 1.2 and 2 x 1 / 1.2
    assert gn.weights() == pytest.approx({"a": 1 / 3, "b": 5 / 3})
    loss = torch.tensor(2.0)
    assert float(gn.weigh("a", loss)) == pytest.approx(2 / 3)
    # the gradient of the weighted loss: (1/3) x (6, 8), an unweighted norm of 10
    gn.after_backward("a", [torch.tensor([2.0, 8 / 3])])
    norm_a = 0.5 * 5 + 0.5 * 10
    targets = {"a": 1 / norm_a, "b": 1.0}
    total = sum(targets.values())
    assert gn.weights() == pytest.approx({t: 2 * v / total for t, v in targets.items()})
    gn.end_epoch({"a": 4.0, "b": 2.0})
    gn.end_epoch({"a": 2.0, "b": 2.0})
    # rates: last / first = 0.5 and 1, over their mean 0.75
    targets = {"a": (0.5 / 0.75) / norm_a, "b": (1 / 0.75) / 1.0}
    total = sum(targets.values())
    assert gn.weights() == pytest.approx({t: 2 * v / total for t, v in targets.items()})
    copy = GradNorm({"a": 1.0, "b": 1.0}, GradNormOptions(alpha=1.0, smoothing=0.5))
    copy.load_state(_json_round_trip(gn))
    assert copy.weights() == gn.weights() and copy.norms == gn.norms


# -- in the trainer -----------------------------------------------------------------------------


def test_the_default_is_fixed_and_trains_as_before_with_one_parameter_group(faces, tmp_path):
    run = trainer(faces, tmp_path / "run")
    assert isinstance(run.balancer, FixedWeights) and len(run.optimizer.param_groups) == 1


@pytest.mark.parametrize(
    ("optimizer", "fused", "foreach"),
    [("adamw", True, None), ("adam", True, None), ("sgd", None, True), ("rmsprop", None, True)],
)
def test_the_optimizer_is_fused_where_torch_has_a_fused_kernel(
    faces, tmp_path, optimizer, fused, foreach
):
    run = trainer(faces, tmp_path / "run", f"train.optimizer={optimizer}")
    group = run.optimizer.param_groups[0]
    assert (group.get("fused"), group.get("foreach")) == (fused, foreach)


@pytest.mark.slow
def test_fixed_weights_scale_each_update_exactly_like_the_learning_rate(faces, tmp_path):
    """With SGD, a loss weight of 1/4 and 4 times the learning rates make the very same updates,
    bit for bit (powers of two scale exactly), in both stages: the fixed balancer multiplies each
    loss by its loss_weight, as training always has."""
    sgd = ["train.optimizer=sgd", "train.channels_last=false"]
    plain = trainer(faces, tmp_path / "plain", *sgd)
    quarter = [f"tasks.{t}.loss_weight=0.25" for t in ("parsing", "landmarks", "emotion")]
    rates = ["train.lr_pretrain=4e-3", "train.lr_finetune=4e-3", "train.lr_finetune_end=4e-6"]
    scaled = trainer(faces, tmp_path / "scaled", *sgd, *quarter, *rates)
    plain.fit()
    scaled.fit()
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, scaled.model.state_dict()[key]), key


@pytest.mark.slow
@pytest.mark.parametrize("name", ["uncertainty", "dwa", "gradnorm"])
def test_a_balanced_run_learns_and_resumes_exactly(faces, tmp_path, name):
    """Killed within stage 2's second epoch and resumed, a run ends with the weights and the
    balancer's state of the uninterrupted run: what the balancer learned and the epoch's losses
    so far travel in the checkpoint."""
    extra = [f"train.balancer.name={name}", "train.finetune_epochs=3", "train.checkpoint_every=1"]
    whole = trainer(faces, tmp_path / "whole", *extra)
    whole.fit()
    cut = trainer(faces, tmp_path / "cut", *extra)
    cut.fit(stop_after=STAGE_1 + EPOCH + 3)
    checkpoint = load_checkpoint(latest_checkpoint(tmp_path / "cut"))
    assert checkpoint.meta["progress"]["balancer"]["name"] == name
    assert checkpoint.meta["progress"]["losses"]  # the epoch under way
    resumed = trainer(faces, tmp_path / "cut", *extra, checkpoint=checkpoint)
    resumed.fit()
    assert resumed.progress.step == whole.progress.step
    assert resumed.balancer.state() == whole.balancer.state()
    assert resumed.balancer.weights() == whole.balancer.weights()
    assert whole.balancer.weights() != dict.fromkeys(whole.names, 1.0)  # it balanced
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert _train_records(tmp_path / "cut") == _train_records(tmp_path / "whole")


def _train_records(run: Path) -> list[tuple]:
    """The training losses of ``metrics.jsonl``, but for their time."""
    records = map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
    return [
        (r["stage"], r["epoch"], r["step"], r["task"], r["loss"], r["lr"])
        for r in records
        if r["kind"] == "train"
    ]


@pytest.mark.slow
def test_uncertainty_trains_its_log_variances_in_stage_2_only(faces, tmp_path):
    run = trainer(faces, tmp_path / "run", "train.balancer.name=uncertainty")
    assert len(run.optimizer.param_groups) == 2
    assert run.optimizer.param_groups[1]["weight_decay"] == 0.0
    run.fit(stop_after=STAGE_1)
    assert [s.item() for s in run.balancer.parameters()] == [0.0, 0.0, 0.0]
    run.fit(stop_after=EPOCH)
    assert all(s.item() != 0.0 for s in run.balancer.parameters())
    saved = load_checkpoint(checkpoint_path(tmp_path / "run", STAGE_1 + EPOCH))
    logged = saved.meta["progress"]["balancer"]["state"]["log_variance"]
    assert logged == {t: s.item() for t, s in run.balancer.log_variance.items()}


def test_a_resumed_run_refuses_another_balancer_and_takes_other_loggers(faces, tmp_path):
    run = trainer(faces, tmp_path / "run")
    run.fit(stop_after=1)
    run.save()
    meta = load_checkpoint(latest_checkpoint(tmp_path / "run")).meta
    with pytest.raises(IfanError, match=r"train.balancer.name = 'dwa' \(was 'fixed'\): the loss"):
        resume_manifest(meta, ["train.balancer.name=dwa"])
    assert resume_manifest(meta, ['train.loggers=["csv"]']).train.loggers == ["csv"]


# -- the manifest key and the hook -------------------------------------------------------------


class Halving(Balancer):
    """Half of each loss, counting its calls."""

    name = "halving"
    calls: ClassVar[list[str]] = []

    def weigh(self, task: str, loss: torch.Tensor) -> torch.Tensor:
        self.calls.append(task)
        return loss * (0.5 * self.base[task])

    def weights(self) -> dict[str, float]:
        return {task: 0.5 * weight for task, weight in self.base.items()}


class BalancerPlugin:
    @hookimpl
    def ifan_balancers(self) -> list[type[Balancer]]:
        return [Halving]


def _with(*plugins: object) -> PluginRegistry:
    registry = load_registry(allow=None)
    for index, plugin in enumerate(plugins):
        registry.manager.register(plugin, name=f"test:plugin{index}")
    return registry


def test_a_plugin_balancer_is_chosen_by_name_and_weighs_stage_2(faces, tmp_path):
    registry = _with(BalancerPlugin())
    assert "halving" in balancers(registry).names
    Halving.calls.clear()
    run = trainer(faces, tmp_path / "run", "train.balancer.name=halving", registry=registry)
    assert isinstance(run.balancer, Halving)
    run.fit(stop_after=STAGE_1 + 3)
    assert Halving.calls == ["parsing", "landmarks", "emotion"]  # stage 2 only


def test_broken_balancer_plugins_are_reported_and_the_others_stay(faces):
    class Raising:
        @hookimpl
        def ifan_balancers(self):
            raise RuntimeError("no balance")

    class Claiming:
        @hookimpl
        def ifan_balancers(self):
            return [type("Fake", (FixedWeights,), {"name": "dwa"}), "not a class"]

    registry = _with(BalancerPlugin(), Raising(), Claiming())
    with pytest.warns(UserWarning) as warned:
        found = balancers(registry)
    messages = " ".join(str(w.message) for w in warned)
    assert "ifan_balancers() raised RuntimeError('no balance')" in messages
    assert "claims the built-in name 'dwa'" in messages
    assert "'not a class', which is not a subclass of ifan.balancers.base.Balancer" in messages
    assert found.names == ["dwa", "fixed", "gradnorm", "halving", "uncertainty"]
    assert found.found["dwa"].cls is DynamicWeightAverage


def test_an_unknown_balancer_or_option_is_a_clear_manifest_error(faces):
    with pytest.raises(ManifestError) as error:
        load_manifest(faces, [*SMALL, "train.balancer.name=dwaa"])
    assert "train.balancer.name = 'dwaa'" in str(error.value)
    assert "unknown loss balancer 'dwaa' (installed: dwa, fixed, gradnorm, uncertainty)" in str(
        error.value
    )
    assert "did you mean 'dwa'?" in str(error.value)
    with pytest.raises(ManifestError, match=r"train.balancer.alpha .*unknown key; .*temperature"):
        load_manifest(faces, [*SMALL, "train.balancer.name=dwa", "train.balancer.alpha=1"])
    with pytest.raises(ManifestError, match=r"train.balancer.temperature = 0 .*greater than 0"):
        load_manifest(faces, [*SMALL, "train.balancer.name=dwa", "train.balancer.temperature=0"])
    manifest = load_manifest(faces, [*SMALL, "train.balancer.name=gradnorm"])
    assert manifest.balancer.options == GradNormOptions()
    assert load_manifest(faces, [*SMALL, "train.balancer=dwa"]).balancer.provided.cls is (
        DynamicWeightAverage
    )
    with pytest.raises(ManifestError, match=r"train.balancer = 3 .*expected a balancer's name"):
        load_manifest(faces, [*SMALL, "train.balancer=3"])


def test_ifan_validate_says_which_balancer_and_loggers_a_manifest_chose(faces, capsys):
    assert main(["validate", str(faces)]) == 0
    assert "train:" not in capsys.readouterr().out  # the defaults go unsaid
    chosen = ["--set=train.balancer.name=dwa", '--set=train.loggers=["csv"]']
    assert main(["validate", str(faces), *chosen]) == 0
    assert "  train: balancer dwa (temperature 2.0), loggers csv" in capsys.readouterr().out
