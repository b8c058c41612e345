"""``train.keep_best`` and ``train.patience``: the checkpoint of the best stage-2 validation is kept
beside the newest whatever ``keep_checkpoints`` prunes, early stopping stops after ``patience``
validations without a better value, and both survive a resume. Validations are fed known values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ifan.errors import IfanError, ManifestError
from ifan.manifest import load_manifest
from ifan.runs.checkpoint import load_checkpoint
from ifan.runs.layout import best_path, latest_checkpoint
from ifan.training.best import Best
from ifan.training.resume import resume_manifest
from ifan.training.trainer import Trainer
from tests.training.short_run import EPOCH, STAGE_1, trainer, write_faces

NME = [0.5, 0.3, 0.4, 0.35, 0.2, 0.25]
"""landmarks.nme of stage-2 epochs 1, 2, ...: the best at epoch 2, then 2 worse ones."""
BEST = ["train.keep_best=landmarks.nme", "train.keep_checkpoints=1"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def feed(run: Trainer, values: list[float]) -> list[dict[str, torch.Tensor]]:
    """Make ``run``'s stage-2 validations score landmarks.nme as ``values`` in turn (the other
    values as measured); returns the weights at each of those validations, as they fill."""
    measure = run.validate
    weights: list[dict[str, torch.Tensor]] = []

    def validate(tasks: list[str], iterations: int | None) -> dict:
        results = measure(tasks, iterations)
        if iterations is None:  # stage 2: every task on the whole network
            measured, metric = results["landmarks"]
            results["landmarks"] = ({**measured, "nme": values[len(weights)]}, metric)
            weights.append({k: v.detach().clone() for k, v in run.model.state_dict().items()})
        return results

    run.validate = validate
    return weights


@pytest.mark.slow
def test_the_best_checkpoint_is_kept_beside_the_newest_through_pruning(faces, tmp_path):
    run = trainer(faces, tmp_path / "run", *BEST, "train.finetune_epochs=4")
    weights = feed(run, NME)
    run.fit()
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["best.safetensors", f"step-{STAGE_1 + 4 * EPOCH:08d}.safetensors"]
    best = load_checkpoint(best_path(tmp_path / "run"))
    assert best.meta["progress"]["step"] == STAGE_1 + 2 * EPOCH
    assert best.meta["progress"]["best"] == {
        "key": "landmarks.nme",
        "higher_is_better": False,
        "value": 0.3,
        "step": STAGE_1 + 2 * EPOCH,
        "epoch": 2,
        "since": 0,
    }
    for key, value in weights[1].items():
        assert torch.equal(best.model[key], value.cpu()), key
    newest = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert newest.meta["progress"]["best"]["since"] == 2
    assert run.best_message() == (
        f"best: {best_path(tmp_path / 'run')} (landmarks.nme 0.3 at update 22, stage-2 epoch 2)"
    )


@pytest.mark.slow
def test_patience_stops_the_run_and_a_resume_keeps_it_stopped_or_goes_on(faces, tmp_path):
    run = trainer(faces, tmp_path / "run", *BEST, "train.finetune_epochs=6", "train.patience=2")
    feed(run, NME)
    run.fit()
    stopped_at = STAGE_1 + 4 * EPOCH  # epochs 3 and 4 brought nothing better than epoch 2
    assert run.stopped and run.progress.step == stopped_at == len(run.trained)
    assert run.best_message().startswith(
        "stopped early: no better landmarks.nme in 2 stage-2 validations (train.patience = 2)\n"
    )
    checkpoint = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    unchanged = resume_manifest(checkpoint.meta, [])
    again = Trainer(unchanged, tmp_path / "run", checkpoint, progress_bars=False)
    again.fit()
    assert again.stopped and again.progress.step == stopped_at and not again.trained
    patient = resume_manifest(checkpoint.meta, ["train.patience=3"])
    more = Trainer(patient, tmp_path / "run", checkpoint, progress_bars=False)
    feed(more, NME[4:])
    more.fit()
    assert not more.stopped and more.progress.step == STAGE_1 + 6 * EPOCH
    best = load_checkpoint(best_path(tmp_path / "run")).meta["progress"]["best"]
    assert (best["value"], best["epoch"]) == (0.2, 5)


def test_the_best_follows_the_metric_s_direction_and_ignores_ties_and_nan():
    lower = Best("landmarks.nme", higher_is_better=False)
    offered = [lower.offer(v, step, step) for step, v in enumerate([0.5, 0.5, math.nan, 0.4], 1)]
    assert offered == [True, False, False, True] and (lower.value, lower.step) == (0.4, 4)
    higher = Best("parsing.f1_overall", higher_is_better=True)
    assert [higher.offer(v, 1, 1) for v in (0.5, 0.4, 0.6)] == [True, False, True]
    assert higher.since == 0 and not higher.exhausted(1)
    higher.offer(0.6, 2, 2)
    assert higher.exhausted(1) and not higher.exhausted(None)
    assert Best.from_state(higher.state()) == higher


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            ["train.keep_best=landmarks.failure_rate"],
            "train.keep_best = 'landmarks.failure_rate' (from --set "
            "train.keep_best=landmarks.failure_rate): landmarks's metric declares which way is "
            "better for its main value only, 'nme' (lower is better): use 'landmarks.nme'",
        ),
        (["train.keep_best=age.mae"], "no task 'age' here; the tasks are parsing, landmarks"),
        (["train.keep_best=nme"], "expected '<task>.<metric>', e.g. 'landmarks.nme'"),
        (["train.patience=3"], "patience counts validations without a better keep_best value"),
        (
            ["train.keep_best=emotion.accuracy", "train.finetune_epochs=0"],
            "finetune_epochs = 0 leaves no stage 2",
        ),
    ],
)
def test_keep_best_and_patience_are_checked_with_the_manifest(faces, settings, problem):
    with pytest.raises(ManifestError) as error:
        load_manifest(faces, settings)
    assert problem in str(error.value)


def test_keep_best_needs_a_validation_split(faces, tmp_path):
    text = faces.read_text().replace('val = "emotion/val"\n', "")
    (tmp_path / "manifest.toml").write_text(text.replace('"emotion/', f'"{faces.parent}/emotion/'))
    with pytest.raises(ManifestError, match=r"tasks\.emotion has no validation split to compare"):
        load_manifest(tmp_path / "manifest.toml", ["train.keep_best=emotion.accuracy"])


def test_keep_best_may_not_change_on_resume(faces, tmp_path):
    run = trainer(faces, tmp_path / "run", *BEST, "train.finetune_epochs=1")
    run.save()
    meta = load_checkpoint(latest_checkpoint(tmp_path / "run")).meta
    with pytest.raises(IfanError, match="chosen among all of the run's stage-2 validations"):
        resume_manifest(meta, ["train.keep_best=emotion.accuracy"])
