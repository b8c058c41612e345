"""Parsing readers (Helen, FASSEG, mask folder, CelebAMask-HQ), metric, JSON and overlay."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from ifan.contract import LabelSchema, OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.errors import IfanError
from ifan_tasks.parsing.classes import HELEN_CLASSES
from ifan_tasks.parsing.helen import HELEN_MAPS
from ifan_tasks.parsing.task import ParsingTask

SIZE = 16
LABELS = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 4, 4, 10, 10, 10, 10],
        [1, 1, 4, 4, 10, 10, 10, 10],
        [1, 1, 1, 6, 6, 10, 10, 10],
        [1, 1, 1, 6, 6, 10, 10, 10],
        [1, 1, 1, 1, 1, 10, 10, 10],
    ],
    dtype=np.uint8,
)


def fmt(name):
    return ParsingTask.format(name)


def save(array, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def write_helen(root, name="face1"):
    save(np.full((6, 8, 3), 128), root / "images" / f"{name}.jpg")
    for index in range(HELEN_MAPS):
        level = np.where(index == LABELS, 255, 0)
        if index == 0:
            level[0] = 0  # the top row is claimed by no map: background by the tie rule
        save(level, root / "labels" / name / f"{name}_lbl{index:02d}.png")


def test_helen_reads_index_lines_and_stacks_maps(tmp_path):
    write_helen(tmp_path, "face1")
    write_helen(tmp_path, "face2")
    (tmp_path / "exemplars.txt").write_bytes(b" 1 , face1\r\n2 , face2\r\n\r\n")
    data = fmt("helen").open(
        tmp_path / "exemplars.txt", "test", fmt("helen").Options(), OpenContext(SIZE)
    )
    assert len(data) == 2
    image, target = data[1]
    assert image.shape == (3, SIZE, SIZE) and image.min() >= 0 and image.max() <= 1
    side = max(LABELS.shape)  # no detector here: the photo letterboxed, labels padded with 255
    top = (side - LABELS.shape[0]) // 2
    assert target["original"].shape == (side, side)
    assert target["original"][top : top + LABELS.shape[0]].tolist() == LABELS.tolist()
    train = fmt("helen").open(
        tmp_path / "exemplars.txt", "train", fmt("helen").Options(), OpenContext(SIZE)
    )
    assert "original" not in train[1][1]  # only scored splits keep it
    assert target["mask"].shape == (SIZE, SIZE)
    assert target["mask"][0].eq(255).all()  # letterbox padding is ignored
    assert target["mask"][SIZE // 2, SIZE - 1] == 10


def test_helen_bad_list_line_names_file_and_line(tmp_path):
    write_helen(tmp_path)
    (tmp_path / "testing.txt").write_text("1 , face1\nthree fields , here , x\n")
    with pytest.raises(DatasetError, match=r"testing\.txt:2: expected 'index , name'"):
        fmt("helen").open(
            tmp_path / "testing.txt", "test", fmt("helen").Options(), OpenContext(SIZE)
        )


def test_helen_missing_map_is_reported(tmp_path):
    write_helen(tmp_path)
    (tmp_path / "labels" / "face1" / "face1_lbl07.png").unlink()
    (tmp_path / "tuning.txt").write_text("face1\n")
    data = fmt("helen").open(
        tmp_path / "tuning.txt", "val", fmt("helen").Options(), OpenContext(SIZE)
    )
    with pytest.raises(DatasetError, match=r"face1_lbl07\.png: image not found"):
        data[0]


def test_helen_classes_are_the_task_default():
    assert fmt("helen").labels(fmt("helen").Options()) is None
    assert len(HELEN_CLASSES) == HELEN_MAPS


FASSEG = {0: (255, 0, 0), 1: (255, 255, 0), 2: (127, 0, 0), 3: (0, 0, 255), 5: (0, 255, 0)}


def fasseg_label(classes):
    rgb = np.zeros((*classes.shape, 3), dtype=np.uint8)
    for index, colour in FASSEG.items():
        rgb[classes == index] = colour
    return rgb


def test_fasseg_maps_nearest_colour_and_pairs_bmp_labels_in_yaw_folders(tmp_path):
    classes = np.array([[0, 0, 1, 1], [2, 3, 3, 5]])
    rgb = fasseg_label(classes)
    rgb[0, 1] = (250, 6, 3)  # a blended edge colour, nearest to background
    rgb[1, 0] = (131, 4, 2)  # nearest to hair
    save(np.zeros((2, 4, 3)), tmp_path / "V3" / "Train_RGB" / "+15" / "a.png")
    save(rgb, tmp_path / "V3" / "Train_labels" / "+15" / "a.bmp")
    options = fmt("fasseg").Options()
    data = fmt("fasseg").open(tmp_path / "V3" / "Train_RGB", "val", options, OpenContext(SIZE))
    assert len(data) == 1
    # no detector here: the 4x2 photo letterboxed into a 4x4 crop, rows 1-2 its labels
    assert data[0][1]["original"][1:3].tolist() == classes.tolist()
    assert data[0][1]["original"][0].eq(255).all()
    assert fmt("fasseg").labels(options).names[:4] == ("background", "skin", "hair", "eyes")


def test_fasseg_size_mismatch_is_reported_skipped_or_resized(tmp_path):
    save(np.zeros((4, 6, 3)), tmp_path / "Train_RGB" / "1.png")
    save(fasseg_label(np.full((5, 5), 1)), tmp_path / "Train_Labels" / "1.png")
    save(np.zeros((4, 6, 3)), tmp_path / "Train_RGB" / "2.png")
    save(fasseg_label(np.full((4, 6), 1)), tmp_path / "Train_Labels" / "2.png")
    photos = tmp_path / "Train_RGB"
    with pytest.raises(DatasetError, match=r"1\.png: label image is 5x5 but its photo .* is 6x4"):
        fmt("fasseg").open(photos, "train", fmt("fasseg").Options(), OpenContext(SIZE))
    skipping = OpenContext(SIZE, BadSamples("skip"))
    data = fmt("fasseg").open(photos, "train", fmt("fasseg").Options(), skipping)
    assert len(data) == 1 and skipping.bad.count == 1
    assert "label image is 5x5" in skipping.bad.reasons[0]
    options = fmt("fasseg").Options(size_mismatch="resize")
    data = fmt("fasseg").open(photos, "val", options, OpenContext(SIZE))
    assert len(data) == 2 and data[0][1]["original"].shape == (6, 6)  # 4x6 letterboxed


def test_fasseg_photo_without_label(tmp_path):
    save(np.zeros((4, 6, 3)), tmp_path / "Train_RGB" / "1.png")
    (tmp_path / "Train_Labels").mkdir()
    with pytest.raises(DatasetError, match=r"Train_RGB/1\.png: no label image 1 in .*Train_Labels"):
        fmt("fasseg").open(
            tmp_path / "Train_RGB", "train", fmt("fasseg").Options(), OpenContext(SIZE)
        )


def test_mask_folder_reads_indices_and_rejects_unknown_values(tmp_path):
    options = fmt("mask-folder").Options(
        classes=["bg", "face", "hair"], groups={"head": ["face", "hair"]}
    )
    assert fmt("mask-folder").labels(options).groups == {"head": ("face", "hair")}
    save(np.zeros((4, 4, 3)), tmp_path / "images" / "a.jpg")
    save([[0, 1, 2, 255]] * 4, tmp_path / "masks" / "a.png")
    data = fmt("mask-folder").open(tmp_path, "test", options, OpenContext(SIZE))
    assert data[0][1]["original"][0].tolist() == [0, 1, 2, 255]
    save([[0, 1, 3, 0]] * 4, tmp_path / "masks" / "a.png")
    with pytest.raises(DatasetError, match=r"a\.png: value 3 is not a class index \(0 to 2\)"):
        data[0]


def test_mask_folder_options_check_groups():
    with pytest.raises(ValidationError, match="not among classes"):
        fmt("mask-folder").Options(classes=["bg", "face"], groups={"head": ["hat"]})


def test_celebamask_list_and_half_size_masks(tmp_path):
    save(np.zeros((8, 8, 3)), tmp_path / "CelebA-HQ-img" / "0.jpg")
    save(np.zeros((8, 8, 3)), tmp_path / "CelebA-HQ-img" / "1.jpg")
    save(np.full((4, 4), 13), tmp_path / "CelebAMask-HQ-mask" / "0.png")
    (tmp_path / "test.txt").write_text("0.jpg\n")
    options = fmt("celebamask").Options()
    data = fmt("celebamask").open(tmp_path / "test.txt", "test", options, OpenContext(SIZE))
    assert len(data) == 1
    assert data[0][1]["original"].shape == (8, 8)  # the crop at the photo's resolution
    assert fmt("celebamask").labels(options).names[13] == "hair"
    with pytest.raises(DatasetError, match=r"1\.jpg: no mask 1\.png in"):
        fmt("celebamask").open(tmp_path, "train", options, OpenContext(SIZE))


TWO = LabelSchema(kind="segmentation", names=("background", "face"))


def two_class_logits(foreground):
    logits = torch.zeros(2, *foreground.shape)
    logits[1] = torch.where(foreground, 5.0, -5.0)
    return logits


def test_metric_scores_at_original_size():
    task = ParsingTask(labels=TWO)
    foreground = torch.zeros(4, 4, dtype=torch.bool)
    foreground[:2, :2] = True  # the 4x4 prediction resized to the 8x8 crop's labels
    original = torch.zeros(8, 8, dtype=torch.int64)
    original[:4, :4] = 1
    original[0, 0] = 0  # one face pixel missed
    original[7, 7] = 1  # one found where there is none
    metric = task.new_metric()
    metric.update(two_class_logits(foreground)[None], {"original": [original]})
    values = metric.compute()
    assert values["f1_face"] == pytest.approx(2 * 15 / (2 * 15 + 2))
    assert values["f1_background"] == pytest.approx(2 * 47 / (2 * 47 + 2))
    assert values["f1_overall"] == values["f1_face"]
    assert metric.main == "f1_overall" and metric.higher_is_better


def test_metric_merged_groups_and_merge():
    task = ParsingTask()
    index = {name: i for i, name in enumerate(HELEN_CLASSES)}
    truth = torch.tensor([[index["left_eye"], index["nose"]]])
    predicted = torch.tensor([[index["right_eye"], index["nose"]]])
    logits = torch.nn.functional.one_hot(predicted, len(HELEN_CLASSES)).permute(0, 2, 1)[..., None]
    whole = task.new_metric()
    whole.update(logits.float().repeat(2, 1, 1, 1), {"mask": truth.repeat(2, 1)[..., None]})
    values = whole.compute()
    assert values["f1_left_eye"] == 0 and values["f1_eyes"] == 1 and values["f1_nose"] == 1
    assert values["f1_mouth_all"] == 0 and values["f1_overall"] == 1
    first, second = task.new_metric(), task.new_metric()
    first.update(logits.float(), {"mask": truth[..., None]})
    second.update(logits.float(), {"mask": truth[..., None]})
    first.merge(second)
    assert first.compute() == values


def test_collate_keeps_original_sizes():
    task = ParsingTask(labels=TWO)
    samples = [
        (torch.zeros(3, 4, 4), {"mask": torch.zeros(4, 4), "original": torch.zeros(2, 3)}),
        (torch.zeros(3, 4, 4), {"mask": torch.zeros(4, 4), "original": torch.zeros(5, 1)}),
    ]
    images, targets = task.collate(samples)
    assert images.shape == (2, 3, 4, 4) and targets["mask"].shape == (2, 4, 4)
    assert [tuple(o.shape) for o in targets["original"]] == [(2, 3), (5, 1)]


def test_json_run_lengths_round_trip():
    task = ParsingTask(labels=TWO)
    foreground = torch.zeros(4, 4, dtype=torch.bool)
    foreground[1:3, :2] = True
    out = json.loads(json.dumps(task.to_json(two_class_logits(foreground))))
    assert out["classes"] == ["background", "face"] and (out["width"], out["height"]) == (4, 4)
    assert out["mask"]["runs"] == [0, 4, 1, 2, 0, 2, 1, 2, 0, 6]
    assert out["fractions"] == {"background": 0.75, "face": 0.25}
    on_image = task.to_json(two_class_logits(foreground), size=(4, 2))
    assert on_image["height"] == 2 and on_image["mask"]["runs"] == [1, 2, 0, 2, 1, 2, 0, 2]


def test_overlay_colours_predicted_pixels_and_adds_truth(tmp_path):
    task = ParsingTask(labels=TWO)
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    foreground = torch.zeros(4, 4, dtype=torch.bool)
    foreground[:2] = True
    overlay = task.draw_overlay(image, two_class_logits(foreground))
    overlay.save(tmp_path / "overlay.png")
    pixels = np.asarray(Image.open(tmp_path / "overlay.png"))
    assert (pixels[1, 1] != (10, 20, 30)).any()
    assert (pixels[6, 6] == (10, 20, 30)).all()
    truth = {"mask": torch.zeros(4, 4, dtype=torch.long)}
    assert task.draw_overlay(image, two_class_logits(foreground), truth).size == (16, 8)


def test_fasseg_colours_map_to_the_nearest_class_colour_exact_or_blended():
    from ifan_tasks.parsing.fasseg import COLOURS, colours_to_classes

    rng = np.random.default_rng(0)
    exact = COLOURS[rng.integers(0, len(COLOURS), (40, 50))]
    exact[::7, ::5] = rng.integers(0, 256, (6, 10, 3))  # blended edge colours, and noise
    rgb = exact.astype(np.uint8)
    nearest = ((rgb[..., None, :].astype(np.int64) - COLOURS) ** 2).sum(-1).argmin(-1)
    classes = colours_to_classes(rgb)
    assert classes.shape == (40, 50) and classes.dtype == np.uint8
    assert (classes == nearest).all()
    assert (colours_to_classes(COLOURS.astype(np.uint8)[None]) == np.arange(len(COLOURS))).all()


def test_class_weights_weigh_each_pixel_by_its_class_and_ignored_pixels_stay_out():
    labels = LabelSchema(kind="class", names=("background", "skin", "brow"))
    task = ParsingTask(ParsingTask.Options(class_weights={"brow": 5.0}), labels)
    logits = torch.randn(1, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[[0, 2], [1, 255]]])
    each = torch.nn.functional.cross_entropy(logits, mask, ignore_index=255, reduction="none")
    expected = (each[0, 0, 0] + 5 * each[0, 0, 1] + each[0, 1, 0]) / (1 + 5 + 1)
    assert torch.allclose(task.loss(logits, {"mask": mask}), expected)
    unweighted = ParsingTask(labels=labels).loss(logits, {"mask": mask})
    assert torch.allclose(unweighted, each.flatten()[:3].mean())
    with pytest.raises(IfanError, match=r"tasks\.parsing\.class_weights: no class 'brows'"):
        ParsingTask(ParsingTask.Options(class_weights={"brows": 2.0}), labels)
