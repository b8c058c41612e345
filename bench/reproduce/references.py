"""The rows no iFAN run fills: the landmark peers (MediaPipe face mesh, MTCNN) scored like ours
on the same MTFL validation faces, and what no model scores (the mean shape, the majority class).
Each is done once per scale, in ``WORK/<scale>/peers/`` and ``WORK/<scale>/baselines.json``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.lib.paths import ROOT
from bench.lib.realdata import real_data_settings
from bench.reproduce.experiments import MANIFEST, SCALES


def mtfl_val_faces(data: Path) -> tuple[list[dict[str, Any]], Any]:
    """The MTFL validation faces every landmark experiment is scored on (image paths and points
    in pixels; the same carving as training: the manifest's val_fraction and seed), and the
    landmark task's label schema."""
    from ifan.data.splits import open_splits
    from ifan.manifest import load_manifest

    manifest = load_manifest(MANIFEST, real_data_settings(data), only=["landmarks"])
    config = manifest.tasks["landmarks"]
    opened = open_splits(  # not the prepared copy: the peers read the photos and their records
        config, config.build_task(), manifest, splits=("val",), prepare=False,
    )  # fmt: skip
    val = opened.datasets["val"]
    records = [val.dataset.records[i][0] for i in val.indices]  # (face points, crop box)
    faces = [{"image": str(r.image), "points": [list(p) for p in r.points]} for r in records]
    return faces, config.build_task().labels


def run_peers(folder: Path, data: Path, python: Path) -> None:
    """MediaPipe face mesh and MTCNN on the MTFL validation faces, by ``python`` (an environment
    with them: :mod:`bench.reproduce.peers`), scored like ours into ``folder/scores.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    scores = folder / "scores.json"
    if scores.exists():
        return
    if not python.exists():
        print(f"  peers: skipped, {python} does not exist (bench/README.md)")
        return
    faces, labels = mtfl_val_faces(data)
    (folder / "faces.json").write_text(json.dumps([f["image"] for f in faces]))
    print(f"  peers: MediaPipe face mesh and MTCNN on {len(faces)} MTFL val faces", flush=True)
    with (folder / "log.txt").open("w") as log:
        code = subprocess.call(
            [str(python), "-m", "bench.reproduce.peers", str(folder / "faces.json"),
             str(folder / "points.json")],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    if code != 0:
        raise SystemExit(f"the peers failed (exit {code}); see {folder / 'log.txt'}")
    found = json.loads((folder / "points.json").read_text())
    result: dict[str, Any] = {"faces": len(faces)}
    for name, peer in found.items():
        if not isinstance(peer, dict):
            continue
        result[name] = {
            **{k: peer[k] for k in ("distribution", "version", "seconds_per_image", "found")},
            **score_points(faces, peer["points"], labels),
        }
    scores.write_text(json.dumps(result, indent=2))


def score_points(faces: list[dict[str, Any]], points: list[Any], labels: Any) -> dict[str, float]:
    """ifan's landmark metric (``LandmarksMetric``: NME by the inter-ocular distance, failures
    above 10 %) on the faces a peer found, in pixels of the photo."""
    import torch

    from ifan_tasks.landmarks.metric import LandmarksMetric

    metric = LandmarksMetric(labels, threshold=0.10)
    kept = [(f, p) for f, p in zip(faces, points, strict=True) if p is not None]
    truth = torch.tensor([f["points"] for f, _ in kept], dtype=torch.float64)
    found = torch.tensor([p for _, p in kept], dtype=torch.float64)
    iod = (truth[:, 0] - truth[:, 1]).norm(dim=-1)
    metric.update(found, {"points": truth, "iod": iod})
    return metric.compute()


def run_baselines(path: Path, scale: str, data: Path) -> None:
    """What no model scores, as a floor for the tables, into ``path``: every landmark face given
    the mean shape of the training faces (in crop coordinates), every emotion face the most
    common training class; on the same splits and training subsets as the experiments."""
    import torch

    from ifan.data.splits import open_splits
    from ifan.manifest import load_manifest
    from ifan_tasks.landmarks.metric import LandmarksMetric

    if path.exists() and json.loads(path.read_text()).get("settings") == SCALES[scale]:
        return
    print("  baselines: mean shape and majority class", flush=True)
    manifest = load_manifest(MANIFEST, [*SCALES[scale], *real_data_settings(data)])
    out: dict[str, Any] = {"settings": SCALES[scale]}
    opened = {}
    for name in ("landmarks", "emotion"):
        config = manifest.tasks[name]
        opened[name] = open_splits(
            config, config.build_task(), manifest, augment=False,
        )  # fmt: skip
    splits = opened["landmarks"].datasets
    train = torch.stack([splits["train"][i][1]["points"] for i in range(len(splits["train"]))])
    metric = LandmarksMetric(manifest.tasks["landmarks"].build_task().labels, threshold=0.10)
    for i in range(len(splits["val"])):
        target = splits["val"][i][1]
        metric.update(train.mean(0)[None], {"points": target["points"][None], "iod": target["iod"]})
    out["landmarks_mean_shape"] = {"val": metric.compute(), "train_faces": len(train)}
    splits = opened["emotion"].datasets
    names = manifest.tasks["emotion"].build_task().labels.names

    def labels(split: str) -> torch.Tensor:
        dataset = splits[split]
        return torch.tensor([int(dataset[i][1]["label"]) for i in range(len(dataset))])

    majority = int(torch.bincount(labels("train")).argmax())
    out["emotion_majority"] = {
        "class": names[majority],
        **{split: float((labels(split) == majority).float().mean()) for split in ("val", "test")},
    }
    path.write_text(json.dumps(out, indent=2))
