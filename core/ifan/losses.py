"""Loss pieces that several tasks share: cross-entropy weighted per class, the weights named in
the manifest (``class_weights = { disgust = 5.0 }``), for imbalanced classes (a rare emotion, the
thin brows of a face parsing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from ifan.errors import IfanError


def _positive(weights: dict[str, float]) -> dict[str, float]:
    bad = {name: w for name, w in weights.items() if not 0 < w <= 1e6}
    if bad:
        raise ValueError(f"weights must be above 0 and at most 1e6, got {bad}")
    return weights


ClassWeights = Annotated[dict[str, float], AfterValidator(_positive)]
"""The type of a task option ``class_weights``: class name -> weight (above 0, at most 1e6)."""


def class_weights_field(example: str) -> Any:
    """The ``Field`` of a ``class_weights`` option (default: every class weighs 1)."""
    return Field(
        default={},
        description=f"cross-entropy weight per class name, for imbalanced classes (e.g. "
        f"{example}); classes not named weigh 1",
    )


def weight_per_class(
    task: str, weights: dict[str, float], names: Sequence[str]
) -> tuple[float, ...] | None:
    """The weights in class-index order, None when none is set; a name that is not a class is
    an error naming the option and the classes."""
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise IfanError(
            f"tasks.{task}.class_weights: no class {', '.join(map(repr, unknown))}; the "
            f"classes are {', '.join(names)}"
        )
    return tuple(weights.get(n, 1.0) for n in names) if weights else None


def cross_entropy(
    logits: Any, target: Any, weights: tuple[float, ...] | None, **options: Any
) -> Any:
    """``F.cross_entropy`` with the per-class ``weights`` (None: unweighted) on the logits'
    device and dtype; ``options`` go to it (``ignore_index``, ``label_smoothing``)."""
    import torch
    import torch.nn.functional as F

    weight = None
    if weights is not None:
        weight = torch.tensor(weights, dtype=logits.dtype, device=logits.device)
    return F.cross_entropy(logits, target, weight=weight, **options)
