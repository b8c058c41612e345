"""Synthetic faces: deterministic, disjoint, labels that agree with the pixels, expressions that
show, colours that differ per task, and datasets the built-in readers read via the manifest."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.contract import OpenContext
from ifan.manifest import Manifest, TaskConfig, load_manifest
from ifan_tasks.faces import YuFace
from ifan_tasks.parsing.classes import FASSEG_COLOURS
from ifan_tasks.synthetic.__main__ import main
from ifan_tasks.synthetic.faces import CLASSES, EXPRESSIONS, POINTS
from ifan_tasks.synthetic.writer import SPLITS, TASKS, Face, draw_split, write_datasets

ROOT = Path(__file__).resolve().parents[2]
SIZE = 64
SMALL = {
    "parsing": {"train": 8, "val": 4, "test": 4},
    "landmarks": {"train": 8, "val": 4, "test": 4},
    "emotion": {"train": 12, "val": 4, "test": 4},
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    assert write_datasets(out, seed=0, size=SIZE, counts=SMALL) == SMALL
    return out


@pytest.fixture(scope="module")
def faces() -> list[Face]:
    """Faces of every task (drawn, not written), 21 of each expression."""
    return [face for task in TASKS for face in draw_split(0, task, "train", 28, SIZE)]


def open_split(manifest: Manifest, config: TaskConfig, split: str):
    """The split read by the task's built-in format: the one place that calls ``open``."""
    fmt = config.entry.cls.format(config.data.format)
    ctx = OpenContext(manifest.model.input_size)
    return fmt.open(config.data.splits[split], split, config.data.options, ctx)


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_faces(written, tmp_path):
    write_datasets(tmp_path / "again", seed=0, size=SIZE, counts=SMALL)
    write_datasets(tmp_path / "other", seed=1, size=SIZE, counts=SMALL)
    first, again, other = files(written), files(tmp_path / "again"), files(tmp_path / "other")
    assert len(first) == 2 * 16 + (16 + 3) + 20 + 1  # photos and masks, photos and CSVs, manifest
    assert again == first
    pngs = [name for name in first if name.endswith(".png") and name in other]
    assert len(pngs) >= 40 and all(other[name] != first[name] for name in pngs)
    assert other["landmarks/train.csv"] != first["landmarks/train.csv"]


def test_no_photo_is_shared_between_splits_or_tasks(written):
    photos = [p for p in written.rglob("*.png") if "masks" not in p.parts]
    assert len(photos) == sum(n for splits in SMALL.values() for n in splits.values())
    digests = {hashlib.sha256(np.asarray(Image.open(p)).tobytes()).hexdigest() for p in photos}
    assert len(digests) == len(photos)


def pixels(face: Face, name: str) -> np.ndarray:
    """``N x 2`` (x, y) of the pixels of class ``name``."""
    ys, xs = np.nonzero(face.mask == CLASSES.index(name))
    return np.stack([xs, ys], axis=1).astype(float)


def class_at(face: Face, point: np.ndarray) -> str:
    x, y = np.rint(point).astype(int)
    return CLASSES[face.mask[y, x]]


def test_points_lie_on_their_parts(faces):
    for face in faces:
        left_eye, right_eye, nose, mouth_left, mouth_right = face.points
        assert set(np.unique(face.mask)) == set(range(len(CLASSES)))
        assert (class_at(face, left_eye), class_at(face, right_eye)) == ("left_eye", "right_eye")
        assert class_at(face, nose) == "nose"
        assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        mouth = pixels(face, "mouth")
        axis = (mouth_right - mouth_left) / np.linalg.norm(mouth_right - mouth_left)
        along = (mouth - mouth_left) @ axis
        for corner, end in ((mouth_left, along.min()), (mouth_right, along.max())):
            assert np.linalg.norm(mouth - corner, axis=1).min() <= 1.5
            assert abs((corner - mouth_left) @ axis - end) <= 1.5


def face_frame(face: Face, xy: np.ndarray) -> np.ndarray:
    """Pixel coordinates turned back into the face's upright frame (the face's rotation undone)."""
    cos, sin = np.cos(face.params.angle), np.sin(face.params.angle)
    centre = np.asarray(face.params.centre) * SIZE - 0.5
    return (xy - centre) @ np.array([[cos, -sin], [sin, cos]])


