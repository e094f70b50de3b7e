"""Convolutional generators and discriminators (Radford et al. 2015).

The networks follow the DCGAN guidelines: strided (transposed) convolutions
instead of pooling, batch norm in the generator, ReLU in the generator and
LeakyReLU(0.2) in the discriminator, tanh output. Batch norm uses
`synchronized=True`, so under `tf.distribute` the statistics are those of the
global batch and training does not depend on the number of replicas.
"""

import keras

from keras_gen.networks.conditioning import data_inputs
from keras_gen.networks.conditioning import latent_inputs


def _num_upsamplings(image_shape):
    """How many stride-2 stages take a small seed map to `image_shape`.

    Halves the side while it stays even and above 4: 28 -> 14 -> 7 (2 stages),
    32 -> 16 -> 8 -> 4 (3 stages), 64 -> 4 (4 stages).
    """
    height, width = image_shape[:2]
    stages = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) > 4:
        height, width, stages = height // 2, width // 2, stages + 1
    if stages == 0:
        raise ValueError(
            f"image_shape={tuple(image_shape)} cannot be reached by stride-2 "
            "upsampling: height and width must be even and above 4 (e.g. "
            "8, 28, 32, 64)."
        )
    return stages, (height, width)


def _check_image_shape(image_shape):
    image_shape = tuple(image_shape)
    if len(image_shape) != 3:
        raise ValueError(
            "Expected image_shape=(height, width, channels), received "
            f"image_shape={image_shape}."
        )
    return image_shape


def build_dcgan_generator(
    latent_dim,
    image_shape,
    base_filters=64,
    kernel_size=5,
    batch_norm=True,
    num_classes=None,
    name="generator",
):
    """Builds the DCGAN generator: dense seed map, then transposed convs.

    For `image_shape=(28, 28, 1)` and `base_filters=64`:
    z -> 7x7x128 -> 14x14x64 -> 28x28x1 (tanh).

    Args:
        latent_dim: int, size of the latent vector z.
        image_shape: tuple `(height, width, channels)`.
        base_filters: int, filters of the last hidden stage; each earlier
            stage doubles it.
        kernel_size: int, transposed-convolution kernel size.
        batch_norm: bool, batch norm after every hidden layer (as in the
            paper; switching it off makes MNIST training collapse easily).
        num_classes: int or None. If set, the network takes `[latent, label]`.
        name: str, the model name.

    Returns:
        A functional `keras.Model` mapping `(batch, latent_dim)` to images in
        [-1, 1].
    """
    image_shape = _check_image_shape(image_shape)
    stages, (height, width) = _num_upsamplings(image_shape)
    inputs, x = latent_inputs(latent_dim, num_classes)

    def normalize_and_activate(x):
        if batch_norm:
            x = keras.layers.BatchNormalization(synchronized=True)(x)
        return keras.layers.ReLU()(x)

    filters = base_filters * 2 ** (stages - 1)
    x = keras.layers.Dense(height * width * filters, use_bias=not batch_norm)(x)
    x = normalize_and_activate(x)
    x = keras.layers.Reshape((height, width, filters))(x)
    for stage in range(stages - 1):
        filters //= 2
        x = keras.layers.Conv2DTranspose(
            filters, kernel_size, strides=2, padding="same",
            use_bias=not batch_norm,
        )(x)
        x = normalize_and_activate(x)
    images = keras.layers.Conv2DTranspose(
        image_shape[-1], kernel_size, strides=2, padding="same",
        activation="tanh", name="images",
    )(x)
    return keras.Model(inputs, images, name=name)


