"""Opening a task's splits from a manifest: bad samples skipped or reported, val carved out of
train, augmentation of train only, and ``ifan data``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.cli.main import main
from ifan.data.batch_augment import BatchAugment
from ifan.data.errors import DatasetError
from ifan.data.prepared import PreparedDataset
from ifan.data.splits import carve, open_splits
from ifan.manifest import load_manifest

GOOD = " faces\\{name}.jpg 4 12 8 5 11 6 6 9 12 12 1 2 2 3\r\n"


def write_mtfl(folder: Path, good: int, bad_lines: list[str] = ()) -> Path:
    """An MTFL list of ``good`` faces on 16x16 photos, then ``bad_lines`` verbatim."""
    (folder / "faces").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(good):
        Image.new("RGB", (16, 16), (i, 80, 80)).save(folder / "faces" / f"{i}.jpg")
        lines.append(GOOD.format(name=i))
    (folder / "training.txt").write_text("".join(lines + list(bad_lines)), newline="")
    return folder / "training.txt"


def manifest(folder: Path, data: str, task: str = "") -> Path:
    path = folder / "m.toml"
    path.write_text(
        f"[model]\ninput_size = 32\n[train]\nseed = 5\n[tasks.landmarks]\n{task}\n"
        f'[tasks.landmarks.data]\nformat = "mtfl"\n{data}\n'
    )
    return path


def splits(path: Path, prepare: bool = False, **kwargs):
    """The landmarks task's splits (read directly unless ``prepare``: these test the readers)."""
    loaded = load_manifest(path)
    config = loaded.tasks["landmarks"]
    return open_splits(config, config.build_task(), loaded, prepare=prepare, **kwargs)


BAD_LINES = [
    " faces\\0.jpg 4 12 8 5 11 6 6 9 12\r\n",  # too few fields
    " faces\\0.jpg 4 12 8 nan 11 6 6 9 12 12 1 2 2 3\r\n",  # not finite
    " faces\\0.jpg 4 12 8 5 40 6 6 9 12 12 1 2 2 3\r\n",  # outside the 16x16 photo
    " faces\\missing.jpg 4 12 8 5 11 6 6 9 12 12 1 2 2 3\r\n",  # no such image
]


def test_bad_lines_stop_the_run_by_default_naming_file_and_line(tmp_path):
    write_mtfl(tmp_path, 3, BAD_LINES[2:3])
    with pytest.raises(DatasetError) as error:
        splits(manifest(tmp_path, 'train = "training.txt"'))
    assert "tasks.landmarks.data.train: " in str(error.value)
    assert "training.txt:4: points outside the 16x16 image" in str(error.value)


def test_skip_counts_every_bad_line_with_its_reason(tmp_path):
    write_mtfl(tmp_path, 3, BAD_LINES)
    opened = splits(manifest(tmp_path, 'train = "training.txt"', 'on_bad_sample = "skip"'))
    assert len(opened.datasets["train"]) == 3
    bad = opened.bad["train"]
    assert bad.count == 4
    assert [r.split(": ", 1)[0].rsplit(":", 1)[1] for r in bad.reasons] == ["4", "5", "6", "7"]
    assert "expected 15 fields" in bad.reasons[0]
    assert "not a finite number" in bad.reasons[1]
    assert "points outside" in bad.reasons[2]
    assert "missing.jpg not found" in bad.reasons[3]
    assert bad.summary(first=2).splitlines()[0] == "skipped 4 bad samples:"
    assert bad.summary(first=2).endswith("... and 2 more")


def truncate(path: Path) -> None:
    """Make ``path`` a 16x16 noise image whose header reads but whose pixels are cut off."""
    noise = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, format="PNG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_image_is_skipped_when_loaded(tmp_path):
    write_mtfl(tmp_path, 3)
    truncate(tmp_path / "faces" / "1.jpg")
    opened = splits(manifest(tmp_path, 'train = "training.txt"', 'on_bad_sample = "skip"'))
    train = opened.datasets["train"]
    with pytest.warns(UserWarning, match=r"skipped a bad sample: .*1\.jpg"):
        image, _ = train[1]
    assert torch.allclose(image, train[2][0])  # replaced by the next good sample
    strict = splits(manifest(tmp_path, 'train = "training.txt"'))
    with pytest.raises(DatasetError, match=r"1\.jpg: not a readable image"):
        strict.datasets["train"][1]


