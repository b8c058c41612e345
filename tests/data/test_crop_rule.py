"""The crop rule: the box a detected face gets, alignment, detection of small photos, which face
an annotation takes, the fallback, and the cache of detections."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.data.crop import CropRule, detect_faces, face_crop
from ifan.data.face_boxes import BoxCache, FaceHint, FaceLocator
from ifan.data.images import Box, crop_square, uncrop
from ifan.detection import FaceBox


class Recorder:
    """A detector returning fixed faces (in the pixels of the image it is given) and recording
    the sizes of the images it saw."""

    name = "recorder"
    version = "1"

    def __init__(self, faces=None):
        self.faces = faces if faces is not None else []
        self.seen: list[tuple[int, int]] = []

    def detect(self, image):
        self.seen.append(image.size)
        return list(self.faces)


def test_the_crop_is_a_square_on_the_box_enlarged_by_the_margin():
    face = FaceBox(10, 20, 50, 80, 0.9)  # 40 x 60: the larger extent is 60
    box = face_crop(face, CropRule(margin=0.25))
    assert (box.x0, box.y0, box.side, box.angle) == (-15, 5, 90, 0.0)
    assert face_crop(face, CropRule(margin=0)).side == 60


def test_alignment_levels_the_eyes():
    face = FaceBox(0, 0, 100, 100, 0.9, eyes=((30.0, 40.0), (70.0, 60.0)))
    box = face_crop(face, CropRule(align=True))
    assert box.angle == pytest.approx(math.degrees(math.atan2(20, 40)))
    eyes = box.to_crop(torch.tensor([[30.0, 40.0], [70.0, 60.0]]))
    assert float(eyes[0, 1]) == pytest.approx(float(eyes[1, 1]), abs=1e-5)  # level in the crop
    assert face_crop(face, CropRule(align=False)).angle == 0.0
    assert face_crop(FaceBox(0, 0, 10, 10, 1.0), CropRule(align=True)).angle == 0.0  # no eyes


def test_a_turned_crop_maps_points_both_ways_and_puts_pixels_where_to_crop_says():
    box = Box(20, 20, 60, 30.0)
    points = torch.tensor([[35.0, 44.0], [70.5, 40.5]])
    assert torch.allclose(box.from_crop(box.to_crop(points)), points, atol=1e-4)
    photo = Image.new("RGB", (100, 100))
    photo.putpixel((70, 40), (255, 255, 255))
    crop = np.asarray(crop_square(photo, box, 60)).sum(axis=2)
    y, x = np.unravel_index(crop.argmax(), crop.shape)
    expected = box.to_crop(torch.tensor([[70.5, 40.5]]))[0] * 60  # the pixel's centre
    assert abs(x + 0.5 - float(expected[0])) <= 1 and abs(y + 0.5 - float(expected[1])) <= 1
    # uncrop of a turned box puts the crop's values back where they came from
    maps = torch.from_numpy(crop.astype(np.float32))[None]
    back = uncrop(maps, box, 100, 100)[0]
    assert int(back.argmax()) // 100 in (39, 40, 41) and int(back.argmax()) % 100 in (69, 70, 71)


def test_small_photos_are_enlarged_for_the_detector_and_boxes_scaled_back():
    detector = Recorder([FaceBox(40, 40, 120, 120, 0.9, eyes=((60.0, 70.0), (100.0, 70.0)))])
    faces = detect_faces(detector, Image.new("RGB", (48, 48)), CropRule(detect_side=160))
    assert detector.seen == [(160, 160)]
    assert faces[0].x0 == pytest.approx(12) and faces[0].x1 == pytest.approx(36)
    assert faces[0].eyes[0] == pytest.approx((18, 21))
    detect_faces(detector, Image.new("RGB", (200, 300)), CropRule(detect_side=160))
    assert detector.seen[-1] == (200, 300)  # large enough: as it is


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i}.png"
        Image.new("RGB", (100, 100), (i, 0, 0)).save(path)
        paths.append(path)
    return paths


def test_the_face_holding_the_anchor_is_chosen_else_the_largest(tmp_path):
    small = FaceBox(10, 10, 30, 30, 0.99)
    large = FaceBox(40, 40, 90, 90, 0.5)
    rule = CropRule(margin=0, detect_side=16)  # no enlarging: the boxes are in photo pixels
    locator = FaceLocator(rule, Recorder([small, large]), BoxCache(tmp_path / "c"))
    (photo,) = _photos(tmp_path / "p", 1)
    hints = [
        FaceHint(photo, (12, 12, 28, 28), (20.0, 20.0), "a"),  # points on the small face
        FaceHint(photo, (0, 0, 100, 100), None, "b"),  # a class label: the largest face
        FaceHint(photo, (0, 0, 5, 5), (2.0, 2.0), "c"),  # no face holds it: the fallback
    ]
    boxes, report = locator.crops(hints)
    assert (boxes[0].x0, boxes[0].side) == (10, 20)
    assert (boxes[1].x0, boxes[1].side) == (40, 50)
    assert report.detected == 2 and report.fallback == ["c: no face holds it"]


def test_the_fallback_places_the_reference_like_the_detector_typically_does(tmp_path):
    photos = _photos(tmp_path / "p", 4)
    # the detector finds each face 2x the points' extent, shifted down by half of it
    found = {str(p): [FaceBox(20, 30, 60, 70, 0.9)] for p in photos[:3]}

    class PerPhoto(Recorder):
        def detect(self, image):
            return found.get(self.current, [])

    detector = PerPhoto()
    locator = FaceLocator(CropRule(margin=0), detector, None)
    hints = [FaceHint(p, (30, 30, 50, 50), (40.0, 40.0), str(p)) for p in photos]
    keys = []

    def detections(images, progress=None):
        keys.extend(images)
        return [found.get(str(image), []) for image in images]

    locator.detections = detections  # type: ignore[method-assign]
    boxes, report = locator.crops(hints)
    assert len(report.fallback) == 1 and str(photos[3]) in report.fallback[0]
    assert boxes[3] == boxes[0]  # the typical box: 2x the extent, shifted down by 10 px
    assert (boxes[3].x0, boxes[3].y0, boxes[3].side) == (20, 30, 40)


def test_detections_are_cached_by_content_and_detected_again_when_the_bytes_change(tmp_path):
    photos = _photos(tmp_path / "p", 2)
    detector = Recorder([FaceBox(1, 2, 30, 40, 0.8, eyes=((5.0, 6.0), (20.0, 6.0)))])
    cache = BoxCache(tmp_path / "faces.sqlite")
    locator = FaceLocator(CropRule(), detector, cache)
    first = locator.detections(photos)
    assert len(detector.seen) == 2
    again = FaceLocator(CropRule(), detector, BoxCache(tmp_path / "faces.sqlite"))
    assert again.detections(photos) == first and len(detector.seen) == 2  # from the cache
    stat = photos[1].stat()
    os.utime(photos[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    copies = _photos(tmp_path / "laid out again", 2)  # the same bytes, new paths and times
    assert again.detections(photos + copies) == first + first
    assert len(detector.seen) == 2  # a new time or place is not a new photo
    Image.new("RGB", (100, 100), (9, 9, 9)).save(photos[1])
    again.detections(photos)
    assert len(detector.seen) == 3  # only the changed file
    detector.version = "2"
    FaceLocator(CropRule(), detector, cache).detections(photos)
    assert len(detector.seen) == 5  # another detector version: every file
    pixels = np.zeros((48, 48), dtype=np.uint8)
    FaceLocator(CropRule(), detector, cache).detections([pixels, pixels.copy()])
    assert len(detector.seen) == 6  # pixels held in memory are keyed by their content


def test_an_unreadable_photo_takes_the_fallback_and_is_reported_when_loaded(tmp_path):
    (photo,) = _photos(tmp_path / "p", 1)
    photo.write_bytes(photo.read_bytes()[:20])
    locator = FaceLocator(CropRule(), Recorder([FaceBox(0, 0, 9, 9, 1.0)]), None)
    boxes, report = locator.crops([FaceHint(photo, (0, 0, 10, 10), None, "bad")])
    assert len(boxes) == 1 and report.fallback == ["bad: no face found"]


def test_a_damaged_detection_cache_is_started_afresh_with_a_warning(tmp_path):
    (photo,) = _photos(tmp_path / "p", 1)
    path = tmp_path / "faces.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(UserWarning, match=r"faces\.sqlite: the cache of detected faces cannot"):
        cache = BoxCache(path)
    detector = Recorder([FaceBox(1, 2, 30, 40, 0.8)])
    FaceLocator(CropRule(), detector, cache).detections([photo])
    FaceLocator(CropRule(), detector, BoxCache(path)).detections([photo])
    assert len(detector.seen) == 1  # the fresh cache works


def test_an_earlier_versions_table_is_dropped_and_the_current_one_kept(tmp_path):
    """A cache written before detections were keyed by content held a ``faces`` table keyed by
    path and time, which nothing reads any more: opening the file drops it."""
    path = tmp_path / "faces.sqlite"
    cache = BoxCache(path)
    cache.put({"kept": [FaceBox(1, 2, 30, 40, 0.8)]})
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE faces (path TEXT, mtime REAL, faces TEXT)")
        db.executemany(
            "INSERT INTO faces VALUES (?, ?, ?)", [(str(i), 0.0, "x" * 500) for i in range(200)]
        )
    db.close()
    cache = BoxCache(path)
    assert cache.get(["kept"])["kept"][0].x1 == 30
    cache.close()
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master")]
    db.close()
    assert "faces" not in tables and "items" in tables


def test_detecting_one_split_waits_for_the_same_split_only(tmp_path):
    """torchrun's ranks detect a split once (the second waits for the first), while a run on
    other images goes on beside them instead of waiting for the first run's detection."""
    cache = BoxCache(tmp_path / "faces.sqlite")
    entered: list[str] = []

    def enter(keys: list[str], name: str) -> None:
        with cache.detecting(keys):
            entered.append(name)

    with cache.detecting(["a", "b"]):
        same = threading.Thread(target=enter, args=(["b", "a"], "same split"))
        other = threading.Thread(target=enter, args=(["c"], "other split"))
        same.start(), other.start()
        other.join(timeout=10)
        same.join(timeout=0.5)
        assert entered == ["other split"]
    same.join(timeout=10)
    assert entered == ["other split", "same split"]
