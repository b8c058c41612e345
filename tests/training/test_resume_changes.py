"""``ifan train --resume RUN --set ...``: what a resumed run may change (more epochs ahead of where
it is, device, threads, checkpointing) and what it refuses, naming the key (a learning rate, the
backbone, the seed, a schedule that would rewrite updates done); how stage 2's learning rate
continues when its length changes."""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from ifan.cli.main import main
from ifan.runs.checkpoint import load_checkpoint
from ifan.runs.layout import checkpoint_path, latest_checkpoint
from ifan.training.resume import resume_manifest
from ifan.training.trainer import Trainer
from tests.training.short_run import EPOCH, STAGE_1, trainer, write_faces

END = STAGE_1 + 2 * EPOCH
"""Updates of the short run: 22."""
KEEP_ALL = ["train.checkpoint_every=1", "train.keep_checkpoints=100"]

pytestmark = pytest.mark.slow  # every test resumes the finished short run, trained once per module


@dataclass
class Finished:
    run: Path
    rates: list[float]
    """The learning rate of each of its updates."""


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="module")
def finished(faces, tmp_path_factory) -> Finished:
    """The short run, finished, with a checkpoint after every update."""
    run = tmp_path_factory.mktemp("finished") / "run"
    whole = trainer(faces, run, *KEEP_ALL)
    whole.fit()
    return Finished(run, [lr for *_, lr in whole.trained])


def resumed_at(finished: Finished, step: int, folder: Path, *changes: str) -> Trainer:
    """A copy of the finished run resumed from its checkpoint of ``step`` with ``changes``."""
    shutil.copytree(finished.run, folder)
    checkpoint = load_checkpoint(checkpoint_path(folder, step))
    manifest = resume_manifest(checkpoint.meta, list(changes))
    return Trainer(manifest, folder, checkpoint, progress_bars=False)


def test_more_epochs_given_before_stage_2_end_where_the_longer_run_ends(faces, finished, tmp_path):
    longer = trainer(faces, tmp_path / "longer", "train.finetune_epochs=3")
    longer.fit()
    resumed = resumed_at(finished, 7, tmp_path / "cut", "train.finetune_epochs=3")  # stage 1
    resumed.fit()
    assert resumed.progress.step == longer.progress.step == END + EPOCH
    for key, value in longer.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_more_epochs_in_stage_2_decay_from_the_rate_reached_to_the_end_rate(finished, tmp_path):
    resumed = resumed_at(finished, STAGE_1 + EPOCH, tmp_path / "run", "train.finetune_epochs=3")
    resumed.fit()
    rates = [lr for *_, lr in resumed.trained]
    assert len(rates) == 2 * EPOCH  # the two epochs left: the old one's last, and the new one
    assert rates[0] == finished.rates[STAGE_1 + EPOCH]  # the rate the next update would have had
    assert rates[-1] == pytest.approx(1e-6)  # lr_finetune_end at the new end
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[EPOCH - 1] > finished.rates[-1]  # the old last update now decays more slowly
    epochs = [e for e in _epochs(tmp_path / "run") if e[0] == 2]
    assert epochs == [(2, 1), (2, 2), (2, 3)]


def test_more_epochs_after_a_finished_run_go_on_at_the_end_rate(finished, tmp_path):
    resumed = resumed_at(finished, END, tmp_path / "run", "train.finetune_epochs=3")
    resumed.fit()
    assert resumed.progress.step == END + EPOCH
    assert [lr for *_, lr in resumed.trained] == [1e-6] * EPOCH


def test_the_run_resumed_unchanged_still_ends_bit_for_bit_where_it_ended(finished, tmp_path):
    resumed = resumed_at(finished, STAGE_1 + 3, tmp_path / "run")
    resumed.fit()
    assert [lr for *_, lr in resumed.trained] == finished.rates[STAGE_1 + 3 :]
    final = load_checkpoint(checkpoint_path(finished.run, END))
    for key, value in final.model.items():
        assert torch.equal(value, resumed.model.state_dict()[key].cpu()), key


