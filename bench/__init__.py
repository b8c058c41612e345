"""The benchmarks: scripts that measure ifan and write ``bench/results``, not tests.

Each benchmark runs from the repository root as ``.venv/bin/python -m bench.<name>``: a module
``bench/<name>.py``, or a package ``bench/<name>/`` when its measuring takes several modules.
Its report (findings and Markdown, pure functions of its results) is ``bench/reports/<name>.py``;
what several benchmarks share is in ``bench/lib/``. bench/README.md describes each one.

Nothing is imported here: ``bench.reproduce.peers`` runs in an environment without ifan.
"""
