"""``ifan predict --table``: one CSV row per face, the JSON flattened by fixed rules."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from ifan.cli.main import main
from ifan.face_table import face_rows, flatten, write_table


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_objects_join_by_dots_points_and_boxes_get_names_and_long_lists_stay_out():
    row: dict = {}
    flatten(
        {
            "box": [1, 2, 3, 4],
            "points": {"nose": [5.5, 6.5]},
            "triple": [7, 8, 9],
            "label": "happy",
            "flag": True,
            "mask": {"runs": list(range(40)), "encoding": "rle"},
            "classes": ["a", "b"],
            "mixed": [1, "x"],
        },
        "",
        row,
    )
    assert row == {
        "box.x0": 1, "box.y0": 2, "box.x1": 3, "box.y1": 4,
        "points.nose.x": 5.5, "points.nose.y": 6.5,
        "triple.0": 7, "triple.1": 8, "triple.2": 9,
        "label": "happy", "flag": True, "mask.encoding": "rle",
    }  # fmt: skip


def test_a_row_per_face_with_the_photos_fields_and_the_tasks_under_their_names(tmp_path):
    record = {
        "image": "a.jpg", "width": 10, "height": 8, "detector": "yuface",
        "faces": [
            {"box": [0, 0, 4, 4], "score": 0.9, "tasks": {"emotion": {"label": "sad"}}},
            {"box": [5, 5, 9, 9], "score": 0.5, "tasks": {"emotion": {"label": "happy"}}},
        ],
    }  # fmt: skip
    rows = face_rows(record, video="v.mp4")
    assert [(r["video"], r["image"], r["face"], r["emotion.label"]) for r in rows] == [
        ("v.mp4", "a.jpg", 1, "sad"),
        ("v.mp4", "a.jpg", 2, "happy"),
    ]
    rows[1]["note"] = "only here"
    assert write_table(rows, tmp_path / "t.csv") == 2
    read = read_csv(tmp_path / "t.csv")
    assert list(read[0])[:4] == ["video", "image", "width", "height"]
    assert (read[0]["note"], read[1]["note"], read[1]["box.x1"]) == ("", "only here", "9")


def test_predict_writes_the_table_of_every_face_of_photos_and_video_frames(
    capsys, run_dir, data: Path, tmp_path
):
    av = pytest.importorskip("av")  # the video extra; CI has it
    faces = sorted((data / "emotion" / "test").rglob("*.png"))[:2]
    video = tmp_path / "clip.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for face in faces:
            frame = av.VideoFrame.from_image(Image.open(face).convert("RGB").resize((32, 32)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    out, table = tmp_path / "out", tmp_path / "faces.csv"
    argv = [str(run_dir), *map(str, faces), str(video), "--out", str(out), "--table", str(table)]
    code = main(["predict", *argv, "--device", "cpu", "--no-detect"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"table: {table} (4 face(s), one a row)" in captured.out
    rows = read_csv(table)
    assert [r["image"] or r["video"] for r in rows] == [*map(str, faces), str(video), str(video)]
    assert [r["frame"] for r in rows] == ["", "", "0", "1"]
    photo = json.loads((out / f"{faces[0].stem}.json").read_text())
    task = photo["faces"][0]["tasks"]["emotion"]
    assert rows[0]["emotion.label"] == task["label"]
    assert float(rows[0]["emotion.score"]) == task["score"]
    assert float(rows[0]["box.x1"]) == photo["faces"][0]["box"][2]
