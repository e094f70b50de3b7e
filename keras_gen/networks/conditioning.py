"""Ways to feed an integer class label into a network, built from stock layers.

Only built-in layers are used (no `Lambda`), so networks that use them load
under `safe_mode=True`.
"""

import math

import keras


def label_embedding(label, num_classes, dim=50):
    """Embeds int labels of shape `(batch,)` as vectors `(batch, dim)`."""
    return keras.layers.Embedding(num_classes, dim, name="label_embedding")(label)


def label_channel(label, num_classes, spatial_shape):
    """Embeds int labels as one extra image channel `(batch, H, W, 1)`.

    The discriminator of a conditional image GAN concatenates this map to its
    input image, so every convolution sees the class.
    """
    height, width = spatial_shape
    x = keras.layers.Embedding(
        num_classes, height * width, name="label_channel_embedding"
    )(label)
    return keras.layers.Reshape((height, width, 1))(x)
