"""Prepared datasets: round trip, skipped samples, reuse, rebuilds, atomic and concurrent builds."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import time
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.data.prepared import FORMAT_VERSION, PreparedDataset, prepare

KEY = {"files": [["a.jpg", 123, 1.5]], "size": 16, "reader": 1}
N = 20


class Faces(Dataset):
    """``N`` random 3 x 16 x 16 faces with a class label, 5 points and a mask whose shape varies;
    counts its loads (and appends one line a load to ``log``, across processes)."""

    def __init__(self, n=N, bad=(), log=None, delay=0.0, die_at=None, uint8=False):
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(n, 3, 16, 16, generator=generator)
        self.points = torch.randn(n, 5, 2, generator=generator)
        self.bad, self.log, self.delay, self.die_at, self.uint8 = (
            set(bad),
            log,
            delay,
            die_at,
            uint8,
        )
        self.loads = 0

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        self.loads += 1
        if self.log is not None:
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()} {index}\n")
        if index == self.die_at:
            os._exit(3)  # a process killed mid-build: no cleanup runs
        time.sleep(self.delay)
        if index in self.bad:
            raise DatasetError(f"face{index}.jpg: not a readable image")
        image = self.images[index]
        if self.uint8:
            image = (image * 255).round().to(torch.uint8)
        return image, target_of(self, index)


def target_of(faces, index):
    mask = torch.full((4 + index % 3, 5 + index % 2), index, dtype=torch.uint8)
    return {"label": torch.tensor(index % 7), "points": faces.points[index], "mask": mask}


def contents(data):
    """Every sample of ``data`` as plain arrays, for comparing two prepared copies."""
    return [
        (image.numpy(), {k: v.numpy() for k, v in target.items()})
        for image, target in (data[i] for i in range(len(data)))
    ]


def assert_same(a, b):
    assert len(a) == len(b)
    for (image_a, target_a), (image_b, target_b) in zip(a, b, strict=True):
        np.testing.assert_array_equal(image_a, image_b)
        assert target_a.keys() == target_b.keys()
        for k in target_a:
            assert target_a[k].dtype == target_b[k].dtype
            np.testing.assert_array_equal(target_a[k], target_b[k])


def build_quietly(faces, folder, key=KEY, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a first build or a reuse warns about nothing
        return prepare(faces, folder, key, progress=None, **kwargs)


def test_round_trip_keeps_images_targets_and_ragged_shapes(tmp_path):
    faces = Faces()
    data = build_quietly(faces, tmp_path / "train")
    assert len(data) == N and faces.loads == N
    assert data.skipped == [] and data.source_index.tolist() == list(range(N))
    info = data.header["targets"]
    assert [info[k]["ragged"] for k in ("label", "points", "mask")] == [False, False, True]
    for i in range(N):
        image, target = data[i]
        assert image.dtype == torch.uint8 and image.shape == (3, 16, 16)
        assert (image.float() / 255 - faces.images[i]).abs().max() <= 0.5 / 255 + 1e-6
        expected = target_of(faces, i)
        assert target.keys() == expected.keys()
        for k, value in expected.items():
            assert target[k].dtype == value.dtype and target[k].shape == value.shape
            assert torch.equal(target[k], value)
    assert data[-1][1]["label"].item() == (N - 1) % 7
    with pytest.raises(IndexError, match="out of range"):
        data[N]


def test_uint8_images_are_stored_exactly(tmp_path):
    faces = Faces(n=4, uint8=True)
    data = build_quietly(faces, tmp_path / "train")
    for i in range(4):
        assert torch.equal(data[i][0], (faces.images[i] * 255).round().to(torch.uint8))


def test_a_bad_sample_is_skipped_and_indices_map_back_to_the_source(tmp_path):
    faces = Faces(bad={3, 11})
    data = build_quietly(faces, tmp_path / "train")
    assert len(data) == N - 2
    assert data.source_index.dtype == np.int64
    assert data.source_index.tolist() == [i for i in range(N) if i not in {3, 11}]
    assert data.skipped == [
        "face3.jpg: not a readable image",
        "face11.jpg: not a readable image",
    ]
    assert data[3][1]["label"].item() == 4 % 7 and data[3][1]["mask"].shape == (5, 5)


def test_a_record_dataset_is_read_raw_not_with_its_substitutes(tmp_path):
    faces = Faces(bad={2})
    records = RecordDataset(list(range(6)), faces.__getitem__, BadSamples("skip"))
    data = build_quietly(records, tmp_path / "train")
    assert data.source_index.tolist() == [0, 1, 3, 4, 5]
    assert data.skipped == ["face2.jpg: not a readable image"]


def test_every_sample_bad_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match=r"every one of the 3 samples.*face2\.jpg"):
        prepare(Faces(n=3, bad={0, 1, 2}), tmp_path / "train", KEY, progress=None)
    assert not (tmp_path / "train").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["train.lock"]


def test_reopens_without_rebuilding_when_the_key_is_equal(tmp_path):
    first = build_quietly(Faces(), tmp_path / "train")
    faces = Faces()
    again = build_quietly(faces, tmp_path / "train", key=json.loads(json.dumps(KEY)))
    assert faces.loads == 0
    assert again.build_id == first.build_id
    assert_same(contents(again), contents(first))


def test_rebuilds_when_the_key_differs(tmp_path):
    first = build_quietly(Faces(), tmp_path / "train")
    faces = Faces(n=5)
    with pytest.warns(UserWarning, match=r"train is rebuilt: the source or the crop rule changed"):
        data = prepare(faces, tmp_path / "train", {**KEY, "size": 32}, progress=None)
    assert faces.loads == 5 and len(data) == 5
    assert data.build_id != first.build_id
    assert data.header["key"]["size"] == 32


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            lambda f: os.truncate(f / "images.u8", 20 * 16 * 16 * 3 - 5),
            r"images\.u8 is 15355 bytes",
        ),
        (lambda f: os.truncate(f / "points.bin", 8), r"points\.bin is 8 bytes, expected 800"),
        (lambda f: (f / "mask.bin").unlink(), r"mask\.bin is missing"),
        (
            lambda f: (f / "header.json").write_text("{garbage"),
            r"header\.json is not readable JSON",
        ),
        (lambda f: (f / "header.json").unlink(), r"header\.json is missing"),
    ],
)
def test_rebuilds_a_damaged_folder_and_names_what_is_wrong(tmp_path, damage, reason):
    folder = tmp_path / "train"
    build_quietly(Faces(), folder)
    damage(folder)
    faces = Faces()
    with pytest.warns(UserWarning, match=rf"{folder} is rebuilt: {reason}"):
        data = prepare(faces, folder, KEY, progress=None)
    assert faces.loads == N
    assert_same(contents(data), contents(build_quietly(Faces(), tmp_path / "fresh")))


def test_rebuilds_a_folder_of_another_format_version(tmp_path):
    folder = tmp_path / "train"
    build_quietly(Faces(), folder)
    header = json.loads((folder / "header.json").read_text())
    header["format"] = FORMAT_VERSION + 1
    (folder / "header.json").write_text(json.dumps(header))
    faces = Faces()
    with pytest.warns(UserWarning, match=rf"format version {FORMAT_VERSION + 1}, this ifan reads"):
        data = prepare(faces, folder, KEY, progress=None)
    assert faces.loads == N and data.header["format"] == FORMAT_VERSION


def test_opening_a_damaged_folder_directly_is_an_error(tmp_path):
    folder = tmp_path / "train"
    build_quietly(Faces(), folder)
    os.truncate(folder / "mask.bin", 3)
    with pytest.raises(DatasetError, match=r"mask\.bin is 3 bytes.*prepare it again"):
        PreparedDataset(folder)


def build_and_die(folder, key):
    prepare(Faces(die_at=10), folder, key, progress=None)


def test_a_build_killed_midway_leaves_the_old_copy_and_its_leftovers_are_removed(tmp_path):
    folder = tmp_path / "train"
    old = build_quietly(Faces(), folder)
    child = multiprocessing.get_context("fork").Process(
        target=build_and_die, args=(folder, {**KEY, "size": 32})
    )
    child.start()
    child.join(30)
    assert child.exitcode == 3
    leftovers = list(tmp_path.glob(".train.tmp-*"))
    assert len(leftovers) == 1 and (leftovers[0] / "images.u8").exists()
    faces = Faces()
    data = build_quietly(faces, folder)  # the old copy is whole, and still the right one
    assert faces.loads == 0 and data.build_id == old.build_id
    assert not list(tmp_path.glob(".train.*"))


def test_a_build_killed_between_its_renames_is_rebuilt(tmp_path):
    folder = tmp_path / "train"
    build_quietly(Faces(), folder)
    os.rename(folder, tmp_path / ".train.old-99999")  # the old copy moved away, the new not in
    (tmp_path / ".train.tmp-99999").mkdir()
    (tmp_path / ".train.tmp-99999" / "images.u8").write_bytes(b"half")
    faces = Faces()
    data = build_quietly(faces, folder)
    assert faces.loads == N and len(data) == N
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train", "train.lock"]


def test_does_not_replace_a_folder_that_holds_other_files(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "face.jpg").write_bytes(b"mine")
    with pytest.raises(
        DatasetError, match=r"photos: expected a prepared dataset folder.*face\.jpg"
    ):
        prepare(Faces(), folder, KEY, progress=None)
    assert (folder / "face.jpg").read_bytes() == b"mine"


class Broken(Dataset):
    def __init__(self, sample):
        self.sample = sample

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return self.sample(index)


@pytest.mark.parametrize(
    ("sample", "error", "message"),
    [
        (
            lambda i: (torch.rand(3, 16 + 8 * i, 16 + 8 * i), {}),
            ValueError,
            r"sample 1: the image is 24 px.*16 px",
        ),
        (lambda i: (torch.rand(3, 16, 16), {"label": 3}), TypeError, r"sample 0: target 'label'"),
        (lambda i: (torch.rand(3, 16, 16), {"a": {"b": torch.ones(1)}}), TypeError, r"'a' is"),
        (lambda i: (torch.rand(16, 16, 3), {}), ValueError, r"sample 0: expected a 3 x P x P"),
        (
            lambda i: (
                torch.rand(3, 16, 16),
                {"x": torch.ones(1, dtype=torch.int32 if i else torch.int64)},
            ),
            TypeError,
            r"sample 1: target 'x' is int32",
        ),
    ],
)
def test_samples_of_the_wrong_form_are_errors_that_name_them(tmp_path, sample, error, message):
    with pytest.raises(error, match=message):
        prepare(Broken(sample), tmp_path / "train", KEY, progress=None)
    assert not list(tmp_path.glob(".train*")) and not (tmp_path / "train").exists()


def test_workers_give_the_same_copy_as_one_process(tmp_path):
    serial = build_quietly(Faces(n=8, bad={5}), tmp_path / "serial")
    parallel = build_quietly(Faces(n=8, bad={5}), tmp_path / "parallel", workers=2)
    assert_same(contents(parallel), contents(serial))
    for name in ("images.u8", "source_index.i64", "label.bin", "points.bin", "mask.bin"):
        assert (tmp_path / "serial" / name).read_bytes() == (
            tmp_path / "parallel" / name
        ).read_bytes()
    drop = {"build"}
    header = {k: v for k, v in serial.header.items() if k not in drop}
    assert header == {k: v for k, v in parallel.header.items() if k not in drop}


def prepare_in_turn(folder, log, barrier, out):
    barrier.wait()
    data = prepare(Faces(log=log, delay=0.005), folder, KEY, progress=None)
    with open(out, "wb") as f:
        pickle.dump((data.build_id, contents(data)), f)


@pytest.mark.slow
def test_two_processes_preparing_at_once_build_once_and_read_the_same(tmp_path):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    log, folder = tmp_path / "loads.txt", tmp_path / "train"
    outs = [tmp_path / f"out{rank}.pkl" for rank in range(2)]
    ranks = [
        context.Process(target=prepare_in_turn, args=(folder, log, barrier, out)) for out in outs
    ]
    for rank in ranks:
        rank.start()
    for rank in ranks:
        rank.join(60)
    assert [rank.exitcode for rank in ranks] == [0, 0]
    loads = log.read_text().splitlines()
    assert len(loads) == N and len({line.split()[0] for line in loads}) == 1  # one builder
    (id_a, data_a), (id_b, data_b) = (pickle.loads(out.read_bytes()) for out in outs)
    assert id_a == id_b
    assert_same(data_a, data_b)
    assert_same(data_a, contents(build_quietly(Faces(), tmp_path / "here")))


def test_batch_equals_stacked_items(tmp_path):
    data = build_quietly(Faces(), tmp_path / "train")
    indices = [3, 0, 7, 7, -1]
    images, target = data.batch(indices)
    items = [data[i] for i in indices]
    assert images.dtype == torch.uint8 and images.shape == (5, 3, 16, 16)
    assert torch.equal(images, torch.stack([image for image, _ in items]))
    for k in ("label", "points"):
        assert torch.equal(target[k], torch.stack([t[k] for _, t in items]))
    assert isinstance(target["mask"], list)
    assert [m.shape for m in target["mask"]] == [t["mask"].shape for _, t in items]
    assert all(torch.equal(m, t["mask"]) for m, (_, t) in zip(target["mask"], items, strict=True))
    assert data.images.shape == (N, 16, 16, 3) and isinstance(data.images, np.memmap)
    with pytest.raises(IndexError, match="index 20 is out of range"):
        data.batch([1, 20])


def test_items_are_writable_copies_independent_of_the_map(tmp_path):
    data = build_quietly(Faces(), tmp_path / "train")
    image, target = data[2]
    image.zero_()
    target["mask"].zero_()
    assert data[2][0].sum() > 0 and data[2][1]["mask"].sum() > 0


def test_a_pickled_copy_opens_its_own_maps_and_reads_the_same(tmp_path):
    data = build_quietly(Faces(), tmp_path / "train")
    before = contents(data)  # opens the maps
    payload = pickle.dumps(data)
    assert len(payload) < 10_000  # a path and a header, no pixels
    copy = pickle.loads(payload)
    assert copy._arrays is None
    assert_same(contents(copy), before)
    assert copy.source_index.tolist() == list(range(N))


def test_a_copy_opened_after_a_rebuild_refuses_to_mix_builds(tmp_path):
    data = build_quietly(Faces(), tmp_path / "train")
    copy = pickle.loads(pickle.dumps(data))
    with pytest.warns(UserWarning, match="crop rule changed"):
        prepare(Faces(n=4), tmp_path / "train", {**KEY, "size": 8}, progress=None)
    with pytest.raises(DatasetError, match="rebuilt or removed by another process"):
        copy[0]
