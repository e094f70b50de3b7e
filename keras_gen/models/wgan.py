"""WGAN: Wasserstein GAN with weight clipping."""

import keras
import tensorflow as tf
from keras import ops

from keras_gen import losses
from keras_gen.models.adversarial_model import AdversarialModel
from keras_gen.networks import build_default_networks


@keras.saving.register_keras_serializable(package="keras_gen")
class WGAN(AdversarialModel):
    """Wasserstein GAN (Arjovsky et al. 2017), Lipschitz by weight clipping.

    The critic f estimates the Wasserstein-1 distance
    W = E[f(x_real)] - E[f(G(z))]; it is kept (roughly) Lipschitz by clipping
    every critic weight to [-c, c] after each update. Algorithm 1 of the
    paper: `d_steps` = 5 critic updates per generator update, RMSprop with
    learning rate 5e-5 for both networks, c = 0.01. Each critic update sees
    the step's real batch with fresh noise.

    Args:
        image_shape: tuple, shape of one example. `(H, W, C)` builds the
            DCGAN-style networks used in the paper (batch norm in both); a flat
            shape such as `(2,)` builds MLPs, for 2-D toy data. Defaults to
            `(28, 28, 1)`.
        latent_dim: int, size of z ~ N(0, I). Defaults to 100.
        generator: optional `keras.Model` latent -> data.
        discriminator: optional `keras.Model` data -> score (the critic; its
            output is unbounded, not a probability).
        base_filters: int, width of the default convolutional networks.
        hidden_units: tuple of ints, widths of the default MLPs (flat data).
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings (defaults in brackets): `g_optimizer`,
    `d_optimizer` [RMSprop(5e-5) each], `clip_value` [0.01], `d_steps` [5].

    Example:

    ```python
    images = keras_gen.data.load("mnist", batch_size=64)
    wgan = keras_gen.models.WGAN(image_shape=(28, 28, 1))
    wgan.compile()
    wgan.fit(images, epochs=5)
    ```

    References:
        Arjovsky et al., "Wasserstein GAN", 2017.
        https://arxiv.org/abs/1701.07875
    """

    _network_args = ("image_shape", "base_filters", "hidden_units")
    compile_defaults = {"clip_value": 0.01, "d_steps": 5}
    critic_normalization = "batch"

    def __init__(
        self,
        image_shape=(28, 28, 1),
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
            base_filters=base_filters,
            hidden_units=hidden_units,
            critic_normalization=self.critic_normalization,
        )
        super().__init__(generator, discriminator, latent_dim, seed=seed, **kwargs)
        self.image_shape = image_shape
        self.base_filters = base_filters
        self.hidden_units = hidden_units

    def default_optimizers(self):
        return keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5)

    def configure(self, clip_value, d_steps):
        if not clip_value > 0:
            raise ValueError(f"clip_value must be > 0, received {clip_value!r}.")
        self.clip_value = clip_value
        self.d_steps = d_steps

    def discriminator_step(self, real, labels, batch_size):
        fake = self._generate(self.sample_latent(batch_size), labels, True)
        with tf.GradientTape() as tape:
            d_loss = losses.wasserstein_discriminator_loss(
                self._discriminate(real, labels, training=True),
                self._discriminate(fake, labels, training=True),
            )
        self._apply_gradients(tape, d_loss, self.discriminator, self.d_optimizer)
        for weight in self.discriminator.trainable_variables:
            weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))
        return d_loss

    def generator_loss(self, fake_logits):
        return losses.wasserstein_generator_loss(fake_logits)
