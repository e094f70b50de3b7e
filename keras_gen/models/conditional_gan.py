"""Conditional GAN: the class label conditions both networks."""

import keras

from keras_gen.models.gan import GAN
from keras_gen.networks import build_default_networks


@keras.saving.register_keras_serializable(package="keras_gen")
class ConditionalGAN(GAN):
    """Conditional GAN (Mirza & Osindero 2014).

    The GAN algorithm where the generator models p(x | y) and the
    discriminator judges (x, y) pairs: both networks receive the class label
    y. The generator sees y as a learned embedding concatenated to z; the
    convolutional discriminator sees it as an extra input channel. Fakes are
    generated for the labels of the real batch. Train on `(images, labels)`
    and generate with `generate(n, labels=...)`.

    Args:
        image_shape: tuple, shape of one example. `(H, W, C)` builds
            DCGAN-style conditional networks; a flat shape builds MLPs as in
            the paper. Defaults to `(28, 28, 1)`.
        num_classes: int, number of classes. Defaults to 10.
        latent_dim: int, size of z ~ N(0, I). Defaults to 100.
        generator: optional `keras.Model` taking `[latent, label]`.
        discriminator: optional `keras.Model` taking `[data, label]`.
        base_filters: int, width of the default convolutional networks.
        hidden_units: tuple of ints, widths of the default MLPs (flat data).
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings are those of `GAN`.

    Example:

    ```python
    data = keras_gen.data.load("mnist", batch_size=64, with_labels=True)
    cgan = keras_gen.models.ConditionalGAN(image_shape=(28, 28, 1),
                                           num_classes=10)
    cgan.compile()
    cgan.fit(data, epochs=5)
    sevens = cgan.generate(16, seed=0, labels=7)
    ```

    References:
        Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014.
        https://arxiv.org/abs/1411.1784
    """

    _network_args = ("image_shape", "num_classes", "base_filters", "hidden_units")

    def __init__(
        self,
        image_shape=(28, 28, 1),
        num_classes=10,
        latent_dim=100,
        generator=None,
        discriminator=None,
        base_filters=64,
        hidden_units=(256, 512),
        seed=None,
        **kwargs,
    ):
        image_shape = tuple(image_shape)
        hidden_units = tuple(hidden_units)
        generator, discriminator = build_default_networks(
            image_shape, latent_dim, generator, discriminator,
            num_classes=num_classes,
            base_filters=base_filters,
            hidden_units=hidden_units,
        )
        super().__init__(
            latent_dim=latent_dim,
            generator=generator,
            discriminator=discriminator,
            hidden_units=hidden_units,
            num_classes=num_classes,
            seed=seed,
            **kwargs,
        )
        self.image_shape = image_shape
        self.base_filters = base_filters
