"""The InfoGAN discriminator: a DCGAN trunk with a second head, Q."""

import keras

from keras_gen.networks.dcgan import build_dcgan_discriminator


def build_infogan_discriminator(
    image_shape,
    num_code_params,
    base_filters=64,
    kernel_size=5,
    q_hidden_units=128,
    name="discriminator",
):
    """Builds the discriminator D and the auxiliary network Q of InfoGAN.

    D and Q share the convolutional trunk of the DCGAN discriminator (with
    batch norm), as in Chen et al. 2016: D's head is one real/fake logit,
    Q's head (a hidden dense layer with batch norm and LeakyReLU, then a
    linear layer) gives the parameters of Q(c | x).

    Args:
        image_shape: tuple `(height, width, channels)`.
        num_code_params: int, size of Q's output (for InfoGAN: the logits of
            the categorical code, then the means of the continuous codes).
        base_filters: int, filters of the trunk's first stage.
        kernel_size: int, convolution kernel size.
        q_hidden_units: int, width of Q's hidden layer.
        name: str, the model name.

    Returns:
        A functional `keras.Model` mapping images to
        `[logits (batch, 1), code_params (batch, num_code_params)]`.
    """
    if not isinstance(num_code_params, int) or num_code_params < 1:
        raise ValueError(
            f"num_code_params must be a positive int, received {num_code_params!r}."
        )
    trunk = build_dcgan_discriminator(
        image_shape, base_filters, kernel_size=kernel_size, normalization="batch"
    )
    # The trunk's flattened features feed both heads.
    features = trunk.get_layer(index=-2).output
    x = keras.layers.Dense(q_hidden_units, use_bias=False)(features)
    x = keras.layers.BatchNormalization(synchronized=True)(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    code_params = keras.layers.Dense(num_code_params, name="code_params")(x)
    return keras.Model(trunk.inputs, [trunk.outputs[0], code_params], name=name)
