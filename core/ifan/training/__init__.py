"""Cross-dataset hybrid training: scheduler, checkpoints, history."""
