"""Facial landmarks: point coordinates (MTFL, 300-W/menpo .pts, CSV)."""