def build_dcgan_discriminator(
    image_shape,
    base_filters=64,
    kernel_size=5,
    normalization="batch",
    dropout=0.0,
    num_classes=None,
    hidden_units=None,
    hidden_normalization="auto",
    name="discriminator",
):
    """Builds the DCGAN discriminator: strided convs, then one logit.

    For `image_shape=(28, 28, 1)` and `base_filters=64`:
    28x28x1 -> 14x14x64 -> 7x7x128 -> logit, or with `hidden_units=256`
    28x28x1 -> 14x14x64 -> 7x7x128 -> 256 -> logit.

    Args:
        image_shape: tuple `(height, width, channels)`.
        base_filters: int, filters of the first stage; each later stage
            doubles it.
        kernel_size: int, convolution kernel size.
        normalization: `"batch"` (DCGAN), `"layer"` (the WGAN-GP paper's
            choice for critics: per-example, so the gradient penalty stays
            per-example), `"spectral"` (spectral normalization of every
            weight, Miyato et al. 2018), or `None`. Batch and layer norm are
            never on the first layer.
        dropout: float, dropout rate after each stage (0 disables).
        num_classes: int or None. If set, the network takes `[image, label]`
            and sees the label as an extra input channel.
        hidden_units: int or None. If set, a dense layer of this width
            (then LeakyReLU and dropout) comes between the convolutions and
            the logit, as in the InfoGAN and TF-GAN MNIST discriminators.
            It is layer-normalized under `"batch"` and `"layer"`: the
            discriminator sees a batch of real and a batch of fake images
            separately, and batch norm of a dense layer removes each
            batch's feature means, the first thing that tells fakes from
            real (measured: with batch norm there the generator's mean pixel
            stayed at 0 instead of MNIST's -0.73 and every sample became
            the same image within 400 steps, in 3 of 4 runs).
        hidden_normalization: how the hidden layer is normalized: `"auto"`
            (layer norm under `normalization="batch"` or `"layer"`, none
            otherwise), `"layer"`, `"batch"` or `None`. `"batch"` is for
            fine-tuning a discriminator trained with layer norm there (its
            gamma and beta carry over): batch-relative features then raise
            precision (measured on `dcgan_mnist`), but from scratch they
            let the generator collapse (see `hidden_units`).
        name: str, the model name.

    Returns:
        A functional `keras.Model` with output shape `(batch, 1)` (logits).
    """
    image_shape = _check_image_shape(image_shape)
    if normalization not in ("batch", "layer", "spectral", None):
        raise ValueError(
            "normalization must be 'batch', 'layer', 'spectral' or None, "
            f"received normalization={normalization!r}."
        )
    if hidden_units is not None and (
        not isinstance(hidden_units, int) or isinstance(hidden_units, bool)
        or hidden_units < 1
    ):
        raise ValueError(
            f"hidden_units must be None or a positive int, received {hidden_units!r}."
        )
    if hidden_normalization not in ("auto", "layer", "batch", None):
        raise ValueError(
            "hidden_normalization must be 'auto', 'layer', 'batch' or None, "
            f"received hidden_normalization={hidden_normalization!r}."
        )
    if hidden_normalization == "auto":
        # Per example, never per batch by default (see `hidden_units`).
        hidden_normalization = (
            "layer" if normalization in ("batch", "layer") else None
        )

    def weighted(layer):
        # Spectral normalization (Miyato et al. 2018) bounds every layer's
        # Lipschitz constant; it wraps the layer instead of following it.
        if normalization == "spectral":
            return keras.layers.SpectralNormalization(layer)
        return layer

    def normalize_activate_drop(x, normalizer, layer_norm_axes):
        if normalizer == "batch":
            x = keras.layers.BatchNormalization(synchronized=True)(x)
        elif normalizer == "layer":
            x = keras.layers.LayerNormalization(axis=layer_norm_axes)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        return keras.layers.Dropout(dropout)(x) if dropout else x

    stages, _ = _num_upsamplings(image_shape)
    inputs, x, _ = data_inputs(image_shape, num_classes, name="image")
    filters = base_filters
    for stage in range(stages):
        x = weighted(
            keras.layers.Conv2D(filters, kernel_size, strides=2, padding="same")
        )(x)
        x = normalize_activate_drop(x, normalization if stage > 0 else None, [1, 2, 3])
        filters *= 2
    x = keras.layers.Flatten()(x)
    if hidden_units:
        x = weighted(
            keras.layers.Dense(hidden_units, use_bias=hidden_normalization is None)
        )(x)
        x = normalize_activate_drop(x, hidden_normalization, -1)
    logits = weighted(keras.layers.Dense(1, name="logits"))(x)
    return keras.Model(inputs, logits, name=name)
