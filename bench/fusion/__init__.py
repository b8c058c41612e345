"""Features across tasks on real data (Li and Zhu): single-task models, one integrated model and
the probe matrices of each; run as ``python -m bench.fusion``, reported by
:mod:`bench.reports.fusion`."""
