"""Does a face reach the network at the same scale in training, in ``ifan eval`` and in
``ifan predict``? The crop rule's proof on the real data.

For each built-in format on the real datasets (``--data``, laid out like ``../shared/data``):
MTFL (carved validation faces of ``training.txt``), the 68-point ``.pts`` photos of ``faces/``,
FASSEG (V2 and V3) and FER2013 (its PublicTest folder), a seeded sample of faces is cropped three
ways, each by the code that path runs:

- training: the training split as the trainer opens it (``open_splits``, with its room for
  augmentation; the network's crop is its central window);
- eval: the split as ``ifan eval`` opens it;
- predict: ``Predictor.predict_batch`` on the photo file (an untrained network of the same
  manifest: only the crops matter), the face holding the annotation.

Two measures of the face's scale in the network's crop: the inter-ocular distance over the crop
side (where the format has points), and the side of the box that the face detector finds again
in the crop the network sees, over the crop side (every format). Also shown, where points exist:
the scale of the old training crop (the whole photo letterboxed), which this rule replaced.

Writes ``bench/results/crops.json`` and ``bench/results/crops.md``.

    .venv/bin/python -m bench.crops
    .venv/bin/python -m bench.crops --faces 50 --out /tmp/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from bench.lib import options
from bench.lib.results import command_line, header, write_results
from bench.reports import crops as report
from ifan.data.crop import detect_faces
from ifan.data.dataset import under_subsets
from ifan.data.images import crop_square, letterbox, load_rgb, to_tensor
from ifan.data.splits import open_splits
from ifan.detection import get_detector
from ifan.inference import Predictor
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.plugins import load_registry
from ifan_tasks.landmarks.samples import eye_centres

FASSEG = 'format = "fasseg"\ntest = "{data}/fasseg/%s/Train_RGB"'
FORMATS = {
    "mtfl": (
        "landmarks",
        'format = "mtfl"\ntrain = "{data}/mtfl/training.txt"\nval_fraction = 0.1',
        "val",
        [[0], [1]],
    ),
    "pts": (
        "landmarks",
        'format = "pts"\ntest = "{data}/faces"\npoints = 68',
        "test",
        [[36, 39], [42, 45]],
    ),
    "fasseg V2": ("parsing", FASSEG % "V2", "test", None),
    "fasseg V3": ("parsing", FASSEG % "V3", "test", None),
    "fer2013": ("emotion", 'format = "folder"\ntest = "{data}/fer2013/test"', "test", None),
}
"""Each format: its task, its data table, the split measured, and its eye points (or None)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The sample, the input side, the data and where the results go."""
    parser = options.parser(__doc__)
    options.add_data(parser)
    parser.add_argument("--faces", type=int, default=200, help="faces sampled per format (200)")
    parser.add_argument("--input-size", type=int, default=128, help="network input side (128)")
    parser.add_argument("--seed", type=int, default=0)
    options.add_out(parser)
    parser.add_argument(
        "--picture",
        type=Path,
        help="also draw one MTFL face cropped by each path (the docs' picture: docs/img/crops.png)",
    )
    return parser.parse_args(argv)


def manifest_for(task: str, data_table: str, folder: Path, size: int) -> Any:
    """A one-task manifest of the format (the default crop rule; training keeps room)."""
    path = folder / f"{task}.toml"
    path.write_text(
        f"[model]\ninput_size = {size}\niterations = 0\n[train]\nprepared = false\n"
        f"[tasks.{task}]\n[tasks.{task}.data]\n{data_table}\n"
    )
    return load_manifest(path)


class Scale:
    """The two scale measures of one crop the network sees."""

    def __init__(self, detector: Any, rule: Any):
        self.detector = detector
        self.rule = rule

    def detected(self, image: torch.Tensor) -> float | None:
        """The side of the largest face found again in the crop, over the crop side."""
        from torchvision.transforms.functional import to_pil_image

        picture = to_pil_image(image.clamp(0, 1))
        faces = detect_faces(self.detector, picture, self.rule)
        if not faces:
            return None
        face = max(faces, key=lambda f: (f.x1 - f.x0) * (f.y1 - f.y0))
        return max(face.x1 - face.x0, face.y1 - face.y0) / picture.width


def training_reader(task: str, data_table: str, split: str, folder: Path, size: int) -> Any:
    """The reader of the training split the faces of ``split`` come from, as the trainer opens
    it (with its room): for a carved val, the training split itself."""
    train_table = data_table.replace(f"\n{split} =", "\ntrain =") if split != "val" else data_table
    manifest = manifest_for(task, train_table, folder, size)
    config = manifest.tasks[task]
    trained = open_splits(config, config.build_task(), manifest, splits=("train",))
    reader, _ = under_subsets(trained.datasets["train"])
    return reader


def central_window(image: torch.Tensor, room: float) -> torch.Tensor:
    """The network's crop in a training crop with ``room``: its central window, in [0, 1]."""
    side = image.shape[-1]
    inner = round(side / room)
    start = (side - inner) // 2
    window = image[:, start : start + inner, start : start + inner].float()
    return window / 255 if image.dtype == torch.uint8 else window


def medians_and_spread(
    rows: dict[str, dict[str, list[float]]],
) -> tuple[dict[str, dict[str, float | None]], dict[str, float]]:
    """Each path's median of each measure, and each measure's spread over the three paths (the
    largest median over the smallest, minus one) where all three have one."""
    medians = {
        path: {k: statistics.median(v) if v else None for k, v in measures.items()}
        for path, measures in rows.items()
    }
    agreement = {}
    for measure_name in ("iod", "detected"):
        found = [medians[p][measure_name] for p in ("training", "eval", "predict")]
        values = [v for v in found if v is not None]
        if len(values) == len(found):
            agreement[measure_name] = max(values) / min(values) - 1
    return medians, agreement


