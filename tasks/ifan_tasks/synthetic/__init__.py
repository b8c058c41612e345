"""Synthetic faces for tests and the quick start: small, fast, deterministic datasets for face
parsing, landmarks and emotion, written in formats the built-in readers read
(``python -m ifan_tasks.synthetic OUT``)."""
