"""bench.crops' arithmetic: the network's window in a training crop, and the paths' medians and
their spread."""

from __future__ import annotations

import pytest
import torch

from bench.crops import central_window, medians_and_spread


def test_the_training_window_is_the_centre_of_the_room_in_0_1():
    image = torch.arange(100, dtype=torch.uint8).reshape(1, 10, 10)
    window = central_window(image, room=1.25)  # an inner side of 8, one pixel of room each way
    assert window.shape == (1, 8, 8)
    assert window[0, 0, 0] == pytest.approx(11 / 255) and window[0, -1, -1] == pytest.approx(
        88 / 255
    )
    assert central_window(image.float() / 255, room=1.25).equal(window)


def test_the_spread_is_the_largest_median_over_the_smallest_minus_one():
    rows = {
        "training": {"iod": [0.30, 0.32, 0.34], "detected": [0.5]},
        "eval": {"iod": [0.33], "detected": []},
        "predict": {"iod": [0.30, 0.30], "detected": [0.6]},
        "before": {"iod": [0.2], "detected": []},
    }
    medians, spread = medians_and_spread(rows)
    assert medians["training"] == {"iod": pytest.approx(0.32), "detected": 0.5}
    assert medians["eval"]["detected"] is None
    assert spread == {"iod": pytest.approx(0.33 / 0.30 - 1)}  # "detected": eval found none
