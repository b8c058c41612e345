"""The identity metric against values worked out by hand: top-1 and top-5 accuracy, and
verification (accuracy at the best threshold, equal-error rate) from the embeddings."""

from __future__ import annotations

import pytest
import torch
from ifan.contract import LabelSchema

from ifan_task_people import verification as module
from ifan_task_people.verification import IdentityMetric, pair_scores, verification

SIX = LabelSchema(kind="class", names=tuple("abcdef"))
TWO = LabelSchema(kind="class", names=("ada", "alan"))


def test_verification_of_seven_scored_pairs() -> None:
    # Same-person pairs score 0.9, 0.8, 0.4; different ones 0.7, 0.3, 0.2, 0.1. Accepting the
    # pairs at or above 0.4 takes every same pair and 1 of 4 different ones: (1 + 3/4) / 2. The
    # ROC's (fpr, fnr) goes (1/4, 1/3) at 0.7 -> (1/4, 0) at 0.4: fpr = fnr at 1/4.
    scores = torch.tensor([0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1])
    same = torch.tensor([True, True, True, False, False, False, False])
    accuracy, eer = verification(scores, same)
    assert accuracy == pytest.approx(0.875)
    assert eer == pytest.approx(0.25)


def test_verification_interpolates_the_equal_error_rate_and_groups_ties() -> None:
    # (fpr, fnr) at each threshold: 0.8 (1/4, 1), 0.6 (1/4, 1/2), 0 (2/4, 0) where a same and a
    # different pair tie. Between the last two, fpr - fnr goes from -1/4 to 1/2: it is 0 a third
    # of the way, at fpr = 1/4 + 1/3 * 1/4 = 1/3. The best accuracy: at 0, (1 + 1/2) / 2.
    scores = torch.tensor([0.8, 0.6, 0.0, 0.0, -0.6, -1.0])
    same = torch.tensor([False, True, True, False, False, False])
    accuracy, eer = verification(scores, same)
    assert accuracy == pytest.approx(0.75)
    assert eer == pytest.approx(1 / 3)


def test_perfectly_separated_pairs_score_one_and_zero() -> None:
    accuracy, eer = verification(torch.tensor([0.9, 0.5, 0.1]), torch.tensor([True, False, False]))
    assert (accuracy, eer) == (1.0, 0.0)
    with pytest.raises(ValueError, match="1 same-person and 0 different-person pairs"):
        verification(torch.tensor([0.5]), torch.tensor([True]))


# Four faces of two people, embeddings at angles whose cosines give the second test's pairs:
# same (0, 1) 0.6 and (2, 3) 0; different (0, 2) 0, (0, 3) -1, (1, 2) 0.8, (1, 3) -0.6.
EMBEDDINGS = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
PEOPLE = torch.tensor([0, 0, 1, 1])


def test_pair_scores_are_cosines_of_each_pair_once() -> None:
    scores, same = pair_scores(EMBEDDINGS * 3, PEOPLE)  # the length of an embedding is ignored
    assert scores.tolist() == pytest.approx([0.6, 0.0, -1.0, 0.8, -0.6, 0.0], abs=1e-6)
    assert same.tolist() == [True, False, False, False, False, True]


def test_metric_top1_top5_and_verification_by_hand() -> None:
    metric = IdentityMetric(SIX)
    logits = torch.tensor(
        [
            [9.0, 8, 7, 6, 5, 4],  # truth 0: top-1
            [9.0, 8, 7, 6, 5, 4],  # truth 4: 5th most probable, in the top 5
            [9.0, 8, 7, 6, 5, 4],  # truth 5: last, not in the top 5
            [0.0, 0, 0, 0, 0, 1],  # truth 5: top-1
        ]
    )
    labels = torch.tensor([0, 4, 5, 5])
    prediction = torch.cat([logits, EMBEDDINGS], 1)  # the logits, then the embedding
    metric.update(prediction[:2], {"label": labels[:2]})  # in two batches: pairs span them
    metric.update(prediction[2:], {"label": labels[2:]})
    values = metric.compute()
    assert values["accuracy"] == pytest.approx(2 / 4)
    assert values["top5"] == pytest.approx(3 / 4)
    # Verification pairs the faces by their true labels 0, 4, 5, 5: one same pair, (2, 3), scoring
    # 0, and five different ones scoring 0.6, 0, -1, 0.8, -0.6. Accepting the pairs at or above
    # 0 takes the same pair and 3 of the 5 different ones, the best: (1 + 2/5) / 2 = 0.7. The
    # ROC's (fpr, fnr) goes (2/5, 1) at 0.6 -> (3/5, 0) at 0; fpr - fnr goes from -3/5 to 3/5,
    # 0 half way, at fpr = 1/2.
    assert values["verification_accuracy"] == pytest.approx(0.7)
    assert values["eer"] == pytest.approx(0.5)
    assert metric.main == "accuracy" and metric.higher_is_better


def test_merged_metrics_pair_faces_across_them() -> None:
    whole, first, second = IdentityMetric(TWO), IdentityMetric(TWO), IdentityMetric(TWO)
    prediction = torch.cat([torch.tensor([[1.0, 0], [1, 0], [0, 1], [1, 0]]), EMBEDDINGS], 1)
    whole.update(prediction, {"label": PEOPLE})
    first.update(prediction[:2], {"label": PEOPLE[:2]})
    second.update(prediction[2:], {"label": PEOPLE[2:]})
    first.merge(second)
    assert first.compute() == pytest.approx(whole.compute())
    assert whole.compute() == pytest.approx(
        {"accuracy": 3 / 4, "top5": 1.0, "verification_accuracy": 0.75, "eer": 1 / 3}
    )


def test_logits_alone_give_no_verification() -> None:
    metric = IdentityMetric(TWO)
    metric.update(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), {"label": torch.tensor([1, 1])})
    assert metric.compute() == {"accuracy": 0.5, "top5": 1.0}


def test_a_large_split_is_thinned_for_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_VERIFIED", 4)
    metric = IdentityMetric(TWO)
    # Faces 0, 3, 6 and 9 of ten are kept (evenly spaced): the four of EMBEDDINGS; the others
    # would spoil the result if they counted.
    noise = torch.tensor([0.0, -1.0])
    rows = [EMBEDDINGS[i // 3] if i % 3 == 0 else noise for i in range(10)]
    labels = torch.tensor([PEOPLE[i // 3] if i % 3 == 0 else 0 for i in range(10)])
    logits = torch.zeros(10, 2)
    metric.update(torch.cat([logits, torch.stack(rows)], 1), {"label": labels})
    values = metric.compute()
    assert values["verification_accuracy"] == pytest.approx(0.75)
    assert values["eer"] == pytest.approx(1 / 3)


def test_all_reduce_gathers_the_faces_of_every_process(tmp_path) -> None:
    """One process of a gloo group: the counts summed and the faces gathered are its own."""
    import torch.distributed as dist

    metric = IdentityMetric(TWO)
    prediction = torch.cat([torch.tensor([[1.0, 0], [1, 0], [0, 1], [1, 0]]), EMBEDDINGS], 1)
    metric.update(prediction, {"label": PEOPLE})
    before = metric.compute()
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        metric.all_reduce()
    finally:
        dist.destroy_process_group()
    assert metric.compute() == pytest.approx(before)
    assert metric.state["embeddings"].shape == (4, 2) and metric.state["count"] == 4