def expression_signs(face: Face) -> tuple[float, float, float, float]:
    """What the expression changes, measured on the mask in pixels: how much the mouth sags below
    its corners, the mouth's height / width, how much higher the brows' inner ends are (slope),
    and the brows' height above the eye centres."""
    mouth = face_frame(face, pixels(face, "mouth"))
    points = face_frame(face, face.points)
    sag = mouth[:, 1].mean() - points[3:, 1].mean()
    height, width = np.ptp(mouth, axis=0)[::-1] + 1
    brows = [face_frame(face, pixels(face, name)) for name in ("left_brow", "right_brow")]
    slopes = [np.polyfit(b[:, 0], b[:, 1], 1)[0] for b in brows]
    gap = np.mean([points[i, 1] - b[:, 1].mean() for i, b in enumerate(brows)])
    return sag, height / width, (slopes[1] - slopes[0]) / 2, gap


def test_expressions_show_in_mouth_and_brows_at_64_pixels(faces):
    for face in faces:
        sag, roundness, inner_raise, gap = expression_signs(face)
        expression = face.params.expression
        assert (sag > 1.0) == (expression == "happy"), (face.name, sag)
        assert (sag < -1.0) == (expression == "sad"), (face.name, sag)
        assert (roundness > 0.7) == (expression == "surprise"), (face.name, roundness)
        assert (inner_raise > 0.085) == (expression == "sad"), (face.name, inner_raise)
        assert (gap > 5.9) == (expression == "surprise"), (face.name, gap)


def test_emotion_classes_are_balanced(written):
    for split, count in SMALL["emotion"].items():
        per_class = [
            len(list((written / "emotion" / split / e).glob("*.png"))) for e in EXPRESSIONS
        ]
        assert sum(per_class) == count and max(per_class) - min(per_class) <= 1
        assert min(per_class) >= 1


def mean_rgb(folder: Path) -> np.ndarray:
    photos = [p for p in folder.rglob("*.png") if "masks" not in p.parts]
    return np.mean(
        [np.asarray(Image.open(p).convert("RGB"), float).mean((0, 1)) for p in photos], 0
    )


def test_each_task_has_its_own_colours(written):
    means = {task: mean_rgb(written / task / "train") for task in TASKS}
    for a, b in itertools.combinations(TASKS, 2):
        assert np.linalg.norm(means[a] - means[b]) > 30, (a, b, means[a], means[b])
    assert means["parsing"].mean() > means["landmarks"].mean() + 40  # light vs dark
    emotion = np.asarray(Image.open(next((written / "emotion" / "train").rglob("*.png"))))
    assert emotion.ndim == 3 and (emotion[..., 0] == emotion[..., 2]).all()  # grey


def test_builtin_readers_read_the_manifest(written):
    manifest = load_manifest(written / "manifest.toml")
    assert manifest.warnings == [] and manifest.model.input_size == SIZE
    assert list(manifest.tasks) == list(TASKS)
    labels = {name: config.build_task().labels.names for name, config in manifest.tasks.items()}
    assert labels == {"parsing": CLASSES, "landmarks": POINTS, "emotion": EXPRESSIONS}
    for name, config in manifest.tasks.items():
        for split in SPLITS:
            data = open_split(manifest, config, split)
            assert len(data) == SMALL[name][split], (name, split)
        image = data[0][0]
        assert image.shape == (3, SIZE, SIZE) and image.dtype == torch.float32
        assert float(image.min()) >= 0 and float(image.max()) <= 1


