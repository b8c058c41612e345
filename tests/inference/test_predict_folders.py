"""``ifan predict RUN FOLDER`` and ``Predictor.predict_folder``: a folder tree walked for photos,
the outputs mirroring it under ``--out``, other and unreadable files skipped with their reasons,
and the summary that ends the output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ifan
from ifan.cli.main import main
from ifan.data.images import _heif_registered, load_rgb
from ifan.errors import IfanError
from ifan.inputs import find_inputs
from ifan.photos import read_photo
from ifan_tasks.synthetic.writer import TASKS


@pytest.fixture
def tree(data: Path, tmp_path: Path) -> Path:
    """``photos/``: three faces in nested folders (two of one name, one with an upper-case
    suffix), a text file, a video, a file that is no image and a JPEG cut short."""
    faces = sorted((data / "emotion" / "test").rglob("*.png"))
    root = tmp_path / "photos"
    for name, face in zip(("a/x.png", "b/x.png", "b/c/y.JPG"), faces, strict=False):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.open(face).convert("RGB").save(root / name, format="PNG" if "png" in name else "JPEG")
    (root / "notes.txt").write_text("not a photo\n")
    (root / "b" / "clip.mp4").write_bytes(b"never read")
    (root / "broken.png").write_bytes(b"no image inside")
    whole = (root / "b" / "c" / "y.JPG").read_bytes()
    (root / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    return root


def predict(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["predict", *argv, "--device", "cpu", "--no-detect"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_folder_tree_is_mirrored_and_every_skip_says_why(capsys, run_dir, tree, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = predict(capsys, str(run_dir), str(tree), "--out", str(out))
    assert code == 0, err
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [
        "a/x.json",
        "a/x.png",
        "b/c/y.json",
        "b/c/y.png",
        "b/x.json",
        "b/x.png",
    ]
    for name, photo in (("a/x", "a/x.png"), ("b/x", "b/x.png"), ("b/c/y", "b/c/y.JPG")):
        result = json.loads((out / f"{name}.json").read_text())
        assert result["image"] == str(tree / photo)
        assert set(result["faces"][0]["tasks"]) == set(TASKS)
        assert f"{tree / photo}: whole photo; {out / name}.json, {out / name}.png" in stdout
    summary = stdout[stdout.index("predicted 3") :].splitlines()
    assert summary[:5] == [
        "predicted 3 photo(s) with 3 face(s)",
        "skipped 4 file(s):",
        f"  {tree / 'notes.txt'}: not a photo (.txt)",
        f"  {tree / 'b' / 'clip.mp4'}: a video: name it to predict its frames",
        f"  {tree / 'broken.png'}: not a readable image (cannot identify image file "
        f"'{tree / 'broken.png'}')",
    ]
    assert summary[5].startswith(f"  {tree / 'cut.jpg'}: not a readable image (Truncated")
    assert len(summary) == 6


def test_files_of_one_name_are_grouped_in_the_summary(capsys, run_dir, data, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("1.txt", "2.txt", "3.txt", "4.txt"):
        (photos / name).write_text("text")
    Image.open(next((data / "emotion" / "test").rglob("*.png"))).save(photos / "face.png")
    code, stdout, _ = predict(capsys, str(run_dir), str(photos), "--out", str(tmp_path / "out"))
    assert code == 0
    assert stdout.endswith(
        "skipped 4 file(s):\n  4 files, not a photo (.txt): "
        f"{photos / '1.txt'}, {photos / '2.txt'}, {photos / '3.txt'}, ...\n"
    )


def test_nothing_readable_exits_1_with_the_summary(capsys, run_dir, tmp_path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "broken.png").write_bytes(b"no image inside")
    code, stdout, _ = predict(capsys, str(run_dir), str(photos), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "predicted 0 photo(s) with 0 face(s)\nskipped 1 file(s):\n" in stdout


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("one name in two folders", "would both be written as {out}/x.*: rename one, or predict "),
        ("out is the photos' folder", "{photos}/x.png would overwrite an input photo or video"),
        ("no photo", "no photo or video to predict in {photos}: a folder's photos are found"),
        ("missing", "{photos}/nope: no such file or folder"),
        ("named unreadable photo", "{photos}/notes.txt is not a readable image"),
    ],
)
def test_bad_inputs_are_refused_before_the_network_loads(
    capsys, run_dir, data, tmp_path, monkeypatch, case, message
) -> None:
    photos, other, out = tmp_path / "photos", tmp_path / "other", tmp_path / "out"
    photos.mkdir()
    other.mkdir()
    face = next((data / "emotion" / "test").rglob("*.png"))
    (photos / "notes.txt").write_text("text")
    argv = {
        "one name in two folders": [str(photos), str(other)],
        "out is the photos' folder": [str(photos)],
        "no photo": [str(photos)],
        "missing": [str(photos / "nope")],
        "named unreadable photo": [str(photos / "notes.txt")],
    }[case]
    if case in ("one name in two folders", "out is the photos' folder"):
        Image.open(face).save(photos / "x.png")
        Image.open(face).save(other / "x.png")
    if case == "out is the photos' folder":
        out = photos
    monkeypatch.setattr("ifan.inference.load", lambda *a, **k: pytest.fail("network loaded"))
    code, _, err = predict(capsys, str(run_dir), *argv, "--out", str(out))
    assert code == 2
    assert err.startswith("error: ") and message.format(out=out, photos=photos) in err


def test_predict_folder_in_python_matches_one_photo_at_a_time(run_dir, tree) -> None:
    predictor = ifan.load(run_dir, device="cpu")
    run = predictor.predict_folder(tree, batch_size=2, detect=False)
    results = list(run)
    assert [str(file.name) for file, _ in results] == ["a/x", "b/x", "b/c/y"]
    assert (run.predicted, run.faces, run.done) == (3, 3, 5)
    assert [(s.path.name, s.reason.split(" (")[0]) for s in run.skipped] == [
        ("notes.txt", "not a photo"),
        ("clip.mp4", "a video: name it to predict its frames"),
        ("broken.png", "not a readable image"),
        ("cut.jpg", "not a readable image"),
    ]
    for file, prediction in results:
        alone = predictor.predict(file.path, detect=False)
        assert prediction.to_json()["image"] == str(file.path)
        emotion = prediction.tasks["emotion"].raw
        assert emotion.allclose(alone.tasks["emotion"].raw, atol=1e-5)
    with pytest.raises(IfanError, match="is a video: predict its frames with predict_video"):
        predictor.predict_folder(tree / "b" / "clip.mp4")


def test_named_files_keep_their_stem_and_videos_are_told_apart(tree) -> None:
    found = find_inputs([tree / "a" / "x.png", tree / "b" / "clip.mp4", tree / "b" / "c"])
    assert [(str(f.path.relative_to(tree)), str(f.name)) for f in found.photos] == [
        ("a/x.png", "x"),
        ("b/c/y.JPG", "y"),
    ]
    assert [str(f.name) for f in found.videos] == ["clip"] and found.skipped == []


def test_overlays_are_written_at_the_fastest_png_level(capsys, run_dir, tree, tmp_path):
    out = tmp_path / "out"
    code, _, err = predict(capsys, str(run_dir), str(tree / "a"), "--out", str(out))
    assert code == 0, err
    png = (out / "x.png").read_bytes()
    idat = png.index(b"IDAT") + 4  # the zlib stream's header follows the chunk's type
    assert png[idat] & 0x0F == 8  # deflate
    assert png[idat + 1] >> 6 == 0  # FLEVEL 0: "fastest" (levels 0 and 1); Pillow's default is 2
    with Image.open(out / "x.png") as overlay:  # the photo, its faces' panels beside it
        assert overlay.height >= 32 and overlay.width > 32
        assert overlay.convert("RGB").getextrema() != ((0, 0), (0, 0), (0, 0))


def sideways_with_exif(upright: Image.Image, path: Path) -> Path:
    """``upright`` stored as a phone stores a portrait photo: turned a quarter to the left, with
    EXIF orientation 6 ("turn 90 degrees clockwise to show")."""
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=100)
    return path


def test_a_phone_photo_is_predicted_upright_as_viewers_show_it(capsys, run_dir, data, tmp_path):
    face = sorted((data / "emotion" / "test").rglob("*.png"))[0]
    upright = Image.open(face).convert("RGB").resize((40, 64))  # taller than wide
    photo = sideways_with_exif(upright, tmp_path / "phone.jpg")
    with Image.open(photo) as stored:
        assert stored.size == (64, 40)  # stored sideways
    read = read_photo(photo)
    assert isinstance(read, Image.Image)
    assert read.size == (40, 64)
    difference = np.abs(np.asarray(read, np.int16) - np.asarray(upright, np.int16))
    assert difference.mean() < 3  # JPEG at quality 100
    out = tmp_path / "out"
    code, _, err = predict(capsys, str(run_dir), str(photo), "--out", str(out))
    assert code == 0, err
    result = json.loads((out / "phone.json").read_text())
    assert (result["width"], result["height"]) == (40, 64)
    predictor = ifan.load(run_dir, "cpu")
    by_path = predictor.predict(photo, detect=False).to_json()
    by_image = predictor.predict(read, detect=False).to_json()
    assert by_path["faces"] == by_image["faces"]


def test_a_heif_photo_is_read_with_pillow_heif_and_named_without_it(
    capsys, run_dir, data, tmp_path, monkeypatch
):
    pillow_heif = pytest.importorskip("pillow_heif")  # in the test extra: CI has it
    pillow_heif.register_heif_opener()
    face = sorted((data / "emotion" / "test").rglob("*.png"))[0]
    folder = tmp_path / "phone"
    folder.mkdir()
    Image.open(face).convert("RGB").save(folder / "IMG_0001.HEIC", quality=95)
    assert [p.path.name for p in find_inputs([folder]).photos] == ["IMG_0001.HEIC"]
    read = read_photo(folder / "IMG_0001.HEIC")
    assert isinstance(read, Image.Image) and read.size == Image.open(face).size
    out = tmp_path / "out"
    code, _, err = predict(capsys, str(run_dir), str(folder), "--out", str(out))
    assert code == 0, err
    assert json.loads((out / "IMG_0001.json").read_text())["width"] == read.width
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if not installed
    _heif_registered.cache_clear()
    try:
        reason = read_photo(folder / "IMG_0001.HEIC")
        assert isinstance(reason, str) and "pip install 'ifan[heif]'" in reason
        needs = r"IMG_0001\.HEIC: a HEIF photo.*pip install 'ifan\[heif\]'"
        with pytest.raises(IfanError, match=needs):
            load_rgb(folder / "IMG_0001.HEIC")
    finally:
        _heif_registered.cache_clear()  # found again by the tests after this one, pass or fail
