"""The documentation: every block of every page runs, and each generated page is current."""
