"""Inference cost of the integrated model against single-task models, and of its export: run as
``python -m bench.inference``, reported by :mod:`bench.reports.inference`."""
