"""Stage 2's learning-rate decay (``train.lr_decay``): each shape's rates by hand, re-planning a
longer stage 2 from the rate reached, the checkpoint state of old runs (torch's ExponentialLR),
and the trainer following it: the cosine default keeps a short stage 2 learning, an old run
resumes in the shape it started with."""

from __future__ import annotations

import itertools
import math

import pytest

from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import checkpoint_path
from ifan.training.lr_decay import Decay
from ifan.training.trainer import Trainer
from tests.training.short_run import EPOCH, STAGE_1, trainer, write_faces


def test_cosine_is_half_way_between_the_rates_half_way_through() -> None:
    decay = Decay("cosine", 0, 11, 1e-3, 1e-6)
    assert decay.rate(0) == 1e-3
    assert decay.rate(5) == pytest.approx((1e-3 + 1e-6) / 2)
    assert decay.rate(10) == pytest.approx(1e-6)
    assert decay.rate(2) == pytest.approx(1e-6 + (1e-3 - 1e-6) * (1 + math.cos(math.pi / 5)) / 2)
    assert decay.rate(25) == 1e-6  # after the end: the end rate


def test_exponential_is_the_geometric_mean_half_way_through() -> None:
    decay = Decay("exponential", 0, 11, 1e-3, 1e-6)
    assert decay.rate(5) == pytest.approx(math.sqrt(1e-3 * 1e-6))  # 3.2e-5
    assert decay.rate(3) == pytest.approx(1e-3 * (1e-3) ** (3 / 10))
    assert decay.rate(10) == pytest.approx(1e-6)


def test_a_one_update_decay_and_a_rate_before_the_start() -> None:
    assert Decay("cosine", 4, 1, 1e-3, 1e-5).rate(4) == 1e-3
    assert Decay("cosine", 4, 1, 1e-3, 1e-5).rate(5) == 1e-5
    with pytest.raises(ValueError, match="before this decay's start"):
        Decay("cosine", 4, 10, 1e-3, 1e-5).rate(3)


@pytest.mark.parametrize("shape", ["cosine", "exponential"])
def test_replanned_goes_on_from_the_rate_reached_to_the_end_at_the_new_length(shape) -> None:
    decay = Decay(shape, 0, 10, 1e-3, 1e-6)
    longer = decay.replanned(4, 20)
    assert longer == Decay(shape, 4, 16, decay.rate(4), 1e-6)
    assert longer.rate(19) == pytest.approx(1e-6)
    finished = decay.replanned(10, 15)  # a finished run: on at the end rate
    assert [finished.rate(k) for k in range(10, 15)] == [1e-6] * 5


def test_state_round_trips_and_an_unknown_shape_is_refused() -> None:
    decay = Decay("cosine", 3, 7, 5e-4, 1e-5)
    assert Decay.from_state({**decay.state(), "done": 5}, 99, 0.1) == (decay, 5)
    with pytest.raises(ValueError, match="unknown learning-rate decay 'linear'"):
        Decay.from_state({**decay.state(), "shape": "linear", "done": 5}, 99, 0.1)


def test_torchs_exponential_state_of_old_runs_goes_on_exactly() -> None:
    gamma = (1e-6 / 1e-3) ** (1 / 9)  # what runs before train.lr_decay planned over 10 updates
    state = {"gamma": gamma, "base_lrs": [1e-3], "last_epoch": 4, "_last_lr": [1e-3 * gamma**4]}
    decay, done = Decay.from_state(state, 10, 1e-6)
    assert (decay.shape, done) == ("exponential", 4)
    for k in range(4, 10):
        assert decay.rate(k) == pytest.approx(1e-3 * gamma**k, rel=1e-12)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    return write_faces(tmp_path_factory.mktemp("faces"))


def _stage_2_rates(run: Trainer) -> list[float]:
    return [lr for stage, _, _, lr in run.trained if stage == 2]


@pytest.fixture(scope="module")
def exponential_rates(faces, tmp_path_factory) -> list[float]:
    """Stage 2's rates of the short run with ``train.lr_decay=exponential``, trained once for
    both tests that compare with it."""
    run = trainer(faces, tmp_path_factory.mktemp("exponential"), "train.lr_decay=exponential")
    run.fit()
    return _stage_2_rates(run)


@pytest.mark.slow
def test_the_default_cosine_keeps_a_short_stage_2_near_its_starting_rate(
    faces, exponential_rates, tmp_path
):
    cosine = trainer(faces, tmp_path / "cosine")
    cosine.fit()
    rates = _stage_2_rates(cosine)
    expected = Decay("cosine", 0, 2 * EPOCH, 1e-3, 1e-6)
    assert rates == [pytest.approx(expected.rate(k)) for k in range(2 * EPOCH)]
    assert rates[EPOCH] > 4e-4  # the second of two epochs starts at 0.4 x lr_finetune ...
    old = exponential_rates
    assert old[EPOCH] < 4e-5  # ... where the exponential decay is already 25x lower
    assert old[-1] == pytest.approx(1e-6) and all(a > b for a, b in itertools.pairwise(old))


@pytest.mark.slow
def test_an_old_run_resumes_in_its_exponential_decay(faces, exponential_rates, tmp_path):
    """A checkpoint written before ``train.lr_decay`` (torch's ExponentialLR state, no option in
    its manifest) continues its exponential decay, not the new cosine default."""
    every = ["train.checkpoint_every=1", "train.keep_checkpoints=50"]
    first = trainer(faces, tmp_path / "old", *every)
    first.fit(stop_after=STAGE_1 + 2)
    path = checkpoint_path(tmp_path / "old", STAGE_1 + 2)
    checkpoint = load_checkpoint(path)
    gamma = (1e-6 / 1e-3) ** (1 / (2 * EPOCH - 1))
    checkpoint.meta["progress"]["decay"] = {
        "gamma": gamma, "base_lrs": [1e-3], "last_epoch": 2, "_last_lr": [1e-3 * gamma**2],
    }  # fmt: skip
    save_checkpoint(path, checkpoint.model, checkpoint.optimizer, checkpoint.meta)
    resumed = trainer(faces, tmp_path / "old", checkpoint=load_checkpoint(path))
    resumed.fit()
    assert _stage_2_rates(resumed) == pytest.approx(exponential_rates[2:], rel=1e-9)
