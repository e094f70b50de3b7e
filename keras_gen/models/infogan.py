"""InfoGAN: a GAN whose latent codes are made interpretable by mutual information."""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from keras_gen.models.gan import GAN
from keras_gen.networks import build_dcgan_generator
from keras_gen.networks.infogan import build_infogan_discriminator

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="keras_gen")
class InfoGAN(GAN):
    """InfoGAN (Chen et al. 2016): GAN + a mutual-information lower bound.

    The latent vector is `[noise | categorical code | continuous codes]`:
    `noise_dim` N(0, 1) values, a one-hot code of `num_categories` uniform
    categories and `num_continuous` codes ~ U(-1, 1). The discriminator has
    a second head Q (sharing its trunk) that models Q(c | x) as a
    `tfd.Categorical` and unit-variance `tfd.Normal`s; the generator and Q
    minimize `categorical_weight * -E[log Q(c_cat | G(z, c))] +
    continuous_weight * -E[log Q(c_cont | G(z, c))]`, the negative of the
    variational lower bound L_I of I(c; G(z, c)) (up to the constant
    entropy H(c)). Training reports `d_loss`, `g_loss` (the adversarial
    parts), `info_loss` (the weighted bound term) and
    `categorical_information`, the lower bound log K - E[-log Q(c_cat | x)]
    in nats of the information the images carry about the categorical code
    (at most log K; 2.30 for 10 categories).

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to MNIST's.
        noise_dim: int, size of the incompressible noise z. Defaults to 62.
        num_categories: int >= 2, categories of the categorical code.
            Defaults to 10.
        num_continuous: int >= 0, continuous codes. Defaults to 2.
        generator: optional `keras.Model` latent -> images in [-1, 1].
        discriminator: optional `keras.Model` images ->
            `[logit, code_params]`, `code_params` holding the categorical
            logits then the continuous means
            (`build_infogan_discriminator`).
        base_filters: int, width of the default networks. Defaults to 64.
        latent_dim: ignored if None; otherwise must equal
            `noise_dim + num_categories + num_continuous` (it is that).
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings: those of `GAN` (`loss`, `label_smoothing`,
    `d_steps`) plus `categorical_weight` (1.0) and `continuous_weight`
    (0.1; the paper uses a smaller weight for continuous codes). Default
    optimizers: the paper's Adam(2e-4, 0.5) for D and Q, Adam(1e-3, 0.5)
    for G.

    Example:

    ```python
    images = keras_gen.data.load("mnist", batch_size=64)
    infogan = keras_gen.models.InfoGAN()
    infogan.compile()
    infogan.fit(images, epochs=5)
    # One row per category, the first continuous code swept from -2 to 2.
    grid = infogan.generate_with_codes(
        categories=np.repeat(np.arange(10), 8),
        continuous=np.stack([np.tile(np.linspace(-2, 2, 8), 10),
                             np.zeros(80)], axis=1),
        seed=0, shared_noise=True,
    )
    codes = infogan.predict_codes(images_batch)  # {"category", "continuous"}
    ```

    References:
        Chen et al., "InfoGAN: Interpretable Representation Learning by
        Information Maximizing Generative Adversarial Nets", NeurIPS 2016.
        https://arxiv.org/abs/1606.03657
    """

    _network_args = (
        "image_shape", "noise_dim", "num_categories", "num_continuous",
        "base_filters",
    )
    transport_unsupported = (
        "its latent holds categorical and continuous codes that must keep "
        "their meaning, and its discriminator returns a logit and Q's code "
        "parameters."
    )
    compile_defaults = {
        **GAN.compile_defaults,
        "categorical_weight": 1.0,
        "continuous_weight": 0.1,
    }

    def __init__(
        self,
        image_shape=(28, 28, 1),
        noise_dim=62,
        num_categories=10,
        num_continuous=2,
        generator=None,
        discriminator=None,
        base_filters=64,
        latent_dim=None,
        seed=None,
        **kwargs,
    ):
        for name, value, low in (
            ("noise_dim", noise_dim, 1),
            ("num_categories", num_categories, 2),
            ("num_continuous", num_continuous, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(
                    f"{name} must be an int >= {low}, received {value!r}."
                )
        if kwargs.get("latent_components") is not None:
            raise ValueError(
                "InfoGAN has its own prior (noise and codes): it takes no "
                "latent_components."
            )
        code_dim = num_categories + num_continuous
        if latent_dim is not None and latent_dim != noise_dim + code_dim:
            raise ValueError(
                f"latent_dim is noise_dim + num_categories + num_continuous = "
                f"{noise_dim + code_dim}; received latent_dim={latent_dim!r}."
            )
        image_shape = tuple(image_shape)
        latent_dim = noise_dim + code_dim
        generator = generator or build_dcgan_generator(
            latent_dim, image_shape, base_filters
        )
        discriminator = discriminator or build_infogan_discriminator(
            image_shape, code_dim, base_filters
        )
        outputs = discriminator.outputs if hasattr(discriminator, "outputs") else None
        if outputs is not None and (
            len(outputs) != 2 or outputs[1].shape[-1] != code_dim
        ):
            raise ValueError(
                "InfoGAN's discriminator must return [logits, code_params] with "
                f"code_params of size num_categories + num_continuous = {code_dim}; "
                f"received outputs of shapes {[tuple(o.shape) for o in outputs]}. "
                "See keras_gen.networks.build_infogan_discriminator."
            )
        # GAN.__init__ builds MLPs when networks are missing; ours are given.
        super().__init__(
            generator=generator,
            discriminator=discriminator,
            latent_dim=latent_dim,
            seed=seed,
            **kwargs,
        )
        self.image_shape = image_shape
        self.noise_dim = noise_dim
        self.num_categories = num_categories
        self.num_continuous = num_continuous
        self.base_filters = base_filters
        self.info_loss_tracker = keras.metrics.Mean(name="info_loss")
        self.information_tracker = keras.metrics.Mean(name="categorical_information")

    def default_optimizers(self):
        return (
            keras.optimizers.Adam(1e-3, beta_1=0.5),
            keras.optimizers.Adam(2e-4, beta_1=0.5),
        )

    def configure(self, categorical_weight, continuous_weight, **gan_settings):
        for name, value in (
            ("categorical_weight", categorical_weight),
            ("continuous_weight", continuous_weight),
        ):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, received {value!r}.")
        self.categorical_weight = float(categorical_weight)
        self.continuous_weight = float(continuous_weight)
        super().configure(**gan_settings)

    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_loss_tracker, self.info_loss_tracker,
            self.information_tracker,
        ]

    # ------------------------------------------------------------------
    # The latent vector: noise and codes.
    # ------------------------------------------------------------------

    def latent_from_noise(self, noise):
        """Maps N(0, I) vectors `(batch, latent_dim)` to InfoGAN's prior.

        The first `noise_dim` columns stay; the argmax of the next
        `num_categories` (iid normals, so every category is equally likely)
        becomes the one-hot code; the last `num_continuous` go through the
        normal CDF to U(-1, 1). `generate`, training and the serving
        export's `sample` all draw their latent vectors this way.
        """
        noise = ops.convert_to_tensor(noise)
        z = noise[:, : self.noise_dim]
        category_noise = noise[:, self.noise_dim : self.noise_dim + self.num_categories]
        one_hot = ops.one_hot(ops.argmax(category_noise, axis=-1), self.num_categories)
        continuous = tf.math.erf(noise[:, self.noise_dim + self.num_categories :] / math.sqrt(2.0))
        return ops.concatenate([z, ops.cast(one_hot, z.dtype), continuous], axis=-1)

    def make_latent(self, categories, continuous=None, noise=None, seed=None):
        """Builds latent vectors from chosen codes (numpy, float32).

        Args:
            categories: int array `(n,)` of categorical codes in
                `[0, num_categories)`.
            continuous: float array `(n, num_continuous)`; None draws them
                from U(-1, 1). Values beyond [-1, 1] extrapolate, as in the
                paper's figures.
            noise: float array `(n, noise_dim)`; None draws N(0, 1) noise
                with `seed`.
            seed: int or None, seeds the drawn parts.

        Returns:
            float32 array `(n, latent_dim)`.
        """
        categories = np.asarray(categories)
        if categories.ndim != 1 or not np.issubdtype(categories.dtype, np.integer):
            raise ValueError(
                "categories must be a 1-D int array of categorical codes, "
                f"received {categories!r}."
            )
        if categories.size == 0 or categories.min() < 0 or categories.max() >= self.num_categories:
            raise ValueError(
                f"categories must be in [0, {self.num_categories - 1}], received "
                f"values {np.unique(categories)[:10]}."
            )
        n = len(categories)
        rng = np.random.default_rng(seed)
        if continuous is None:
            continuous = rng.uniform(-1.0, 1.0, (n, self.num_continuous))
        continuous = np.asarray(continuous, "float32")
        if continuous.shape != (n, self.num_continuous):
            raise ValueError(
                f"continuous must have shape ({n}, {self.num_continuous}), "
                f"received {np.shape(continuous)}."
            )
        if noise is None:
            noise = rng.standard_normal((n, self.noise_dim))
        noise = np.asarray(noise, "float32")
        if noise.shape != (n, self.noise_dim):
            raise ValueError(
                f"noise must have shape ({n}, {self.noise_dim}), received {noise.shape}."
            )
        one_hot = np.eye(self.num_categories, dtype="float32")[categories]
        return np.concatenate([noise, one_hot, continuous], axis=1).astype("float32")

    def generate_with_codes(
        self, categories, continuous=None, noise=None, seed=None, shared_noise=False
    ):
        """Generates images for chosen codes (see `make_latent`).

        With `shared_noise=True` every image gets the same noise z (drawn
        with `seed` when `noise` is None), so only the codes vary: the
        picture the paper draws to show what a code controls.
        """
        categories = np.asarray(categories)
        if shared_noise and noise is None:
            noise = np.repeat(
                np.random.default_rng(seed).standard_normal((1, self.noise_dim)),
                len(categories), axis=0,
            )
        latent = self.make_latent(categories, continuous, noise, seed)
        with self.sampling_weights():
            return np.concatenate([
                self._decode_batch(latent[i : i + 256], None)
                for i in range(0, len(latent), 256)
            ]).astype("float32")

    def predict_codes(self, images, batch_size=256):
        """Q's reading of images: the most likely category and the means.

        Args:
            images: float array `(n, *image_shape)` in [-1, 1].
            batch_size: int.

        Returns:
            dict: `category` int array `(n,)`, `category_probabilities`
            `(n, num_categories)`, `continuous` float array
            `(n, num_continuous)`.
        """
        images = np.asarray(images, "float32")
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ValueError(
                f"Expected images of shape (n, {', '.join(map(str, self.image_shape))}), "
                f"received {images.shape}."
            )
        params = np.concatenate([
            self.discriminator.predict_on_batch(images[i : i + batch_size])[1]
            for i in range(0, len(images), batch_size)
        ])
        logits = params[:, : self.num_categories]
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return {
            "category": probabilities.argmax(axis=1),
            "category_probabilities": probabilities,
            "continuous": params[:, self.num_categories :],
        }

    # ------------------------------------------------------------------
    # Training.
    # ------------------------------------------------------------------

    def information_terms(self, latent, code_params):
        """`(categorical_nll, continuous_nll)`: batch means of -log Q(c | x).

        Args:
            latent: `(batch, latent_dim)` latent vectors the images came from.
            code_params: `(batch, num_categories + num_continuous)`, Q's
                categorical logits then continuous means.
        """
        start = self.noise_dim
        category = ops.argmax(latent[:, start : start + self.num_categories], axis=-1)
        q_category = tfd.Categorical(logits=code_params[:, : self.num_categories])
        categorical_nll = -ops.mean(q_category.log_prob(category))
        if not self.num_continuous:
            return categorical_nll, ops.zeros_like(categorical_nll)
        q_continuous = tfd.Independent(
            tfd.Normal(loc=code_params[:, self.num_categories :], scale=1.0),
            reinterpreted_batch_ndims=1,
        )
        continuous_nll = -ops.mean(
            q_continuous.log_prob(latent[:, start + self.num_categories :])
        )
        return categorical_nll, continuous_nll

    def _info_loss(self, latent, code_params):
        categorical_nll, continuous_nll = self.information_terms(latent, code_params)
        info_loss = (
            self.categorical_weight * categorical_nll
            + self.continuous_weight * continuous_nll
        )
        return info_loss, categorical_nll

    def discriminator_step(self, real, labels, batch_size):
        """D on real/fake logits; Q (sharing D's trunk) on the fakes' codes."""
        latent = self.sample_latent(batch_size)
        fake = self._generate(latent, None, True)
        with tf.GradientTape() as tape:
            real_logits, _ = self._discriminate(real, None, training=True)
            fake_logits, code_params = self._discriminate(fake, None, training=True)
            d_loss = self.adversarial_loss.discriminator_loss(
                real_logits, fake_logits, **self._discriminator_loss_kwargs
            )
            info_loss, _ = self._info_loss(latent, code_params)
            total = d_loss + info_loss
        self._apply_gradients(tape, total, self.discriminator, self.d_optimizer)
        return d_loss

    def generator_step(self, labels, batch_size):
        latent = self.sample_latent(batch_size)
        with tf.GradientTape() as tape:
            fake = self._generate(latent, None, training=True)
            fake_logits, code_params = self._discriminate(fake, None, training=True)
            g_loss = self.generator_loss(fake_logits)
            info_loss, categorical_nll = self._info_loss(latent, code_params)
            total = g_loss + info_loss
        self._apply_gradients(tape, total, self.generator, self.g_optimizer)
        if self.generator_ema_decay is not None:
            self._update_generator_average()
        self.info_loss_tracker.update_state(info_loss)
        self.information_tracker.update_state(
            math.log(self.num_categories) - categorical_nll
        )
        return g_loss