def test_read_targets_match_what_was_drawn(written):
    manifest = load_manifest(written / "manifest.toml")
    drawn = {task: next(draw_split(0, task, "test", 1, SIZE)) for task in TASKS}
    parsing = open_split(manifest, manifest.tasks["parsing"], "test")[0][1]
    assert torch.equal(parsing["mask"], torch.from_numpy(drawn["parsing"].mask.astype(np.int64)))
    landmarks = open_split(manifest, manifest.tasks["landmarks"], "test")[0][1]
    # No detector in this context: the crop is the square around the points, so compare shapes
    # (every point's offset from the first, in inter-ocular distances).
    expected = torch.tensor(drawn["landmarks"].points, dtype=torch.float32)

    def shape(points):
        return (points - points[0]) / (points[1] - points[0]).norm()

    assert torch.allclose(shape(landmarks["points"]), shape(expected), atol=1e-3)
    emotion = open_split(manifest, manifest.tasks["emotion"], "test")[0][1]
    assert int(emotion["label"]) == EXPRESSIONS.index(drawn["emotion"].params.expression)


def test_cli_writes_summarises_and_keeps_old_data_unless_told(tmp_path, capsys):
    out = tmp_path / "faces"
    assert main([str(out), "--scale", "0.02", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("parsing: 3 train, 1 val, 1 test faces of 64 px, format mask-folder")
    assert lines[1].startswith("landmarks: 6 train, 1 val, 1 test")
    assert lines[2].startswith("emotion: 6 train, 1 val, 1 test")
    assert len(list((out / "landmarks" / "train" / "images").glob("*.png"))) == 6
    assert main([str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([str(out), "--scale", "0.01", "--overwrite"]) == 0
    assert len(list((out / "landmarks" / "train" / "images").glob("*.png"))) == 3


@pytest.mark.parametrize(
    "counts", [{"parsing": {"train": 0}}, {"faces": {"train": 1}}, {"emotion": {"dev": 1}}]
)
def test_bad_counts_are_refused(tmp_path, counts):
    with pytest.raises(ValueError, match="counts"):
        write_datasets(tmp_path, counts=counts)
    assert not any(tmp_path.iterdir())


def test_real_layout_is_read_by_the_real_formats_quirks_included(tmp_path, capsys):
    """``--layout real`` writes what ``examples/real-3task.toml`` reads from ``../shared/data``."""
    assert main([str(tmp_path), "--layout", "real", "--scale", "0.25"]) == 0
    assert "make real DATA=" in capsys.readouterr().out
    raw = (tmp_path / "mtfl" / "training.txt").read_bytes()
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"lfw_5590\\00000.jpg ") and lines[1].startswith(b" lfw_5590\\")
    assert len(lines) == 15 + 1 and lines[-1] == b""  # 15 faces, CRLF after each
    manifest = load_manifest(
        ROOT / "examples" / "real-3task.toml",
        [
            f"tasks.parsing.data.train={tmp_path}/fasseg/V2/Train_RGB",
            f"tasks.landmarks.data.train={tmp_path}/mtfl/training.txt",
            f"tasks.emotion.data.train={tmp_path}/fer2013/train",
            f"tasks.emotion.data.test={tmp_path}/fer2013/test",
            "model.input_size=32",
        ],
    )
    counts = {
        name: len(open_split(manifest, config, "train")) for name, config in manifest.tasks.items()
    }
    assert counts == {"parsing": 5, "landmarks": 15, "emotion": 20}
    assert len(open_split(manifest, manifest.tasks["emotion"], "test")) == 10
    label = np.asarray(Image.open(tmp_path / "fasseg" / "V2" / "Train_Labels" / "1.png"))
    colours = {tuple(c) for c in label.reshape(-1, 3)}
    assert colours <= set(FASSEG_COLOURS.values()) and len(colours) == 6
    recipe = load_manifest(
        ROOT / "examples" / "faces3-cpu.toml",
        [f"tasks.parsing.data.train={tmp_path}/fasseg/V3/Train_RGB", "model.input_size=32"],
    )
    assert len(open_split(recipe, recipe.tasks["parsing"], "train")) == 5  # V3's yaw folders
    grey = Image.open(next((tmp_path / "fer2013" / "test").rglob("PublicTest_*.jpg")))
    assert grey.mode == "L" and grey.size == (48, 48)
    assert YuFace().detect(Image.open(tmp_path / "faces" / "drawn.jpg").convert("RGB"))
    ages = sorted((tmp_path / "utkface" / "crop_part1").glob("*_*_*_2017*.jpg.chip.jpg"))
    assert len(ages) == 10 and all(len(p.name.split("_")[3].split(".")[0]) == 17 for p in ages)
