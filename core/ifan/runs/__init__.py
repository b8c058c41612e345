"""A training run's folder: its layout (:mod:`~ifan.runs.layout`), the checkpoint file format
(:mod:`~ifan.runs.checkpoint`), the metrics log (:mod:`~ifan.runs.history`) and the metadata a
checkpoint carries about its run (:mod:`~ifan.runs.meta`). Training writes a run; evaluation,
prediction, export and comparison read it; all of them through this package."""
