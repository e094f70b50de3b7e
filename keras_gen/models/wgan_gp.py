"""WGAN-GP: Wasserstein GAN with a gradient penalty."""

import warnings

import keras
import tensorflow as tf

from keras_gen import losses
from keras_gen.models.wgan import WGAN
from keras_gen.utils import distribution


@keras.saving.register_keras_serializable(package="keras_gen")
class WGANGP(WGAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

    Replaces WGAN's weight clipping with a soft Lipschitz constraint: the
    critic loss adds lambda * E[(||grad f(x_hat)||_2 - 1)^2] at random
    interpolates x_hat = a * x_real + (1 - a) * G(z), a ~ U[0, 1] per example
    (`keras_gen.losses.gradient_penalty`, a nested `GradientTape`).
    Algorithm 1 of the paper: `d_steps` = 5 critic updates per generator
    update, lambda = 10, Adam(1e-4, beta_1=0.5, beta_2=0.9) for both. The
    penalty is per example, so the critic has no batch norm: the default
    convolutional critic uses layer norm, the paper's suggested replacement.

    Args: as `WGAN`.

    `compile()` settings (defaults in brackets): `g_optimizer`,
    `d_optimizer` [Adam(1e-4, 0.5, 0.9) each], `gradient_penalty_weight`
    [10.0], `d_steps` [5]. Reports `d_loss` (critic loss with penalty),
    `g_loss` and `gradient_penalty`.

    Example:

    ```python
    points = keras_gen.data.load("gaussian_mixture_8", batch_size=256)
    wgan_gp = keras_gen.models.WGANGP(image_shape=(2,), latent_dim=2)
    wgan_gp.compile()
    wgan_gp.fit(points, epochs=1)
    ```

    References:
        Gulrajani et al., "Improved Training of Wasserstein GANs", 2017.
        https://arxiv.org/abs/1704.00028
    """

    compile_defaults = {"gradient_penalty_weight": 10.0, "d_steps": 5}
    critic_normalization = "layer"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gradient_penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        batch_normalized = _batch_norm_layers(self.discriminator)
        if batch_normalized:
            warnings.warn(
                f"The WGAN-GP critic has batch normalization ({', '.join(batch_normalized)}): "
                "the gradient penalty is per example, and batch norm makes each "
                "example's critic value depend on the rest of its batch, so the "
                "penalized gradients are not those of a per-example critic. "
                "Gulrajani et al. use layer norm "
                "(build_dcgan_discriminator(normalization='layer')).",
                stacklevel=2,
            )

    @property
    def metrics(self):
        return [*super().metrics, self.gradient_penalty_tracker]

    def default_optimizers(self):
        return (
            keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
            keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
        )

    def configure(self, gradient_penalty_weight, d_steps):
        if not gradient_penalty_weight >= 0:
            raise ValueError(
                "gradient_penalty_weight must be >= 0, received "
                f"{gradient_penalty_weight!r}."
            )
        self.gradient_penalty_weight = gradient_penalty_weight
        self.d_steps = d_steps

    def discriminator_step(self, real, labels, batch_size):
        fake = self._generate(self.sample_latent(batch_size), labels, True)
        interpolation_weights = distribution.draw_per_example(
            keras.random.uniform, batch_size, (1,) * len(self.data_shape),
            self.seed_generator,
        )
        with tf.GradientTape() as tape:
            critic_loss = losses.wasserstein_discriminator_loss(
                self._discriminate(real, labels, training=True),
                self._discriminate(fake, labels, training=True),
            )
            penalty = losses.gradient_penalty(
                lambda x: self._discriminate(x, labels, training=True),
                real,
                fake,
                interpolation_weights=interpolation_weights,
            )
            d_loss = critic_loss + self.gradient_penalty_weight * penalty
        self._apply_gradients(tape, d_loss, self.discriminator, self.d_optimizer)
        self.gradient_penalty_tracker.update_state(penalty)
        return d_loss


def _batch_norm_layers(network):
    """Names of the `BatchNormalization` layers in `network`, nested ones too."""
    found = []
    for layer in getattr(network, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer.name)
        found.extend(_batch_norm_layers(layer))
    return found
