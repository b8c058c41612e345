"""Shared dataset-reading helpers for task plugins: errors, list files, images and crops."""
