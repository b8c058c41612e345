"""The identity metric: closed-set identification (top-1 and top-5 accuracy) and verification
from the decoder's embedding (pairs of evaluated faces, same person or not).

Verification is what the paper transfers: a face's features say who it is, also for a pair of
faces of people the question was never asked about. Every pair of evaluated faces is scored by
the cosine similarity of their embeddings (the decoder's last hidden layer) and called "same
person" at or above a threshold. Two values summarise the ROC over all thresholds:

- ``verification_accuracy``: the accuracy at the best threshold, same-person and different-person
  pairs weighing half each (the accuracy on a balanced set of pairs, as LFW's protocol has; over
  all pairs the different ones outnumber the same ones a hundred to one, and "never the same
  person" would score 99 %);
- ``eer``: the equal-error rate, where the false-accept rate (different pairs accepted) equals
  the false-reject rate (same pairs rejected), interpolated linearly between ROC points.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from ifan.contract import LabelSchema
from ifan.metrics.base import Metric
from torch import Tensor

TOP_K = 5
"""``top5``: the true person is among the five most probable (all of them when there are fewer)."""
MAX_VERIFIED = 3000
"""Pairs are formed among this many faces at most (4.5 million pairs): a larger split is thinned
to this many, evenly spaced in the order evaluated, to bound time and memory."""
APPENDED = ("labels", "embeddings")
"""State entries that hold one row per face: merging two metrics appends them."""


def verification(scores: Tensor, same: Tensor) -> tuple[float, float]:
    """``(accuracy at the best threshold, equal-error rate)`` of pairs scored ``scores`` (higher:
    more alike), ``same`` True for the pairs of one person. A pair is accepted when its score is
    at least the threshold; the accuracy weighs the same and the different pairs half each.
    A ValueError unless both kinds of pair occur."""
    same = same.bool().reshape(-1)
    scores = scores.double().reshape(-1)
    positives, negatives = int(same.sum()), int((~same).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"verification needs pairs of both kinds, got {positives} same-person and "
            f"{negatives} different-person pairs"
        )
    order = scores.argsort(descending=True)
    ranked, hits = scores[order], same[order]
    last = torch.ones_like(ranked, dtype=torch.bool)  # the last pair of each run of equal scores
    last[:-1] = ranked[:-1] != ranked[1:]
    zero = torch.zeros(1, dtype=torch.float64)
    tpr = torch.cat([zero, hits.double().cumsum(0)[last] / positives])
    fpr = torch.cat([zero, (~hits).double().cumsum(0)[last] / negatives])
    fnr = 1 - tpr
    accuracy = float(((tpr + 1 - fpr) / 2).max())
    # The first ROC point where fpr reaches fnr: not the first (accepting nothing: fpr 0, fnr 1),
    # and there is one (accepting everything: fpr 1, fnr 0). Between it and the point before,
    # each step accepts a pair more, so fpr - fnr grows strictly and crosses 0 once.
    k = int(torch.nonzero(fpr >= fnr)[0])
    a0, b0, a1, b1 = float(fpr[k - 1]), float(fnr[k - 1]), float(fpr[k]), float(fnr[k])
    step = (b0 - a0) / ((a1 - a0) - (b1 - b0))
    return accuracy, a0 + step * (a1 - a0)


def pair_scores(embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """The cosine similarity of every pair ``i < j`` of ``embeddings`` ``N x D`` and whether
    ``labels`` says they are one person."""
    unit = torch.nn.functional.normalize(embeddings.float(), dim=1)
    upper = torch.ones(len(unit), len(unit), dtype=torch.bool).triu(1)
    scores = (unit @ unit.T)[upper]
    same = (labels[:, None] == labels[None, :])[upper]
    return scores, same


def _append(rows: Tensor, more: Tensor) -> Tensor:
    """``more`` rows after ``rows``; an empty side takes the other's width."""
    if len(rows) == 0:
        return more.clone()
    if len(more) == 0:
        return rows
    if rows.shape[1:] != more.shape[1:]:
        raise ValueError(
            f"cannot append embeddings of shape {tuple(more.shape)} to {tuple(rows.shape)}: "
            "every prediction must come from the same decoder"
        )
    return torch.cat([rows, more])


