"""Convolutional encoders and decoders for the autoencoder family."""

import keras

from keras_gen.networks.conditioning import data_inputs
from keras_gen.networks.conditioning import label_embedding
from keras_gen.networks.conditioning import latent_inputs
from keras_gen.networks.dcgan import _check_image_shape
from keras_gen.networks.dcgan import _num_upsamplings


def build_conv_encoder(
    image_shape,
    output_size,
    base_filters=32,
    hidden_units=256,
    num_classes=None,
    name="encoder",
):
    """Builds a convolutional encoder: stride-2 stages, then dense outputs.

    For `image_shape=(28, 28, 1)` and `base_filters=32`: 28x28x1 ->
    14x14x32 -> 7x7x64 -> dense(hidden_units) -> `output_size` (e.g. the
    posterior's `2 * latent_dim` parameters).

    Args:
        image_shape: tuple `(height, width, channels)`.
        output_size: int, size of the output vector.
        base_filters: int, filters of the first stage; each later stage
            doubles it.
        hidden_units: int, width of the dense layer before the output.
        num_classes: int or None. If set, the network takes `[image, label]`
            and sees the label as an extra input channel and beside the
            dense features.
        name: str, the model name.

    Returns:
        A functional `keras.Model` with output shape `(batch, output_size)`.
    """
    image_shape = _check_image_shape(image_shape)
    stages, _ = _num_upsamplings(image_shape)
    inputs, x, label = data_inputs(image_shape, num_classes, name="image")
    filters = base_filters
    for _ in range(stages):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="elu")(x)
        x = keras.layers.Conv2D(
            filters, 3, strides=2, padding="same", activation="elu"
        )(x)
        filters *= 2
    x = keras.layers.Flatten()(x)
    if label is not None:
        x = keras.layers.Concatenate()([x, label_embedding(label, num_classes)])
    x = keras.layers.Dense(hidden_units, activation="elu")(x)
    outputs = keras.layers.Dense(output_size, name="outputs")(x)
    return keras.Model(inputs, outputs, name=name)


def build_conv_decoder(
    latent_dim,
    image_shape,
    base_filters=32,
    hidden_units=256,
    num_classes=None,
    name="decoder",
):
    """Builds a convolutional decoder: dense seed map, transposed convs.

    For `image_shape=(28, 28, 1)` and `base_filters=32`: z -> dense ->
    7x7x64 -> 14x14x64 -> 28x28x32 -> 28x28x1. The output is unbounded:
    the model maps it to its likelihood's parameters (Bernoulli logits,
    Gaussian mean).

    Args:
        latent_dim: int, size of the latent vector z.
        image_shape: tuple `(height, width, channels)`.
        base_filters: int, filters of the last stage; each earlier stage
            doubles it.
        hidden_units: int, width of the first dense layer.
        num_classes: int or None. If set, the network takes `[latent, label]`.
        name: str, the model name.

    Returns:
        A functional `keras.Model` mapping `(batch, latent_dim)` to
        `(batch, height, width, channels)`.
    """
    image_shape = _check_image_shape(image_shape)
    stages, (height, width) = _num_upsamplings(image_shape)
    inputs, x = latent_inputs(latent_dim, num_classes)
    filters = base_filters * 2 ** (stages - 1)
    x = keras.layers.Dense(hidden_units, activation="elu")(x)
    x = keras.layers.Dense(height * width * filters, activation="elu")(x)
    x = keras.layers.Reshape((height, width, filters))(x)
    for stage in range(stages):
        x = keras.layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", activation="elu"
        )(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="elu")(x)
        filters = max(filters // 2, base_filters)
    outputs = keras.layers.Conv2D(
        image_shape[-1], 3, padding="same", name="outputs"
    )(x)
    return keras.Model(inputs, outputs, name=name)