def test_val_fraction_carves_a_disjoint_reproducible_val_split(tmp_path):
    write_mtfl(tmp_path, 20)
    path = manifest(tmp_path, 'train = "training.txt"\nval_fraction = 0.25')
    opened = splits(path, augment=False)
    train, val = opened.datasets["train"], opened.datasets["val"]
    assert (len(train), len(val)) == (15, 5)
    assert set(train.indices).isdisjoint(val.indices)
    assert sorted([*train.indices, *val.indices]) == list(range(20))
    assert splits(path, augment=False).datasets["val"].indices == val.indices
    assert "20 read, 5 carved out as val" in opened.sources["train"]
    only_val = splits(path, splits=("val",))
    assert list(only_val.datasets) == ["val"] and only_val.datasets["val"].indices == val.indices


def test_train_samples_keeps_a_seeded_subset_of_train_and_leaves_val_whole(tmp_path):
    write_mtfl(tmp_path, 20)
    path = manifest(tmp_path, 'train = "training.txt"\nval_fraction = 0.25\ntrain_samples = 6')
    opened = splits(path, augment=False)
    train, val = opened.datasets["train"], opened.datasets["val"]
    assert (len(train), len(val)) == (6, 5)
    kept = [train.dataset.indices[i] for i in train.indices]  # indices into the whole list
    assert set(kept).isdisjoint(val.indices)
    again = splits(path, augment=False).datasets["train"]
    assert kept == [again.dataset.indices[i] for i in again.indices]  # drawn by the seed
    assert "(train_samples: 6 of 15 kept)" in opened.sources["train"]
    whole = splits(manifest(tmp_path, 'train = "training.txt"\nval_fraction = 0.25'), augment=False)
    assert val.indices == whole.datasets["val"].indices  # the same val as without a limit
    roomy = splits(manifest(tmp_path, 'train = "training.txt"\ntrain_samples = 50'))
    assert len(roomy.datasets["train"]) == 20  # a split already that small is kept whole


def test_train_samples_without_a_training_split_is_a_manifest_error(tmp_path):
    from ifan.errors import ManifestError

    write_mtfl(tmp_path, 4)
    with pytest.raises(ManifestError, match="train_samples limits the training split"):
        load_manifest(manifest(tmp_path, 'test = "training.txt"\ntrain_samples = 2'))
    with pytest.raises(ManifestError, match="train_samples"):
        load_manifest(manifest(tmp_path, 'train = "training.txt"\ntrain_samples = 0'))


def test_carve_draws_by_seed_and_refuses_to_empty_train():
    assert carve(10, 0.3, seed=1) != carve(10, 0.3, seed=2)
    kept, held = carve(10, 0.3, seed=1)
    assert len(held) == 3 and not set(kept) & set(held)
    assert carve(3, 0.01, seed=0)[1].__len__() == 1  # at least one sample
    with pytest.raises(DatasetError, match="leaves none to train on"):
        carve(2, 0.9, seed=0)


def test_val_fraction_with_a_val_split_is_a_manifest_error(tmp_path):
    from ifan.errors import ManifestError

    write_mtfl(tmp_path, 4)
    path = manifest(tmp_path, 'train = "training.txt"\nval = "training.txt"\nval_fraction = 0.5')
    with pytest.raises(ManifestError, match="val_fraction carves val out of train"):
        load_manifest(path)


def test_only_the_training_split_is_augmented_and_it_keeps_room(tmp_path):
    write_mtfl(tmp_path, 4)
    path = manifest(tmp_path, 'train = "training.txt"\ntest = "training.txt"')
    opened = splits(path)
    assert isinstance(opened.augment, BatchAugment)
    assert opened.augment.room == 1.25
    assert opened.datasets["train"][0][0].shape == (3, 40, 40)  # 32 px plus room
    assert opened.datasets["test"][0][0].shape == (3, 32, 32)
    off = splits(manifest(tmp_path, 'train = "training.txt"', "augment = { enabled = false }"))
    assert off.augment is None
    assert off.datasets["train"][0][0].shape == (3, 32, 32)


def test_a_carved_val_split_of_an_augmented_train_holds_plain_crops_of_its_own_samples(tmp_path):
    write_mtfl(tmp_path, 8)
    path = manifest(tmp_path, 'train = "training.txt"\nval_fraction = 0.25')
    plain = splits(path, augment=False)
    for prepare in (False, True):
        roomy = splits(path, prepare=prepare)
        assert roomy.datasets["train"][0][0].shape == (3, 40, 40)  # room for augmentation
        val = roomy.datasets["val"]
        assert len(val) == 2 and val[0][0].shape == (3, 32, 32)
        for i in range(2):
            image = val[i][0]
            image = image.float() / 255 if image.dtype == torch.uint8 else image
            assert torch.allclose(image, plain.datasets["val"][i][0], atol=0.5 / 255 + 1e-6)
    prepared = splits(path, prepare=True).datasets["val"]
    assert len(prepared.images) == 2  # the prepared copy holds the val samples only


