"""Fully connected generators and discriminators (Goodfellow et al. 2014)."""

import math

import keras

from keras_gen.networks.conditioning import data_inputs
from keras_gen.networks.conditioning import label_embedding
from keras_gen.networks.conditioning import latent_inputs


def _resolve_output_activation(output_activation, data_shape):
    """`"auto"` means tanh for images (data in [-1, 1]), linear for vectors."""
    if output_activation == "auto":
        return "tanh" if len(data_shape) == 3 else None
    return output_activation


def build_mlp_generator(
    latent_dim,
    data_shape,
    hidden_units=(256, 512),
    output_activation="auto",
    num_classes=None,
    activation="relu",
    batch_norm=False,
    name="generator",
):
    """Builds an MLP generator mapping latent vectors to data of any shape.

    Args:
        latent_dim: int, size of the latent vector z.
        data_shape: tuple, shape of one generated example, e.g. `(2,)` or
            `(28, 28, 1)`.
        hidden_units: tuple of ints, width of each hidden layer.
        output_activation: `"auto"` (tanh for image shapes, whose data lives
            in [-1, 1]; linear otherwise), an activation name, or `None`.
        num_classes: int or None. If set, the network is conditional and takes
            `[latent, label]`, the label embedded and concatenated to z
            (Mirza & Osindero 2014).
        activation: str, the hidden layers' activation. Defaults to ReLU.
        batch_norm: bool, batch norm before each hidden activation (as in
            the semi-supervised GAN of Salimans et al. 2016). Defaults to
            False.
        name: str, the model name.

    Returns:
        A functional `keras.Model`.
    """
    data_shape = tuple(data_shape)
    inputs, x = latent_inputs(latent_dim, num_classes)
    for units in hidden_units:
        if batch_norm:
            x = keras.layers.Dense(units, use_bias=False)(x)
            x = keras.layers.BatchNormalization(synchronized=True)(x)
            x = keras.layers.Activation(activation)(x)
        else:
            x = keras.layers.Dense(units, activation=activation)(x)
    x = keras.layers.Dense(
        math.prod(data_shape),
        activation=_resolve_output_activation(output_activation, data_shape),
    )(x)
    x = keras.layers.Reshape(data_shape)(x)
    return keras.Model(inputs, x, name=name)


def build_mlp_discriminator(
    data_shape,
    hidden_units=(512, 256),
    num_classes=None,
    name="discriminator",
):
    """Builds an MLP discriminator returning one logit per example.

    Args:
        data_shape: tuple, shape of one example.
        hidden_units: tuple of ints, width of each hidden layer
            (LeakyReLU(0.2)).
        num_classes: int or None. If set, the network takes `[data, label]`
            and sees the embedded label beside the flattened data.
        name: str, the model name.

    Returns:
        A functional `keras.Model` with output shape `(batch, 1)`.
    """
    inputs, x, label = data_inputs(data_shape, num_classes)
    x = keras.layers.Flatten()(x)
    if label is not None:
        x = keras.layers.Concatenate()([x, label_embedding(label, num_classes)])
    for units in hidden_units:
        x = keras.layers.Dense(units)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    logits = keras.layers.Dense(1, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
