"""Probing: how well one task can be learned from another task's frozen features.

For a target task B and feature sources A1..An (tasks of trained runs, ``RUN:TASK``),
:func:`~ifan.probing.matrix.probe` trains a fresh head for B on each source's features
(:mod:`ifan.features`) of B's faces, on B's own features (from the run B comes from: the row
``own``), and on the concatenation of all of them (the row ``fused``: every distinct feature set of
the column), and scores each head on B's test split (or ``split``) with B's own metric, its ``main``
value (accuracy for a class task, MAE for age). The result is a matrix, rows the feature sources,
columns the targets: the experiment of Li and Zhu, "Learning and Fusing Multimodal Features from and
for Multi-task Facial Computing".

The faces and labels are B's dataset as its run's manifest gives it, read by B's reader (train to
fit, ``split`` to score), each source's features computed on them with that source's crop rule,
input size and batch norm. Features are extracted once per source run and split (all of a run's
tasks in one pass over the faces) and kept in memory; with ``cache`` they are also saved as ``ifan
features`` files and read back next time, refused when the weights changed since.

The head is B's own: its output is what B's decoder's last ``nn.Linear`` outputs (logits over B's
classes or bins, a value), followed by whatever B's decoder applies after that layer
(:class:`~ifan.probing.heads.DecoderTail`: a sigmoid, a reshape), so that B's own ``loss`` trains it
and B's ``new_metric()`` scores it unchanged. ``linear`` maps the standardised features straight to
that output; ``mlp`` puts B's decoder's hidden layer before it (Linear, batch norm, ReLU, as
:class:`ifan.network.decoders.MLPHead` does). Heads train on the CPU with Adam and a cosine learning
rate, seeded: the same inputs give the same matrix.
"""

from ifan.probing.heads import HeadOptions, fit_head, score_head
from ifan.probing.matrix import probe
from ifan.probing.results import ProbeResult, TargetScores

__all__ = ["HeadOptions", "ProbeResult", "TargetScores", "fit_head", "probe", "score_head"]
