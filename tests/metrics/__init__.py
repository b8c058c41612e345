"""The metrics of core (ifan.metrics)."""