class IdentityMetric(Metric):
    """Values (fractions): ``accuracy`` (main: the most probable person is the true one),
    ``top5``, and, when the predictions carry the embedding and the faces hold pairs of both
    kinds, ``verification_accuracy`` and ``eer`` (see the module's docstring).

    ``update`` takes predictions ``B x (C + D)``, the logits over the ``C`` people followed by
    the embedding (:class:`ifan_task_people.identity.EmbeddingHead`), or logits alone ``B x C``
    (no verification then), and ``{"label": B}``. The state keeps counts, which add up, and each
    face's label and embedding, which merging appends (verification compares faces across
    batches and processes).
    """

    main = "accuracy"
    higher_is_better = True

    def __init__(self, labels: LabelSchema):
        self.classes = len(labels.names)
        super().__init__()

    def initial_state(self) -> dict[str, Tensor]:
        return {
            "top1": torch.zeros((), dtype=torch.int64),
            "top5": torch.zeros((), dtype=torch.int64),
            "count": torch.zeros((), dtype=torch.int64),
            "labels": torch.zeros(0, dtype=torch.int64),
            "embeddings": torch.zeros(0, 0),
        }

    def update(self, prediction: Any, target: dict[str, Any]) -> None:
        prediction = torch.as_tensor(prediction).detach().float().cpu()
        labels = torch.as_tensor(target["label"]).long().cpu().reshape(-1)
        logits = prediction[:, : self.classes]
        top = logits.topk(min(TOP_K, self.classes), dim=1).indices
        hits = top == labels[:, None]
        self.state["top1"] += hits[:, 0].sum()
        self.state["top5"] += hits.any(dim=1).sum()
        self.state["count"] += len(labels)
        self.state["labels"] = _append(self.state["labels"], labels)
        self.state["embeddings"] = _append(self.state["embeddings"], prediction[:, self.classes :])

    def merge_value(self, key: str, mine: Tensor, theirs: Tensor) -> Tensor:
        """Counts add up; the faces (labels, embeddings) are appended."""
        if key in APPENDED:
            return _append(mine, theirs.cpu())
        return super().merge_value(key, mine, theirs)

    def all_reduce(self) -> None:
        """Sum the counts and gather every process's faces (no-op when not distributed)."""
        if not (dist.is_available() and dist.is_initialized()):
            return
        for key, value in self.state.items():
            if key not in APPENDED:
                dist.all_reduce(value, op=dist.ReduceOp.SUM)
        mine = {key: self.state[key] for key in APPENDED}
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, mine)
        for key in APPENDED:
            rows = torch.zeros(0, dtype=self.state[key].dtype)
            for part in gathered:
                rows = _append(rows, part[key])
            self.state[key] = rows

    def compute(self) -> dict[str, float]:
        count = max(int(self.state["count"]), 1)
        values = {
            "accuracy": int(self.state["top1"]) / count,
            "top5": int(self.state["top5"]) / count,
        }
        embeddings, labels = self.state["embeddings"], self.state["labels"]
        if embeddings.ndim != 2 or embeddings.shape[1] == 0:
            return values
        if len(labels) > MAX_VERIFIED:
            keep = torch.linspace(0, len(labels) - 1, MAX_VERIFIED).round().long()
            embeddings, labels = embeddings[keep], labels[keep]
        scores, same = pair_scores(embeddings, labels)
        if bool(same.any()) and not bool(same.all()):
            accuracy, eer = verification(scores, same)
            values["verification_accuracy"] = accuracy
            values["eer"] = eer
        return values