def test_training_and_evaluation_keep_their_prepared_copies_side_by_side(tmp_path):
    """Training reads train with room and its carved val plainly; ``ifan eval --split val``
    reads train without room: three copies, none rebuilding another's when they alternate."""
    write_mtfl(tmp_path, 8)
    path = manifest(tmp_path, 'train = "training.txt"\nval_fraction = 0.25')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a rebuild warns
        for _ in range(2):
            splits(path, prepare=True)
            splits(path, prepare=True, splits=["val"], augment=False)


def test_prepared_splits_hold_the_same_samples_as_the_readers(tmp_path):
    write_mtfl(tmp_path, 6)
    path = manifest(tmp_path, 'train = "training.txt"\nval_fraction = 0.5')
    direct, prepared = splits(path), splits(path, prepare=True)
    for split in ("train", "val"):
        base = getattr(prepared.datasets[split], "dataset", prepared.datasets[split])
        assert isinstance(base, PreparedDataset)
        for i in range(len(direct.datasets[split])):
            image, target = direct.datasets[split][i]
            stored, kept = prepared.datasets[split][i]
            assert stored.dtype == torch.uint8
            assert torch.allclose(stored.float() / 255, image, atol=0.5 / 255 + 1e-6)
            assert torch.equal(kept["points"], target["points"])
    assert len(base.header["key"]["records"]) == 64  # a digest of the records and their files


def test_a_changed_photo_rebuilds_the_prepared_split(tmp_path):
    write_mtfl(tmp_path, 3)
    path = manifest(tmp_path, 'train = "training.txt"', "augment = { enabled = false }")
    before = splits(path, prepare=True).datasets["train"]
    first, second = before[0][0], before[1][0]
    Image.new("RGB", (16, 16), (250, 250, 250)).save(tmp_path / "faces" / "1.jpg")
    with pytest.warns(UserWarning, match="the source or the crop rule changed"):
        after = splits(path, prepare=True).datasets["train"]
    assert not torch.equal(second, after[1][0])
    assert torch.equal(first, after[0][0])


def test_ifan_data_reports_counts_labels_and_skips(tmp_path, capsys):
    write_mtfl(tmp_path, 6, BAD_LINES[:2])
    path = manifest(
        tmp_path, 'train = "training.txt"\nval_fraction = 0.5', 'on_bad_sample = "skip"'
    )
    report = tmp_path / "report.json"
    assert main(["data", str(path), "--json", str(report), "--scan"]) == 0
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:5]) for line in out.splitlines()}
    assert ("landmarks", "mtfl", "train", "3", "2") in rows
    assert ("landmarks", "mtfl", "val", "3", "0") in rows
    assert "landmarks: 5 points: left_eye, right_eye, nose, mouth_left, mouth_right" in out
    assert "train: skipped 2 bad samples, e.g." in out
    data = json.loads(report.read_text())
    assert data["landmarks"]["splits"]["train"]["skipped"] == 2
    assert data["landmarks"]["labels"]["kind"] == "points"


def test_ifan_data_scan_finds_images_broken_inside(tmp_path, capsys):
    write_mtfl(tmp_path, 3)
    truncate(tmp_path / "faces" / "2.jpg")
    path = manifest(tmp_path, 'train = "training.txt"', 'on_bad_sample = "skip"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["data", str(path), "--scan"]) == 0
    out = capsys.readouterr().out
    assert "train: skipped 1 bad sample," in out and "2.jpg" in out
    assert main(["data", str(manifest(tmp_path, 'train = "training.txt"')), "--scan"]) == 2


def test_emotion_folder_and_fer_csv_skip_bad_samples(tmp_path):
    from ifan.contract import OpenContext
    from ifan.data.bad_samples import BadSamples
    from ifan_tasks.emotion.task import EmotionTask

    (tmp_path / "happy").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "happy" / "a.png")
    (tmp_path / "happy" / "b.png").write_bytes(b"not an image")
    folder = EmotionTask.format("folder")
    ctx = OpenContext(8, BadSamples("skip"))
    assert len(folder.open(tmp_path, "train", folder.Options(), ctx)) == 1
    assert ctx.bad.count == 1 and "b.png" in ctx.bad.reasons[0]
    csv = tmp_path / "fer.csv"
    csv.write_text(
        "emotion,pixels,Usage\n3," + " ".join(["7"] * 4) + ",Training\n"
        "9," + " ".join(["7"] * 4) + ",Training\n3,1 2 3,Training\n3,1,2,Training\n"
    )
    fer = EmotionTask.format("fer2013-csv")
    ctx = OpenContext(8, BadSamples("skip"))
    assert len(fer.open(csv, "train", fer.Options(), ctx)) == 1
    assert [r.split(": ")[0].rsplit(":", 1)[1] for r in ctx.bad.reasons] == ["3", "4", "5"]
