"""DCGAN: the GAN algorithm with deep convolutional networks."""

import keras

from keras_gen.models.gan import GAN
from keras_gen.networks import build_default_networks


@keras.saving.register_keras_serializable(package="keras_gen")
class DCGAN(GAN):
    """Deep convolutional GAN (Radford et al. 2015).

    The GAN algorithm (see `GAN`) with the paper's architecture: a generator
    of transposed convolutions with batch norm and ReLU and a tanh output, a
    discriminator of strided convolutions with batch norm (not on the first
    layer) and LeakyReLU(0.2), and Adam(2e-4, beta_1=0.5) for both.

    Args:
        image_shape: tuple `(height, width, channels)`, with even height and
            width. Defaults to MNIST's `(28, 28, 1)`.
        latent_dim: int, size of z ~ N(0, I). Defaults to 100.
        generator: optional `keras.Model` latent -> images in [-1, 1].
        discriminator: optional `keras.Model` images -> logit.
        base_filters: int, width of the default networks (the generator's
            last hidden stage and the discriminator's first). Defaults to 64.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings are those of `GAN`.

    Example:

    ```python
    images = keras_gen.data.load("mnist", batch_size=64)
    dcgan = keras_gen.models.DCGAN(image_shape=(28, 28, 1))
    dcgan.compile()
    dcgan.fit(images, epochs=5)
    samples = dcgan.generate(64, seed=0)  # (64, 28, 28, 1) in [-1, 1]
    ```

    References:
        Radford et al., "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", 2015.
        https://arxiv.org/abs/1511.06434
    """

    _network_args = ("image_shape", "base_filters")

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=100,
        generator=None,
        discriminator=None,
        base_filters=64,
        seed=None,
        **kwargs,
    ):
        image_shape = tuple(image_shape)
        if len(image_shape) != 3:
            raise ValueError(
                "DCGAN generates images: image_shape must be (height, width, "
                f"channels), received {image_shape}. Use GAN for flat data."
            )
        generator, discriminator = build_default_networks(
            image_shape, latent_dim, generator, discriminator,
            base_filters=base_filters,
        )
        super().__init__(
            latent_dim=latent_dim,
            generator=generator,
            discriminator=discriminator,
            seed=seed,
            **kwargs,
        )
        self.image_shape = image_shape
        self.base_filters = base_filters
