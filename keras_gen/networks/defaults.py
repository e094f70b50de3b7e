"""The default pair of networks for a data shape."""

from keras_gen.networks.dcgan import build_dcgan_discriminator
from keras_gen.networks.dcgan import build_dcgan_generator
from keras_gen.networks.mlp import build_mlp_discriminator
from keras_gen.networks.mlp import build_mlp_generator


def build_default_networks(
    data_shape,
    latent_dim,
    generator=None,
    discriminator=None,
    num_classes=None,
    base_filters=64,
    hidden_units=(256, 512),
    critic_normalization="batch",
):
    """Returns `(generator, discriminator)`, building the ones not given.

    Image shapes `(H, W, C)` get the DCGAN convolutional networks; flat shapes
    such as `(2,)` get MLPs (for 2-D toy data).

    Args:
        data_shape: tuple, shape of one example.
        latent_dim: int, size of the latent vector.
        generator: a `keras.Model` to use as is, or None to build one.
        discriminator: a `keras.Model` to use as is, or None to build one.
        num_classes: int or None; conditional networks when set.
        base_filters: int, width of the convolutional networks.
        hidden_units: tuple of ints, widths of the MLP generator's hidden
            layers (the MLP discriminator uses them reversed).
        critic_normalization: `"batch"`, `"layer"` or None, the
            normalization of the convolutional discriminator.
    """
    data_shape = tuple(data_shape)
    hidden_units = tuple(hidden_units)
    if len(data_shape) == 3:
        if generator is None:
            generator = build_dcgan_generator(
                latent_dim, data_shape, base_filters, num_classes=num_classes
            )
        if discriminator is None:
            discriminator = build_dcgan_discriminator(
                data_shape,
                base_filters,
                normalization=critic_normalization,
                num_classes=num_classes,
            )
    else:
        if generator is None:
            generator = build_mlp_generator(
                latent_dim, data_shape, hidden_units, num_classes=num_classes
            )
        if discriminator is None:
            discriminator = build_mlp_discriminator(
                data_shape, hidden_units[::-1], num_classes=num_classes
            )
    return generator, discriminator
