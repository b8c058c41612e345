"""The built-in tasks (ifan_tasks) and the task bases of core they are built on: readers, metrics,
JSON, overlays, conformance, learning, synthetic faces."""
