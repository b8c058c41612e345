"""Emotion recognition: one class per face (a class-per-folder tree, the FER2013 CSV)."""
