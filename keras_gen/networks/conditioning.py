"""Ways to feed an integer class label into a network, built from stock layers.

Only built-in layers are used (no `Lambda`), so networks that use them load
under `safe_mode=True`.
"""

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


def latent_inputs(latent_dim, num_classes=None):
    """Inputs of a generator or decoder: `latent`, plus `label` if conditional.

    Returns:
        `(inputs, x)`: the `keras.Input` (or `[latent, label]`) to build the
        model with, and the tensor to build on (the latent vector, with the
        label's embedding concatenated when conditional).
    """
    latent = keras.Input((latent_dim,), name="latent")
    if num_classes is None:
        return latent, latent
    label = keras.Input((), dtype="int32", name="label")
    x = keras.layers.Concatenate()([latent, label_embedding(label, num_classes)])
    return [latent, label], x


def data_inputs(data_shape, num_classes=None, name="data"):
    """Inputs of a discriminator or encoder: data, plus `label` if conditional.

    Returns:
        `(inputs, x, label)`: the `keras.Input` (or `[data, label]`), the
        tensor to build on (images get the label as an extra channel), and
        the label input (None if unconditional) for a later embedding.
    """
    data_shape = tuple(data_shape)
    data = keras.Input(data_shape, name=name)
    if num_classes is None:
        return data, data, None
    label = keras.Input((), dtype="int32", name="label")
    x = data
    if len(data_shape) == 3:
        x = keras.layers.Concatenate()(
            [data, label_channel(label, num_classes, data_shape[:2])]
        )
    return [data, label], x, label
