"""The run folder (ifan.runs): checkpoints, the metrics log and its pictures."""
