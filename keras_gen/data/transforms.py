"""Transformations of image batches."""

import tensorflow as tf


def binarize(images, seed=None):
    """Samples binary images: each pixel is 1 with probability (x + 1) / 2.

    The standard binarization of MNIST for likelihood benchmarks: mapping
    [-1, 1] grey levels to {-1, 1} outcomes of independent Bernoulli draws.
    "Dynamic" binarization draws anew every epoch (`seed=None` inside a
    `tf.data` map); a test set is binarized once with a fixed `seed`.

    Args:
        images: float tensor or array of images in [-1, 1].
        seed: int or None. An int gives the same binary images every call.

    Returns:
        float32 tensor of the same shape, values in {-1, 1}.

    Example:

    >>> train = keras_gen.data.load("mnist").map(binarize)  # doctest: +SKIP
    >>> test_images = binarize(test_images, seed=0)  # doctest: +SKIP
    """
    images = tf.convert_to_tensor(images, tf.float32)
    probabilities = (images + 1.0) / 2.0
    if seed is None:
        uniform = tf.random.uniform(tf.shape(images))
    else:
        uniform = tf.random.stateless_uniform(tf.shape(images), seed=[seed, 0])
    return tf.where(uniform < probabilities, 1.0, -1.0)
