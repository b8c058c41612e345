"""The task integrator (paper §3.2, Eq. 2-4): every task's encoded predictions fed back.

At each feedback level L (the down-path levels ``down0`` .. ``down5``) the integrator concatenates
the encodings of all tasks and adds a 1x1 conv of the concatenation to the backbone features f_L:

    f_INT,L = f_L + W_L [enc_1,L; ...; enc_T,L] = f_L + sum_t W_L,t enc_t,L

which is Eq. 2/4's sum of the shared features and every task's encoded prediction, realised (as in
the paper) by concatenation; equivalently, a linear map of ``[f_L; enc_1,L; ...; enc_T,L]`` whose
f_L block is the identity. The fused features replace f_L inside the backbone, so deeper levels
and the up path see them too. The fusion has no batch norm.

Encodings come from each task's learned re-encoder (``reencoder = "learned"``) or, for the
ablation of §4.3.2 (``"resize"``), are the raw predictions as maps,
``task.prediction_maps(prediction, h, w)`` at each level's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ifan.contract import FeatureSpec, Task


class TaskIntegrator(nn.Module):
    """Encodes predictions into per-level feedback and fuses it into backbone features."""

    def __init__(
        self,
        tasks: Mapping[str, Task],
        levels: Sequence[FeatureSpec],
        feedback_channels: Mapping[str, int],
        reencoders: Mapping[str, nn.Module] | None,
    ):
        """``levels``: the backbone's feedback points; ``feedback_channels``: channels per task;
        ``reencoders``: one module per task, or None for the ``resize`` ablation."""
        super().__init__()
        self.tasks = dict(tasks)
        self.sizes = [(level.height, level.width) for level in levels]
        self.reencoders = nn.ModuleDict(reencoders) if reencoders is not None else None
        total = sum(feedback_channels[name] for name in self.tasks)
        self.fusions = nn.ModuleList(nn.Conv2d(total, level.channels, 1) for level in levels)

    def encode(self, predictions: Mapping[str, Any]) -> list[Tensor]:
        """Per level, the concatenated encodings of every task's prediction (task order fixed)."""
        per_task = []
        for name, task in self.tasks.items():
            if self.reencoders is not None:
                encoded = self.reencoders[name](predictions[name])
            else:
                encoded = [task.prediction_maps(predictions[name], h, w) for h, w in self.sizes]
            per_task.append(encoded)
        return [torch.cat(maps, 1) for maps in zip(*per_task, strict=True)]

    def fuse(self, level: int, features: Tensor, encoded: Tensor) -> Tensor:
        """Backbone features at ``level`` plus a 1x1 conv of the concatenated encodings."""
        return features + self.fusions[level](encoded)
