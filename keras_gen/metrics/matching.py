"""Accuracy of unsupervised codes after matching them to classes.

An InfoGAN's categorical code (or any clustering) names its categories in
its own order; its accuracy as a classifier is that of the best map from
categories to classes (Chen et al. 2016 report about 5% error on MNIST).
"""

import numpy as np


def confusion_matrix(codes, labels, num_codes, num_classes):
    """Counts `(num_codes, num_classes)`: how often code i meets class j."""
    codes = _checked_indices(codes, num_codes, "codes")
    labels = _checked_indices(labels, num_classes, "labels")
    if codes.shape != labels.shape:
        raise ValueError(
            "codes and labels must have the same length, received "
            f"{codes.shape[0]} and {labels.shape[0]}."
        )
    counts = np.zeros((num_codes, num_classes), np.int64)
    np.add.at(counts, (codes, labels), 1)
    return counts


def best_one_to_one(counts):
    """The injective map code -> class that agrees with most examples.

    Exact, by dynamic programming over the sets of classes already used
    (O(codes * 2^classes); fine for the 10 or so classes of a data set).

    Args:
        counts: int array `(num_codes, num_classes)`, `num_codes <=
            num_classes`, e.g. from `confusion_matrix`.

    Returns:
        int array `(num_codes,)`: the class of each code.
    """
    counts = np.asarray(counts)
    num_codes, num_classes = counts.shape
    if num_codes > num_classes:
        raise ValueError(
            f"A one-to-one map needs no more codes ({num_codes}) than classes "
            f"({num_classes}); use the majority map."
        )
    if num_classes > 20:
        raise ValueError(f"Too many classes for the exact search: {num_classes}.")
    # best[used] = most agreements of codes 0..k-1 mapped into the set `used`
    # of k classes; processed in order of k, code k takes one new class.
    best = {0: (0, ())}
    for code in range(num_codes):
        layer = {}
        for used, (score, assignment) in best.items():
            for cls in range(num_classes):
                if used & (1 << cls):
                    continue
                key = used | (1 << cls)
                candidate = score + counts[code, cls]
                if key not in layer or candidate > layer[key][0]:
                    layer[key] = (candidate, assignment + (cls,))
        best = layer
    _, assignment = max(best.values(), key=lambda item: item[0])
    return np.array(assignment, np.int64)


def matched_accuracy(codes, labels, num_codes, num_classes):
    """Accuracy of codes as class predictions, after matching.

    Args:
        codes: int array `(n,)` in [0, num_codes), e.g. an InfoGAN's
            predicted category.
        labels: int array `(n,)` in [0, num_classes), the true classes.
        num_codes: int.
        num_classes: int.

    Returns:
        dict: `one_to_one` (accuracy under the best injective map, the usual
        clustering accuracy), `majority` (each code mapped to its most frequent
        class; can only be higher, and is when two codes share a class),
        `one_to_one_map` and `majority_map` (lists, the class of each code).

    Example:

    >>> matched_accuracy([1, 1, 0, 0], [0, 0, 1, 0], 2, 2)["one_to_one"]
    0.75
    """
    counts = confusion_matrix(codes, labels, num_codes, num_classes)
    total = counts.sum()
    one_to_one = best_one_to_one(counts)
    majority = counts.argmax(axis=1)
    rows = np.arange(num_codes)
    return {
        "one_to_one": float(counts[rows, one_to_one].sum() / total),
        "majority": float(counts[rows, majority].sum() / total),
        "one_to_one_map": one_to_one.tolist(),
        "majority_map": majority.tolist(),
    }


def _checked_indices(values, size, name):
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, received shape {values.shape}.")
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must be integers, received dtype {values.dtype}.")
    if values.min() < 0 or values.max() >= size:
        raise ValueError(
            f"{name} must be in [0, {size}), received values in "
            f"[{values.min()}, {values.max()}]."
        )
    return values.astype(np.int64)
