"""Partly labeled data for semi-supervised learning (Salimans et al. 2016).

A few labeled examples, balanced over the classes and chosen with a seed,
and every training image as unlabeled data. Batches are `(images, labels)`
with label -1 marking an unlabeled image, the input
`keras_gen.models.SemiSupervisedGAN.fit` takes.
"""

import numbers

import numpy as np
import tensorflow as tf

from keras_gen.data import loader
from keras_gen.data.catalog import get_info

UNLABELED = -1


def _is_positive_int(value):
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value > 0
    )


def select_labeled(labels, num_labeled, num_classes, seed=0):
    """Indices of a class-balanced labeled subset, chosen with a seed.

    Draws `num_labeled // num_classes` distinct examples of every class
    (uniformly, without replacement), as in the paper's protocol (e.g. 100
    MNIST labels: 10 per digit).

    Args:
        labels: int array `(n,)` of class labels in `[0, num_classes)`.
        num_labeled: int, a positive multiple of `num_classes`.
        num_classes: int, the number of classes.
        seed: int, seeds the choice; the same seed gives the same subset.

    Returns:
        int64 array `(num_labeled,)` of distinct indices into `labels`,
        sorted.

    Raises:
        ValueError: if `num_labeled` is not a positive multiple of
            `num_classes`, or a class has fewer examples than it needs.

    Example:

    >>> select_labeled(np.arange(40) % 4, num_labeled=8, num_classes=4).shape
    (8,)
    """
    labels = np.asarray(labels)
    if not _is_positive_int(num_labeled) or num_labeled % num_classes:
        raise ValueError(
            f"num_labeled must be a positive multiple of the {num_classes} "
            f"classes (the same number of labels per class), received "
            f"{num_labeled!r}."
        )
    per_class = num_labeled // num_classes
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(num_classes):
        candidates = np.flatnonzero(labels == label)
        if len(candidates) < per_class:
            raise ValueError(
                f"Class {label} has {len(candidates)} examples; "
                f"num_labeled={num_labeled} needs {per_class} of each class."
            )
        chosen.append(rng.choice(candidates, per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype("int64")


def _checked_info(name):
    info = get_info(name)
    if info.kind != "image" or info.num_classes is None:
        raise ValueError(
            f"Semi-supervised data needs a labeled image data set (mnist, "
            f"fashion_mnist, cifar10); received {name!r}."
        )
    return info


def _split_arrays(info, split, data_dir):
    """All uint8 images and int labels of a split, in file order."""
    examples, _ = loader._image_examples(
        info, split, loader._resolve_data_dir(data_dir), shuffle=False, seed=None
    )
    images, labels = [], []
    for batch_images, batch_labels in examples.batch(10_000):
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(images), np.concatenate(labels).astype("int32")


def _to_float(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def labeled_subset(name="mnist", num_labeled=100, seed=0, data_dir=None):
    """The labeled examples `semi_supervised` uses, as numpy arrays.

    The same examples for the same `(name, num_labeled, seed)`: train a
    supervised baseline on them to compare with the semi-supervised model.

    Args:
        name: str, a labeled image data set (`"mnist"`, ...).
        num_labeled: int, a multiple of the number of classes. Defaults to
            100 (10 per MNIST digit).
        seed: int, seeds the choice (see `select_labeled`).
        data_dir: str or None, as for `keras_gen.data.load`.

    Returns:
        `(images, labels)`: float32 `(num_labeled, *shape)` in [-1, 1] and
        int32 `(num_labeled,)`, in training-file order.
    """
    info = _checked_info(name)
    images, labels = _split_arrays(info, "train", data_dir)
    chosen = select_labeled(labels, num_labeled, info.num_classes, seed)
    return _to_float(images[chosen]).numpy(), labels[chosen]


def semi_supervised(
    name="mnist",
    num_labeled=100,
    unlabeled_batch_size=100,
    labeled_batch_size=100,
    seed=0,
    data_dir=None,
):
    """Batches of unlabeled images mixed with a few labeled ones.

    The labeled set is `num_labeled` training examples, balanced over the
    classes and chosen with `seed` (`select_labeled`); it is shuffled and
    cycled, so every batch has `labeled_batch_size` of them (with the
    defaults, all 100 MNIST labels in a new order every batch, as in the
    paper's code). The unlabeled images are every training image (the
    labeled ones included: their labels are simply hidden there), shuffled
    anew each epoch; an epoch is one pass over them
    (`n_train // unlabeled_batch_size` batches).

    Each batch is `(images, labels)`: float32 images in [-1, 1] of shape
    `(unlabeled_batch_size + labeled_batch_size, *shape)`, the unlabeled
    ones first, and int32 labels with -1 for every unlabeled image.

    Args:
        name: str, a labeled image data set (`"mnist"`, `"fashion_mnist"`,
            `"cifar10"`).
        num_labeled: int, a multiple of the number of classes. Defaults to
            100.
        unlabeled_batch_size: int, unlabeled images per batch. Defaults to
            100.
        labeled_batch_size: int, labeled images per batch. Defaults to 100.
        seed: int, chooses the labeled examples and seeds the shuffling.
            Defaults to 0.
        data_dir: str or None, as for `keras_gen.data.load`.

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches.

    Example:

    >>> batches = semi_supervised("mnist", num_labeled=100)  # doctest: +SKIP
    >>> images, labels = next(iter(batches))  # doctest: +SKIP
    >>> images.shape, int((labels >= 0).numpy().sum())  # doctest: +SKIP
    (TensorShape([200, 28, 28, 1]), 100)
    """
    info = _checked_info(name)
    for arg_name, value in (
        ("unlabeled_batch_size", unlabeled_batch_size),
        ("labeled_batch_size", labeled_batch_size),
    ):
        if not _is_positive_int(value):
            raise ValueError(f"{arg_name} must be a positive int, received {value!r}.")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, received {seed!r}.")
    images, labels = _split_arrays(info, "train", data_dir)
    chosen = select_labeled(labels, num_labeled, info.num_classes, seed)
    unlabeled = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(unlabeled_batch_size, drop_remainder=True)
    )
    labeled = (
        tf.data.Dataset.from_tensor_slices((images[chosen], labels[chosen]))
        .shuffle(len(chosen), seed=seed + 1, reshuffle_each_iteration=True)
        .repeat()
        .batch(labeled_batch_size, drop_remainder=True)
    )

    def mix(unlabeled_images, labeled_batch):
        labeled_images, labeled_labels = labeled_batch
        batch_images = tf.concat(
            [_to_float(unlabeled_images), _to_float(labeled_images)], axis=0
        )
        batch_labels = tf.concat(
            [tf.fill([unlabeled_batch_size], UNLABELED), labeled_labels], axis=0
        )
        return batch_images, batch_labels

    return (
        tf.data.Dataset.zip((unlabeled, labeled))
        .map(mix, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
