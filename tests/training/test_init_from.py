"""``ifan train MANIFEST --init-from RUN``: exactly the tensors that match by name and shape come
from RUN (the backbone, the tasks both networks have, their batch-norm copies included), the new
task's stay fresh, the run records where it started, and another backbone is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import checkpoint_path, latest_checkpoint
from ifan.runs.meta import run_meta
from ifan.training.init_from import part_of
from tests.training.short_run import SMALL, trainer, write_faces

SHARED = ("landmarks", "emotion")


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def two_task_run(faces: Path, folder: Path, *extra: str) -> Path:
    """A run folder holding a checkpoint of a landmarks + emotion network (seed 1, untrained:
    its weights differ from a fresh seed-0 network's everywhere)."""
    manifest = load_manifest(faces, [*SMALL, *extra], only=list(SHARED))
    torch.manual_seed(1)
    model = build_model(manifest)
    meta = run_meta(manifest, {"step": 5})
    save_checkpoint(checkpoint_path(folder, 5), model.state_dict(), None, meta)
    return folder


@pytest.fixture(scope="module")
def source(faces, tmp_path_factory) -> Path:
    return two_task_run(faces, tmp_path_factory.mktemp("source"))


def test_the_matching_tensors_come_from_the_run_and_the_new_task_stays_fresh(
    faces, source, tmp_path
):
    origin = load_checkpoint(latest_checkpoint(source))
    run = trainer(faces, tmp_path / "run", init_from=origin)
    torch.manual_seed(0)
    fresh = build_model(load_manifest(faces, SMALL)).state_dict()  # what a new run starts from
    state = run.model.state_dict()
    taken = [k for k in state if k in origin.model and origin.model[k].shape == state[k].shape]
    for key, value in state.items():
        expected = origin.model[key] if key in taken else fresh[key]
        assert torch.equal(value.cpu(), expected), key
    tasks, new = set(run.names), {"parsing"}
    parts = {part_of(key, tasks, new) for key in taken}
    assert parts == {"backbone", "task landmarks", "task emotion", "integrator"}
    fusions = [k for k in taken if part_of(k, tasks, new) == "integrator"]
    assert fusions and all(k.endswith(".bias") for k in fusions)  # its weights' inputs widened
    assert any(".norms.landmarks." in key for key in taken)  # its batch-norm copies too
    assert not any(part_of(key, tasks, new) == "task parsing" for key in taken)
    assert any(part_of(key, tasks, new) == "task parsing" for key in state)
    reshaped = [k for k in state if k in origin.model and k not in taken]
    assert reshaped and all(k.startswith("integrator.fusions.") for k in reshaped)
    assert all(k.endswith(".weight") for k in reshaped)
    inherited = run.inherited
    assert (inherited.taken, inherited.total) == (len(taken), len(state))
    assert inherited.tasks("taken") == list(SHARED) and inherited.tasks("fresh") == ["parsing"]
    assert inherited.parts["integrator"].reshaped == len(reshaped)


@pytest.mark.slow
def test_the_run_records_and_prints_where_its_weights_started(faces, source, tmp_path, capsys):
    out = tmp_path / "run"
    sets = [f"--set={s}" for s in [*SMALL, "train.pretrain_epochs=0", "train.finetune_epochs=1"]]
    args = ["train", str(faces), "--out", str(out), "--init-from", str(source), "--quiet", *sets]
    assert main(args) == 0
    printed = capsys.readouterr().out
    start = latest_checkpoint(source)
    assert f"init from {start} (update 5): " in printed
    assert "  fresh: task parsing " in printed and "integrator" in printed
    assert "taken: backbone" in printed
    recorded = load_checkpoint(latest_checkpoint(out)).meta["init_from"]
    assert recorded["checkpoint"] == str(start) and recorded["step"] == 5
    assert recorded["tasks"] == {"taken": list(SHARED), "partly": [], "fresh": ["parsing"]}
    assert main(["train", "--resume", str(out), "--quiet", "--set=train.finetune_epochs=2"]) == 0
    assert load_checkpoint(latest_checkpoint(out)).meta["init_from"] == recorded  # kept


def test_a_run_of_another_backbone_is_refused(faces, tmp_path):
    other = two_task_run(faces, tmp_path / "other", "model.backbone=mobilenetv3_small_100")
    origin = load_checkpoint(latest_checkpoint(other))
    with pytest.raises(IfanError) as error:
        trainer(faces, tmp_path / "run", init_from=origin)
    assert str(error.value) == (
        f"--init-from {origin.path}: none of its backbone's weights fits this network (matched "
        "by name and shape): it has backbone 'mobilenetv3_small_100', this manifest "
        "'fc-densenet'. Start from a run of the same backbone, or without --init-from"
    )


def test_init_from_a_folder_without_a_checkpoint_is_a_clear_error(faces, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    args = ["train", str(faces), "--out", str(tmp_path / "run"), "--init-from"]
    assert main([*args, str(tmp_path / "empty")]) == 2
    assert "the run folder has no checkpoint yet" in capsys.readouterr().err
