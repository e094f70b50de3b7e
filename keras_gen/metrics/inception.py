"""FID with InceptionV3 pool features: the standard, for users with the weights.

Computes "Frechet Inception Distance" (Heusel et al. 2017) the way
compare_gan does: images in [-1, 1] resized to 299x299 (bilinear),
grayscale tiled to 3 channels, InceptionV3's 2048 average-pool features.
`keras.applications.InceptionV3` downloads its ImageNet weights on first use
(or reads a local file); with no network and no file, pass `weights=None`
only to test the plumbing: random weights give meaningless numbers.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.metrics.distances import frechet_distance

INCEPTION_SIZE = 299


class InceptionFeatures:
    """InceptionV3 average-pool features (2048) of images in [-1, 1].

    Args:
        weights: `"imagenet"` (downloaded by Keras), a path to a weights
            file of `keras.applications.InceptionV3(include_top=False)`, or
            None (random weights, for tests only).
        batch_size: int, images per forward pass.
    """

    def __init__(self, weights="imagenet", batch_size=50):
        self.model = keras.applications.InceptionV3(
            include_top=False,
            weights=weights,
            input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3),
            pooling="avg",
        )
        self.batch_size = batch_size

    @staticmethod
    def preprocess(images):
        """Resizes to 299x299 and tiles grayscale to RGB; keeps [-1, 1]."""
        images = tf.convert_to_tensor(images, tf.float32)
        if images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, 3])
        if images.shape[-1] != 3:
            raise ValueError(
                "InceptionV3 takes grayscale or RGB images, received "
                f"{images.shape[-1]} channels."
            )
        return tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE))

    def __call__(self, images):
        """Returns float64 features `(n, 2048)`."""
        features = [
            self.model.predict_on_batch(
                self.preprocess(images[start : start + self.batch_size])
            )
            for start in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(features).astype("float64")


def frechet_inception_distance(images_a, images_b, weights="imagenet", batch_size=50):
    """FID between two image sets in [-1, 1] with InceptionV3 pool features.

    Args:
        images_a: float array `(n, H, W, C)`, C = 1 or 3, values in [-1, 1].
        images_b: float array of the same kind.
        weights: see `InceptionFeatures`.
        batch_size: int, images per forward pass.

    Returns:
        float.

    References:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge
        to a Local Nash Equilibrium", 2017. https://arxiv.org/abs/1706.08500
    """
    extractor = InceptionFeatures(weights, batch_size)
    return frechet_distance(extractor(images_a), extractor(images_b))