def _epochs(run: Path) -> list[tuple[int, int]]:
    """``(stage, epoch)`` of every validation in the run's metrics."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return sorted({(r["stage"], r["epoch"]) for r in records if r["kind"] == "val"})


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (
            ["--set", "train.lr_finetune=0.01"],
            "train.lr_finetune = 0.01 (was 0.001): the learning rate of every update follows "
            "from it",
        ),
        (
            ["--set", "train.lr_decay=exponential"],
            "train.lr_decay = 'exponential' (was 'cosine'): the learning rate of every update "
            "follows from it",
        ),
        (
            ["--set", "model.backbone=resnet18"],
            "model.backbone = 'resnet18' (was 'fc-densenet'): the checkpoint's weights are those "
            "of the network it describes",
        ),
        (
            ["--seed", "5"],
            "train.seed = 5 (was 0): the batches, their order and their augmentations were drawn "
            "from it",
        ),
        (
            ["--set", "tasks.landmarks.batch_size=2"],
            "tasks.landmarks.batch_size = 2 (was 4): the tasks, their datasets and their batches",
        ),
        (
            ["--set", "train.pretrain_epochs=2"],
            "train.pretrain_epochs = 2 (was 1) would rewrite updates the run has done: it has "
            "done 22, and update 3 would be stage 1, parsing epoch 2 where the run did stage 1, "
            "landmarks epoch 1. A resumed run may change its schedule only after update 22",
        ),
        (
            ["--set", "train.finetune_epochs=1"],
            "train.finetune_epochs = 1 (was 2) would rewrite updates the run has done: it has "
            "done 22, and update 17 would be past the end of the new schedule",
        ),
    ],
)
def test_resume_refuses_what_would_alter_updates_done_naming_the_key(
    finished, change, refusal, capsys
):
    before = sorted(p.name for p in (finished.run / "checkpoints").iterdir())
    assert main(["train", "--resume", str(finished.run), "--quiet", *change]) == 2
    assert refusal in capsys.readouterr().err.replace("\n", " ")
    assert sorted(p.name for p in (finished.run / "checkpoints").iterdir()) == before


def test_resume_takes_the_device_threads_and_checkpointing_it_is_given(finished, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished.run, run)
    threads = torch.get_num_threads()
    sets = ["--set", "train.finetune_epochs=3", "--set", "train.keep_checkpoints=2"]
    try:
        args = [*sets, "--device", "cpu", "--threads", "1"]
        assert main(["train", "--resume", str(run), "--quiet", *args]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    changes = (
        'train.finetune_epochs=3, train.keep_checkpoints=2, train.device="cpu", train.threads=1'
    )
    assert f"resuming at update {END} with {changes}:" in out
    assert f"done: {END + EPOCH} updates" in out
    assert len(list((run / "checkpoints").glob("step-*"))) == 2
    manifest = load_checkpoint(latest_checkpoint(run)).meta["manifest"]  # the next resume's
    assert (manifest["train"]["finetune_epochs"], manifest["train"]["keep_checkpoints"]) == (3, 2)
    assert (manifest["train"]["device"], manifest["train"]["threads"]) == ("cpu", 1)


def test_resume_still_refuses_a_manifest_tasks_or_init_from(finished, faces, capsys):
    for extra in ([str(faces)], ["--tasks", "landmarks"], ["--init-from", str(finished.run)]):
        assert main(["train", "--resume", str(finished.run), *extra]) == 2
        assert "give no MANIFEST, --tasks or --init-from" in capsys.readouterr().err


def test_the_settings_resume_allows_change_only_themselves(finished):
    checkpoint = load_checkpoint(latest_checkpoint(finished.run))
    manifest = resume_manifest(checkpoint.meta, ["train.workers=1", "train.bf16=true"])
    assert (manifest.train.workers, manifest.train.bf16) == (1, True)
    assert manifest.train.finetune_rounds == 2 and manifest.model.iterations == 1


@pytest.mark.parametrize(
    ("step", "done"),
    [(0, 0), (1, 1), (STAGE_1, 0), (STAGE_1 + 2, 2), (STAGE_1 + EPOCH, 0), (END, 0)],
)
def test_a_resume_within_an_epoch_knows_how_much_of_it_was_done(
    faces, finished, tmp_path, step, done
):
    """What the first progress bar of a resumed run starts from: e.g. stage 2's first epoch
    resumed after 2 of its 6 updates shows 2/6, not 0/6, and its time left is of the other 4."""
    run = resumed_at(finished, step, tmp_path / "run") if step else trainer(faces, tmp_path / "new")
    assert run._done_in_epoch() == done
