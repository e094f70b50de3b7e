"""2-D toy distributions for GAN experiments, sampled in-graph with tf ops.

These are the distributions of the WGAN-GP toy experiments (Gulrajani et al.
2017, `gan_toy.py`): a ring of 8 Gaussians, a 5x5 grid of 25 Gaussians and a
swiss roll. They are points in the plane, not images, so they are not scaled
into [-1, 1]:

- `gaussian_mixture_8`: 8 equally likely Gaussians with std 0.02 whose centers
  lie evenly on a circle of radius 2, center k at angle 2*pi*k/8 (k = 0 is
  (2, 0), then counter-clockwise). Points lie within about [-2.1, 2.1]^2.
- `gaussian_mixture_25`: 25 equally likely Gaussians with std 0.05 centered
  on the grid {-2, -1, 0, 1, 2}^2, center k at (x, y) = (k // 5 - 2, k % 5 - 2).
- `swiss_roll`: sklearn's `make_swiss_roll(noise=0.25)` projected to its
  (x, z) plane and divided by 7.5, exactly as in `gan_toy.py`: with
  t ~ U[1.5*pi, 4.5*pi], point = ((t cos t, t sin t) + 0.25 * N(0, I)) / 7.5,
  roughly within [-1.3, 1.7] x [-1.5, 1.9].

`gan_toy.py` further divides its mixtures by their overall std (1.414 for 8,
2.828 for 25); the geometry kept here (radius 2, unit grid) is the one the
papers describe, and `mixture_centers` / `mixture_stddev` report it, so mode
coverage is measured in the same units as the data.

Example `i` of a split is a pure function of `(seed, split, i)`, so a data
set is the same whatever the batch size, and the train and test splits are
independent draws.
"""

import functools
import math
import random

import numpy as np
import tensorflow as tf

from keras_gen.data.catalog import get_info

DEFAULT_NUM_EXAMPLES = 100_000
# Examples are drawn this many at a time (one vectorized op per block) and
# then unbatched; this only affects speed, never the values.
_BLOCK_SIZE = 1024
_SPLIT_STREAMS = {"train": 0, "test": 1}
_SWISS_ROLL_NOISE = 0.25
_SWISS_ROLL_SCALE = 7.5


def _ring_centers(count, radius):
    angles = 2 * np.pi * np.arange(count) / count
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def _grid_centers(coordinates):
    return np.array([(x, y) for x in coordinates for y in coordinates], float)


# name -> (centers of shape (K, 2), std of every component)
_MIXTURES = {
    "gaussian_mixture_8": (_ring_centers(8, radius=2.0), 0.02),
    "gaussian_mixture_25": (_grid_centers(range(-2, 3)), 0.05),
}


def _mixture(name):
    get_info(name)  # Unknown names: ValueError with close matches.
    if name not in _MIXTURES:
        raise ValueError(
            f"{name!r} is not a Gaussian mixture; mixtures are "
            f"{', '.join(sorted(_MIXTURES))}."
        )
    return _MIXTURES[name]


def mixture_centers(name):
    """Returns the centers (modes) of a toy Gaussian mixture.

    Args:
        name: str, `"gaussian_mixture_8"` or `"gaussian_mixture_25"`.

    Returns:
        A new float32 numpy array of shape `(K, 2)`; row k is the center of
        the component whose label is k.

    Example:

    >>> mixture_centers("gaussian_mixture_8")[0]
    array([2., 0.], dtype=float32)
    """
    return _mixture(name)[0].astype(np.float32)


def mixture_stddev(name):
    """Returns the standard deviation (per axis) of each mixture component.

    Args:
        name: str, `"gaussian_mixture_8"` or `"gaussian_mixture_25"`.

    Example:

    >>> mixture_stddev("gaussian_mixture_25")
    0.05
    """
    return _mixture(name)[1]


def _sample_mixture(key, size, centers, stddev):
    component_key, noise_key = tf.unstack(tf.random.experimental.stateless_split(key))
    components = tf.random.stateless_uniform(
        [size], component_key, minval=0, maxval=len(centers), dtype=tf.int32
    )
    noise = tf.random.stateless_normal([size, 2], noise_key)
    points = tf.gather(tf.constant(centers, tf.float32), components) + stddev * noise
    return points, components


def _sample_swiss_roll(key, size):
    angle_key, noise_key = tf.unstack(tf.random.experimental.stateless_split(key))
    t = 1.5 * math.pi * (1.0 + 2.0 * tf.random.stateless_uniform([size], angle_key))
    roll = tf.stack([t * tf.cos(t), t * tf.sin(t)], axis=-1)
    noise = tf.random.stateless_normal([size, 2], noise_key)
    return (roll + _SWISS_ROLL_NOISE * noise) / _SWISS_ROLL_SCALE


def toy_examples(name, split, num_examples, seed):
    """Returns a toy data set as unbatched examples generated in-graph.

    Args:
        name: str, a toy data set name.
        split: str, `"train"` or `"test"`; each draws its own examples.
        num_examples: int, the number of examples (one epoch).
        seed: int or None; None draws one from Python's `random` (so
            `keras.utils.set_random_seed` makes it reproducible too).

    Returns:
        A `tf.data.Dataset` of float32 points of shape `(2,)`, paired with
        the int32 component index for mixtures.

    Example:

    >>> points, labels = next(iter(
    ...     toy_examples("gaussian_mixture_8", "train", 10, seed=0)))
    """
    if seed is None:
        seed = random.getrandbits(63)
    split_key = tf.constant([seed, _SPLIT_STREAMS[split]], tf.int64)
    if name in _MIXTURES:
        centers, stddev = _MIXTURES[name]
        sample = functools.partial(
            _sample_mixture, size=_BLOCK_SIZE, centers=centers, stddev=stddev
        )
    else:
        sample = functools.partial(_sample_swiss_roll, size=_BLOCK_SIZE)
    num_blocks = -(-num_examples // _BLOCK_SIZE)
    fold_in = tf.random.experimental.stateless_fold_in
    blocks = tf.data.Dataset.range(num_blocks).map(
        lambda block: sample(fold_in(split_key, block)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    examples = blocks.unbatch().take(num_examples)
    return examples.apply(tf.data.experimental.assert_cardinality(num_examples))