def measure(name: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The face scales of format ``name``'s sample in each path, their medians and spread, and
    how its split's faces were found."""
    task_name, data_table, split, eyes = FORMATS[name]
    data_table = data_table.format(data=args.data.resolve())
    manifest = manifest_for(task_name, data_table, folder, args.input_size)
    config = manifest.tasks[task_name]
    task = config.build_task()
    registry = load_registry()
    rule = manifest.model.crop
    scale = Scale(get_detector(registry, rule.detector), rule)
    room = manifest.train.room
    evaluated = open_splits(config, task, manifest, splits=(split,), augment=False)
    reader, indices = under_subsets(evaluated.datasets[split])
    rng = random.Random(args.seed)
    chosen = sorted(rng.sample(range(len(indices)), min(args.faces, len(indices))))
    train_reader = training_reader(task_name, data_table, split, folder, args.input_size)
    model = build_model(manifest).eval()
    predictor = Predictor(model, manifest, Path("untrained"), {}, torch.device("cpu"), registry)
    rows: dict[str, dict[str, list[float]]] = {
        path: {"iod": [], "detected": []} for path in ("training", "eval", "predict", "before")
    }
    missed = {"training": 0, "eval": 0, "predict": 0}
    shown: dict[str, Any] = {}
    for position in chosen:
        index = indices[position]
        record = reader.records[index][0]
        train_image, train_target = train_reader[index]
        eval_image, eval_target = reader[index]
        photo_path = getattr(record, "image", None) or getattr(record, "photo", None)
        if photo_path is None:
            photo_path = record[0]
        found = predictor.predict_batch([photo_path])[0]
        if eyes is not None:
            pixels = torch.tensor(record.points, dtype=torch.float32)
            centres = eye_centres(pixels, eyes)
            iod_px = float((centres[0] - centres[1]).norm())
            centre = pixels.mean(dim=0)
            face = next(
                (f for f in found.faces if f.box.contains((float(centre[0]), float(centre[1])))),
                found.faces[0],
            )
            photo = load_rgb(photo_path)
            rows["training"]["iod"].append(float(train_target["iod"]) * room)
            rows["eval"]["iod"].append(float(eval_target["iod"]))
            rows["predict"]["iod"].append(iod_px / face.crop.side)
            rows["before"]["iod"].append(iod_px / letterbox(*photo.size).side)
        else:
            face = found.faces[0]
            photo = load_rgb(photo_path)
        crops = {
            "training": central_window(train_image, room),
            "eval": eval_image.float() / (255 if eval_image.dtype == torch.uint8 else 1),
            "predict": to_tensor(crop_square(photo, face.crop, args.input_size)),
        }
        if not shown:
            shown = {"photo": photo, "face": face, "crops": crops}
            if eyes is not None:
                shown["old"] = to_tensor(
                    crop_square(photo, letterbox(*photo.size), args.input_size)
                )
        for path, image in crops.items():
            value = scale.detected(image)
            if value is None:
                missed[path] += 1
            else:
                rows[path]["detected"].append(value)
    medians, agreement = medians_and_spread(rows)
    if args.picture is not None and name == "mtfl":
        draw(shown, args.picture)
    return {
        "task": task_name,
        "split": split,
        "faces": len(chosen),
        "medians": medians,
        "not_found_again": missed,
        "spread": agreement,
        "crops": {
            "training": evaluated.crops[split].summary().splitlines()[0],
        },
    }


def draw(shown: dict[str, Any], path: Path) -> None:
    """The photo with the detected face (green) and the crop (white), then the crops the network
    sees in each path, and the old training crop, side by side with their names."""
    from PIL import ImageDraw
    from torchvision.transforms.functional import to_pil_image

    side = 192
    photo, face = shown["photo"].copy(), shown["face"]
    pen = ImageDraw.Draw(photo)
    box, crop = face.box, face.crop
    pen.rectangle((box.x0, box.y0, box.x1, box.y1), outline=(0, 255, 0), width=2)
    pen.rectangle((crop.x0, crop.y0, crop.x0 + crop.side, crop.y0 + crop.side), outline="white")
    panels = [("photo: detected box, crop", photo.resize((side, side)))]
    names = {"training": "training (centre of the room)", "eval": "ifan eval", "predict": "predict"}
    for key, label in names.items():
        panels.append((label, to_pil_image(shown["crops"][key].clamp(0, 1)).resize((side, side))))
    if "old" in shown:
        panels.append(("old training: letterbox", to_pil_image(shown["old"]).resize((side, side))))
    canvas = Image.new("RGB", (side * len(panels), side + 20), "white")
    pen = ImageDraw.Draw(canvas)
    for i, (label, image) in enumerate(panels):
        canvas.paste(image, (i * side, 20))
        pen.text((i * side + 4, 4), label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Measure every format and write the results."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    started = time.time()
    result: dict[str, Any] = {
        **header(1),
        "command": command_line("crops", argv),
        "settings": {"faces": args.faces, "input_size": args.input_size, "seed": args.seed},
        "formats": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for name in FORMATS:
            print(f"{name}...", flush=True)
            result["formats"][name] = measure(name, args, Path(folder))
    result["seconds"] = time.time() - started
    write_results(args.out, "crops", result, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
