"""Mode coverage of samples from a mixture of Gaussians (the 2-D toy test)."""

import numpy as np


def mode_coverage(samples, centers, stddev, max_stddevs=3.0, min_fraction=0.01):
    """How many modes of a Gaussian mixture the samples cover, and how well.

    A sample is "high quality" if it lies within `max_stddevs` standard
    deviations of its nearest mode (Srivastava et al. 2017); a mode is
    covered if at least `min_fraction` of all samples are high-quality
    samples of that mode (with 8 equal modes, a perfect model gives each
    12.5%).

    Args:
        samples: float array `(n, d)`.
        centers: float array `(K, d)`, the mixture's means.
        stddev: float, the components' standard deviation.
        max_stddevs: float, the high-quality radius in standard deviations.
        min_fraction: float, the share of samples a mode needs to count.

    Returns:
        dict with `covered_modes` (int), `num_modes` (int),
        `high_quality_fraction` (float) and `mode_fractions` (list of K
        floats, the share of samples that are high-quality samples of each
        mode).

    Example:

    >>> from keras_gen import data, metrics
    >>> centers = data.mixture_centers("gaussian_mixture_8")
    >>> metrics.mode_coverage(centers.repeat(10, axis=0), centers, 0.02)[
    ...     "covered_modes"]
    8
    """
    samples = np.asarray(samples, "float64")
    centers = np.asarray(centers, "float64")
    distances = np.linalg.norm(samples[:, None, :] - centers[None], axis=-1)
    nearest = distances.argmin(axis=1)
    high_quality = distances.min(axis=1) <= max_stddevs * stddev
    counts = np.bincount(nearest[high_quality], minlength=len(centers))
    fractions = counts / max(len(samples), 1)
    return {
        "covered_modes": int((fractions >= min_fraction).sum()),
        "num_modes": len(centers),
        "high_quality_fraction": float(high_quality.mean()),
        "mode_fractions": [float(f) for f in fractions],
    }
