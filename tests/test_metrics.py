"""Metrics of samples, against counts worked out by hand."""

import numpy as np

from keras_gen import data
from keras_gen import metrics


def test_mode_coverage_counts_by_hand():
    centers = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    samples = np.array([
        [0.01, 0.0],   # mode 0, 0.5 std away: high quality
        [0.0, -0.02],  # mode 0, 1 std
        [1.05, 0.0],   # mode 1, 2.5 std
        [1.0, 0.07],   # nearest mode 1 but 3.5 std away: not high quality
        [0.5, 0.5],    # between modes
    ])
    result = metrics.mode_coverage(samples, centers, stddev=0.02, min_fraction=0.2)
    # Mode 0 has 2/5 = 0.4, mode 1 has 1/5 = 0.2, mode 2 has 0.
    np.testing.assert_allclose(result["mode_fractions"], [0.4, 0.2, 0.0])
    assert result["covered_modes"] == 2 and result["num_modes"] == 3
    assert result["high_quality_fraction"] == 3 / 5
    assert metrics.mode_coverage(samples, centers, 0.02, min_fraction=0.3)[
        "covered_modes"
    ] == 1


def test_real_mixture_samples_cover_every_mode_and_collapse_covers_one():
    name = "gaussian_mixture_8"
    centers, stddev = data.mixture_centers(name), data.mixture_stddev(name)
    real = data.load(name, batch_size=2000, num_examples=2000, seed=0)
    real = real.get_single_element().numpy()
    result = metrics.mode_coverage(real, centers, stddev)
    assert result["covered_modes"] == 8
    assert result["high_quality_fraction"] > 0.98  # 3 std in 2-D: 98.9%.
    collapsed = centers[3] + np.random.default_rng(0).normal(0, stddev, (500, 2))
    assert metrics.mode_coverage(collapsed, centers, stddev)["covered_modes"] == 1
