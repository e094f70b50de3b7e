"""Distances between feature sets: Frechet distance, KID, precision/recall.

All take numpy feature arrays `(n, d)` (e.g. a classifier's penultimate
activations on real and generated images) and return floats. They are the
building blocks of FID ("Frechet Inception Distance", Heusel et al. 2017),
KID (Binkowski et al. 2018) and improved precision and recall (Kynkaanniemi
et al. 2019).
"""

import numpy as np


def _moments(features):
    features = np.asarray(features, "float64")
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(
            "Expected features of shape (n, d) with n >= 2, received shape "
            f"{features.shape}."
        )
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _sqrt_psd(matrix):
    """Symmetric square root of a positive semi-definite matrix."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two feature sets.

        d^2 = ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))

    The trace of the matrix square root is computed as the sum of square
    roots of the eigenvalues of the symmetric PSD matrix
    S_a^(1/2) S_b S_a^(1/2), which has the same eigenvalues as S_a S_b: no
    complex numbers and no NaN, even for singular covariances (fewer samples
    than dimensions).

    Args:
        features_a: float array `(n_a, d)`.
        features_b: float array `(n_b, d)`.

    Returns:
        float, >= 0 (0 for identical sets, up to rounding).

    Example:

    >>> a = np.random.default_rng(0).normal(size=(500, 8))
    >>> round(frechet_distance(a, a), 6)
    0.0
    """
    mean_a, cov_a = _moments(features_a)
    mean_b, cov_b = _moments(features_b)
    if mean_a.shape != mean_b.shape:
        raise ValueError(
            f"Feature sizes differ: {mean_a.shape[0]} and {mean_b.shape[0]}."
        )
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    distance = (
        np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
        - 2 * trace_sqrt
    )
    return float(max(distance, 0.0))


def kernel_inception_distance(
    features_a, features_b, subset_size=1000, num_subsets=100, seed=0
):
    """Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel.

    k(x, y) = (x . y / d + 1)^3 (Binkowski et al. 2018), averaged over
    `num_subsets` random subsets of `subset_size` examples of each set (the
    estimator is unbiased, so it can be slightly negative for equal
    distributions).

    Args:
        features_a: float array `(n_a, d)`.
        features_b: float array `(n_b, d)`.
        subset_size: int, examples per subset (capped at the smaller set).
        num_subsets: int, subsets averaged.
        seed: int, seeds the subset draws.

    Returns:
        float, the mean MMD^2 estimate.

    References:
        Binkowski et al., "Demystifying MMD GANs", ICLR 2018.
        https://arxiv.org/abs/1801.01401
    """
    a = np.asarray(features_a, "float64")
    b = np.asarray(features_b, "float64")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 examples in each feature set.")
    dim = a.shape[1]
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(num_subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k_xx = (x @ x.T / dim + 1) ** 3
        k_yy = (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        off_diagonal = size * (size - 1)
        estimates.append(
            (k_xx.sum() - np.trace(k_xx)) / off_diagonal
            + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
            - 2 * k_xy.mean()
        )
    return float(np.mean(estimates))


def _pairwise_distances(a, b, batch_size=2000):
    """Euclidean distances `(len(a), len(b))`, computed in row blocks."""
    b_squared = (b**2).sum(axis=1)
    rows = []
    for start in range(0, len(a), batch_size):
        block = a[start : start + batch_size]
        squared = (block**2).sum(axis=1)[:, None] - 2 * block @ b.T + b_squared
        rows.append(np.sqrt(np.clip(squared, 0, None)))
    return np.concatenate(rows)


def _knn_radii(features, k):
    """Distance from each point to its k-th nearest other point."""
    distances = _pairwise_distances(features, features)
    # Column 0 of the sorted row is the point itself (distance 0).
    return np.partition(distances, k, axis=1)[:, k]


def _coverage(reference, radii, queries):
    """Fraction of `queries` inside at least one reference point's ball."""
    inside = _pairwise_distances(queries, reference) <= radii[None, :]
    return float(inside.any(axis=1).mean())


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall of generated samples (k-NN manifolds).

    The real manifold is the union of balls around each real feature whose
    radius is the distance to its k-th nearest real neighbour; likewise for
    the generated features. Precision is the fraction of generated samples
    inside the real manifold (are samples realistic?), recall the fraction of
    real samples inside the generated manifold (is the data covered?).

    Args:
        real_features: float array `(n, d)`.
        fake_features: float array `(m, d)`.
        k: int, the neighbour that sets the radii. Defaults to 3 (the paper).

    Returns:
        `(precision, recall)`, floats in [0, 1].

    References:
        Kynkaanniemi et al., "Improved Precision and Recall Metric for
        Assessing Generative Models", NeurIPS 2019.
        https://arxiv.org/abs/1904.06991
    """
    real = np.asarray(real_features, "float32")
    fake = np.asarray(fake_features, "float32")
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision_recall needs more than k={k} examples per set.")
    precision = _coverage(real, _knn_radii(real, k), fake)
    recall = _coverage(fake, _knn_radii(fake, k), real)
    return precision, recall
