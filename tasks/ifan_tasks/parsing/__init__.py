"""Face parsing: per-pixel classes (Helen, FASSEG, CelebAMask-HQ, a mask folder)."""
