"""Metrics of samples, against counts worked out by hand."""

import numpy as np
import pytest

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


def test_frechet_distance_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    b = rng.normal(loc=0.5, scale=1.5, size=(300, 6)) @ rng.normal(size=(6, 6))
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr((S_a S_b)^(1/2)) from the eigenvalues of the non-symmetric product.
    trace_sqrt = np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real.clip(0)).sum()
    direct = (
        ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b)
        - 2 * trace_sqrt
    )
    np.testing.assert_allclose(metrics.frechet_distance(a, b), direct, rtol=1e-8)
    assert metrics.frechet_distance(a, a) < 1e-8


def test_frechet_distance_of_1d_gaussians_by_hand():
    # 1-D: d^2 = (m_a - m_b)^2 + (s_a - s_b)^2. Sets {-1, 1} and {2, 6}:
    # means 0 and 4, sample std sqrt(2) and sqrt(8) = 2 sqrt(2):
    # d^2 = 16 + (sqrt(2) - 2 sqrt(2))^2 = 16 + 2 = 18.
    a, b = np.array([[-1.0], [1.0]]), np.array([[2.0], [6.0]])
    np.testing.assert_allclose(metrics.frechet_distance(a, b), 18.0, rtol=1e-10)


def test_frechet_distance_is_finite_for_singular_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(10, 50)), rng.normal(size=(12, 50))  # n < d.
    distance = metrics.frechet_distance(a, b)
    assert np.isfinite(distance) and distance > 0
    assert metrics.frechet_distance(a, a) < 1e-6


def test_kernel_inception_distance_by_hand():
    # d = 1, k(u, v) = (u v + 1)^3. x = {0, 1}, y = {2, 3}:
    # k_xx off-diagonal mean = k(0, 1) = 1; k_yy = k(2, 3) = 7^3 = 343;
    # k_xy mean = (1 + 1 + 27 + 64) / 4 = 23.25; MMD^2 = 1 + 343 - 46.5.
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    kid = metrics.kernel_inception_distance(x, y, subset_size=2, num_subsets=3)
    np.testing.assert_allclose(kid, 297.5)
    rng = np.random.default_rng(0)
    same = metrics.kernel_inception_distance(
        rng.normal(size=(500, 4)), rng.normal(size=(500, 4)), subset_size=200,
        num_subsets=10,
    )
    assert abs(same) < 0.05


def test_precision_recall_by_hand():
    real = np.arange(5, dtype="float32")[:, None]  # 0..4, k=1 radii all 1.
    fake = np.array([[0.5], [10.0]], "float32")  # 0.5 is inside, 10 is not.
    precision, recall = metrics.precision_recall(real, fake, k=1)
    assert precision == 0.5
    # The two fakes are each other's neighbour: radii 9.5 cover all of 0..4.
    assert recall == 1.0
    same = np.random.default_rng(0).normal(size=(300, 3))
    assert metrics.precision_recall(same, same, k=3) == (1.0, 1.0)


def test_matched_accuracy_by_hand():
    # Code 0 meets classes [1, 1, 2], code 1 meets [0, 0, 1]; the injective
    # map 0 -> 1, 1 -> 0 agrees with 2 + 2 = 4 of 6; majority gives the same.
    codes = np.array([0, 0, 0, 1, 1, 1])
    labels = np.array([1, 1, 2, 0, 0, 1])
    result = metrics.matched_accuracy(codes, labels, num_codes=2, num_classes=3)
    assert result["one_to_one"] == 4 / 6 and result["one_to_one_map"] == [1, 0]
    assert result["majority"] == 4 / 6
    # Code 0 meets [0, 0], code 1 meets [0, 0, 1]: majority maps both to
    # class 0 (4 of 5); one-to-one can send only one there: 0 -> 0, 1 -> 1
    # (2 + 1) beats 0 -> 1, 1 -> 0 (0 + 2), so 3 of 5.
    result = metrics.matched_accuracy([0, 0, 1, 1, 1], [0, 0, 0, 0, 1], 2, 2)
    assert result["majority"] == 4 / 5 and result["majority_map"] == [0, 0]
    assert result["one_to_one"] == 3 / 5 and result["one_to_one_map"] == [0, 1]


def test_matched_accuracy_recovers_a_permutation_and_matches_brute_force():
    import itertools

    from keras_gen.metrics import matching

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    permutation = rng.permutation(10)
    result = metrics.matched_accuracy(permutation[labels], labels, 10, 10)
    assert result["one_to_one"] == 1.0
    np.testing.assert_array_equal(np.array(result["one_to_one_map"])[permutation], np.arange(10))
    for _ in range(5):
        counts = rng.integers(0, 20, (5, 6))
        best = max(
            sum(counts[i, cls] for i, cls in enumerate(choice))
            for choice in itertools.permutations(range(6), 5)
        )
        assignment = matching.best_one_to_one(counts)
        assert len(set(assignment)) == 5
        assert counts[np.arange(5), assignment].sum() == best


def test_matched_accuracy_rejects_bad_codes():
    with pytest.raises(ValueError, match=r"codes must be in \[0, 3\)"):
        metrics.matched_accuracy([0, 3], [0, 1], 3, 3)
    with pytest.raises(ValueError, match="same length"):
        metrics.matched_accuracy([0, 1], [0, 1, 1], 3, 3)
    with pytest.raises(ValueError, match="integers"):
        metrics.matched_accuracy([0.5, 1.0], [0, 1], 3, 3)
    with pytest.raises(ValueError, match="no more codes"):
        metrics.matched_accuracy([0, 4], [0, 1], 5, 3)
