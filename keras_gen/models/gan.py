"""GAN: the original generative adversarial network."""

import keras
import tensorflow as tf

from keras_gen import losses
from keras_gen.models.adversarial_model import AdversarialModel
from keras_gen.networks import build_mlp_discriminator
from keras_gen.networks import build_mlp_generator


@keras.saving.register_keras_serializable(package="keras_gen")
class GAN(AdversarialModel):
    """Generative adversarial network (Goodfellow et al. 2014) with MLPs.

    Trains a generator G and a discriminator D with alternating gradient
    steps (Algorithm 1 of the paper): `d_steps` updates of D on a batch of
    real data and a batch of samples G(z), then one update of G. The default
    objective is the non-saturating one the paper recommends in practice
    (G maximizes log D(G(z))); any objective of `keras_gen.losses` can be
    chosen with `compile(loss=...)`.

    Args:
        data_shape: tuple, shape of one example, e.g. `(2,)` for 2-D toy data
            or `(28, 28, 1)` for MNIST. Image-shaped data is expected in
            [-1, 1] and generated through tanh; flat data is unbounded.
        latent_dim: int, size of z ~ N(0, I). Defaults to 100.
        generator: optional `keras.Model` latent -> data, replacing the
            default MLP (ReLU hidden layers).
        discriminator: optional `keras.Model` data -> logit, replacing the
            default MLP (LeakyReLU(0.2) hidden layers).
        hidden_units: tuple of ints, hidden widths of the default generator;
            the default discriminator uses them in reverse order.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings (defaults in brackets): `g_optimizer`,
    `d_optimizer` [Adam(2e-4, beta_1=0.5) each, the setting of Radford et
    al. 2015 that became standard; the 2014 paper used SGD with momentum],
    `loss` ["non_saturating"; also "minimax", "wasserstein", "hinge",
    "least_squares"], `label_smoothing` [0.0; one-sided, on real labels,
    minimax and non-saturating only], `d_steps` [1, the paper's k].

    Example:

    ```python
    data = keras_gen.data.load("gaussian_mixture_8", batch_size=256)
    gan = keras_gen.models.GAN(data_shape=(2,), latent_dim=2)
    gan.compile()
    gan.fit(data, epochs=1)
    points = gan.generate(1000, seed=0)
    ```

    References:
        Goodfellow et al., "Generative Adversarial Nets", 2014.
        https://arxiv.org/abs/1406.2661
    """

    _network_args = ("data_shape", "hidden_units")
    compile_defaults = {
        "loss": "non_saturating",
        "label_smoothing": 0.0,
        "d_steps": 1,
    }

    def __init__(
        self,
        data_shape=None,
        latent_dim=100,
        generator=None,
        discriminator=None,
        hidden_units=(256, 512),
        seed=None,
        **kwargs,
    ):
        if data_shape is None and generator is None:
            raise ValueError(
                "GAN needs data_shape= (e.g. (2,) or (28, 28, 1)) or a "
                "generator= network."
            )
        hidden_units = tuple(hidden_units)
        generator = generator or build_mlp_generator(
            latent_dim, data_shape, hidden_units
        )
        discriminator = discriminator or build_mlp_discriminator(
            data_shape, hidden_units[::-1]
        )
        super().__init__(generator, discriminator, latent_dim, seed=seed, **kwargs)
        self.hidden_units = hidden_units

    def default_optimizers(self):
        return (
            keras.optimizers.Adam(2e-4, beta_1=0.5),
            keras.optimizers.Adam(2e-4, beta_1=0.5),
        )

    def configure(self, loss, label_smoothing, d_steps):
        if not isinstance(loss, str):
            raise TypeError(
                "loss must be the name of an objective, one of "
                f"{losses.ADVERSARIAL_LOSSES}; received {loss!r}."
            )
        self.adversarial_loss = losses.get(loss)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "label_smoothing must be in [0, 1), received "
                f"{label_smoothing!r}."
            )
        if label_smoothing and self.adversarial_loss.name not in (
            "minimax", "non_saturating",
        ):
            raise ValueError(
                "label_smoothing applies to the 'minimax' and 'non_saturating' "
                f"losses, not to {self.adversarial_loss.name!r}."
            )
        self.label_smoothing = label_smoothing
        self._discriminator_loss_kwargs = (
            {"label_smoothing": label_smoothing} if label_smoothing else {}
        )
        self.d_steps = d_steps

    def discriminator_step(self, real, labels, batch_size):
        fake = self._generate(self.sample_latent(batch_size), labels, True)
        with tf.GradientTape() as tape:
            real_logits = self._discriminate(real, labels, training=True)
            fake_logits = self._discriminate(fake, labels, training=True)
            d_loss = self.adversarial_loss.discriminator_loss(
                real_logits, fake_logits, **self._discriminator_loss_kwargs
            )
        self._apply_gradients(tape, d_loss, self.discriminator, self.d_optimizer)
        return d_loss

    def generator_loss(self, fake_logits):
        return self.adversarial_loss.generator_loss(fake_logits)
