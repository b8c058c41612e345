"""The paper's experiments (Tables 1 to 4, the ablations of §4.3) on the real datasets: run as
``python -m bench.reproduce``; its report is :mod:`bench.reports.reproduce`.

Nothing is imported here: :mod:`bench.reproduce.peers` runs in an environment without ifan.
"""
