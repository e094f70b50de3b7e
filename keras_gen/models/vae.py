"""VAE: the variational autoencoder, with tensorflow-probability distributions."""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from keras_gen import losses
from keras_gen.models.autoencoder import Autoencoder
from keras_gen.utils import distribution

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")
OBJECTIVES = ("elbo", "iwae")
# Smallest posterior standard deviation: keeps log q(z|x) finite.
_MIN_SCALE = 1e-4


@keras.saving.register_keras_serializable(package="keras_gen")
class VAE(Autoencoder):
    """Variational autoencoder (Kingma & Welling 2013).

    The encoder gives the posterior q(z|x) = N(mu(x), diag(sigma(x)^2)) as a
    `tfp.distributions.MultivariateNormalDiag`; z is sampled with the
    reparameterization trick through that distribution's bijector
    (z = mu + sigma * eps); the prior p(z) is N(0, I); the decoder gives the
    likelihood p(x|z) as a TFP distribution, Bernoulli (binarized data) or
    Gaussian. Training minimizes the negative ELBO,

        -ELBO(x) = -E_q[log p(x|z)] + beta * KL(q(z|x) || p(z)),

    with the KL term from `tfd.kl_divergence` (closed form), or with
    `compile(objective="iwae", num_samples=K)` the negative importance
    weighted bound (Burda et al. 2015). Keras's own `train_step` is kept
    (`compute_loss` is overridden); `loss`, `reconstruction_loss` (-E_q[log
    p(x|z)]) and `kl_loss` are reported as epoch means, in nats per example.

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to MNIST's.
        latent_dim: int, size of z. Defaults to 32.
        encoder: optional `keras.Model` image -> `(batch, 2 * latent_dim)`:
            the posterior's mean, then its pre-softplus standard deviation.
        decoder: optional `keras.Model` latent -> `(batch, *image_shape)`:
            Bernoulli logits, or the Gaussian mean.
        likelihood: `"bernoulli"` (default; for binarized images: a pixel
            of -1 or 1 is a 0 or 1 outcome) or `"gaussian"`.
        likelihood_scale: for the Gaussian likelihood, `"learned"` (one
            trained scalar, the default) or a fixed positive float.
        beta: float, weight of the KL term (beta-VAE, Higgins et al. 2017).
            Defaults to 1 (the ELBO).
        base_filters: int, width of the default convolutional networks.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings (defaults in brackets): `optimizer` [Adam(1e-3)],
    `objective` ["elbo" or "iwae"], `num_samples` [1; latent samples per
    example in training: the K of the IWAE bound, or Monte Carlo samples of
    the ELBO's reconstruction term].

    Example:

    ```python
    images = keras_gen.data.load("mnist", batch_size=128)
    vae = keras_gen.models.VAE(latent_dim=32)
    vae.compile()
    vae.fit(images, epochs=5)
    nll = -vae.log_likelihood(test_images, num_samples=1000).mean()  # nats
    ```

    References:
        Kingma & Welling, "Auto-Encoding Variational Bayes", 2013.
        https://arxiv.org/abs/1312.6114
        Burda et al., "Importance Weighted Autoencoders", 2015.
        https://arxiv.org/abs/1509.00519
        Higgins et al., "beta-VAE", ICLR 2017.
    """

    _network_args = (
        "image_shape", "base_filters", "likelihood", "likelihood_scale", "beta",
    )
    _samples_from_code_statistics = False

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=32,
        encoder=None,
        decoder=None,
        likelihood="bernoulli",
        likelihood_scale="learned",
        beta=1.0,
        base_filters=32,
        seed=None,
        **kwargs,
    ):
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"Unknown likelihood {likelihood!r}; expected one of {LIKELIHOODS}."
            )
        if likelihood_scale != "learned" and not (
            isinstance(likelihood_scale, (int, float)) and likelihood_scale > 0
        ):
            raise ValueError(
                "likelihood_scale must be 'learned' or a positive float, "
                f"received {likelihood_scale!r}."
            )
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, received {beta!r}.")
        self.likelihood = likelihood
        self.likelihood_scale = likelihood_scale
        self.beta = float(beta)
        super().__init__(
            image_shape=image_shape,
            latent_dim=latent_dim,
            encoder=encoder,
            decoder=decoder,
            base_filters=base_filters,
            seed=seed,
            **kwargs,
        )
        if likelihood == "gaussian" and likelihood_scale == "learned":
            self.log_scale = self.add_weight(
                shape=(), initializer="zeros", name="likelihood_log_scale"
            )
        self.objective = "elbo"
        self.num_samples = 1
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def _encoder_output_size(self):
        return 2 * self.latent_dim

    # ------------------------------------------------------------------
    # Distributions.
    # ------------------------------------------------------------------

    @property
    def prior(self):
        """p(z) = N(0, I) as a `tfd.MultivariateNormalDiag`."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros((self.latent_dim,)))

    def _posterior(self, params):
        loc, raw_scale = ops.split(params, 2, axis=-1)
        return tfd.MultivariateNormalDiag(
            loc=loc, scale_diag=ops.softplus(raw_scale) + _MIN_SCALE
        )

    def _likelihood(self, decoder_output):
        """p(x|z) for a batch of decoder outputs, one event per image."""
        if self.likelihood == "bernoulli":
            pixels = tfd.Bernoulli(logits=decoder_output, dtype=tf.float32)
        else:
            scale = (
                ops.exp(self.log_scale)
                if self.likelihood_scale == "learned"
                else float(self.likelihood_scale)
            )
            pixels = tfd.Normal(loc=decoder_output, scale=scale)
        return tfd.Independent(pixels, reinterpreted_batch_ndims=3)

    def _targets(self, images):
        """The likelihood's outcomes: {0, 1} pixels, or the images."""
        return (images + 1.0) / 2.0 if self.likelihood == "bernoulli" else images

    def _output_to_images(self, decoder_output):
        if self.likelihood == "bernoulli":
            return 2.0 * ops.sigmoid(decoder_output) - 1.0
        return ops.clip(decoder_output, -1.0, 1.0)

    def encode(self, images, labels=None):
        """The posterior q(z|x) as a `tfd.MultivariateNormalDiag`."""
        return self._posterior(self._encode_params(images, labels))

    def reconstruct(self, images, labels=None):
        """Decodes the posterior mean of each image; images in [-1, 1]."""
        return self.decode(self.encode(images, labels).mean(), labels)

    # ------------------------------------------------------------------
    # Training.
    # ------------------------------------------------------------------

    def compile(self, optimizer=None, objective="elbo", num_samples=1, **kwargs):
        """Configures training; defaults to the ELBO and Adam(1e-3).

        Args:
            optimizer: a Keras optimizer; defaults to Adam(1e-3).
            objective: `"elbo"` or `"iwae"` (needs `num_samples` >= 2 to
                differ from the ELBO).
            num_samples: int >= 1, latent samples per example in training.
            **kwargs: other `keras.Model.compile` arguments (not `loss`).
        """
        if objective not in OBJECTIVES:
            raise ValueError(
                f"Unknown objective {objective!r}; expected one of {OBJECTIVES}."
            )
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(
                f"num_samples must be an int >= 1, received {num_samples!r}."
            )
        if objective == "iwae" and self.beta != 1.0:
            raise ValueError(
                "The IWAE bound has no KL weight: use beta=1 with "
                "objective='iwae'."
            )
        super().compile(optimizer=optimizer, **kwargs)
        self.objective = objective
        self.num_samples = num_samples
        self._compile_arguments.update(
            {"objective": objective, "num_samples": num_samples}
        )

    def _sample_posterior(self, posterior, num_samples):
        """`num_samples` reparameterized draws z, shape `(K, batch, latent)`.

        eps ~ N(0, I) is drawn for the global batch (the same whatever the
        number of replicas) and pushed through the posterior's bijector,
        z = mu + sigma * eps, so gradients flow to mu and sigma.
        """
        batch_size = ops.shape(posterior.mean())[0]
        eps = distribution.draw_per_example(
            keras.random.normal, batch_size, (num_samples, self.latent_dim),
            self.seed_generator,
        )
        return posterior.bijector.forward(ops.transpose(eps, (1, 0, 2)))

    def _decode_samples(self, latent, labels, training=False):
        """Decodes `(K, batch, latent)` samples to `(K, batch, *data_shape)`."""
        num_samples, batch_size = ops.shape(latent)[0], ops.shape(latent)[1]
        flat = ops.reshape(latent, (-1, self.latent_dim))
        if labels is not None:
            labels = ops.tile(labels, (num_samples,))
        outputs = self._decode_output(flat, labels, training)
        return ops.reshape(outputs, (num_samples, batch_size, *self.data_shape))

    def call(self, inputs, training=False):
        """The training forward pass; returns a dict of tensors.

        `posterior_params` (the encoder's output), `latent` (K samples of z,
        K = `num_samples` in training, 1 otherwise) and `decoder_output`
        (the likelihood's parameters). Use `reconstruct` for images.
        """
        images, labels = self._split_inputs(inputs)
        self._check_batch_shapes(images, labels)
        params = self._encode_params(images, labels, training)
        latent = self._sample_posterior(
            self._posterior(params), self.num_samples if training else 1
        )
        return {
            "posterior_params": params,
            "latent": latent,
            "decoder_output": self._decode_samples(latent, labels, training),
        }

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        images, _ = self._split_inputs(x)
        posterior = self._posterior(y_pred["posterior_params"])
        latent = y_pred["latent"]
        log_likelihood = self._likelihood(y_pred["decoder_output"]).log_prob(
            self._targets(images)
        )  # (K, batch)
        kl = tfd.kl_divergence(posterior, self.prior)  # (batch,)
        reconstruction = -ops.mean(log_likelihood, axis=0)
        if self.objective == "iwae":
            log_weights = (
                log_likelihood
                + self.prior.log_prob(latent)
                - posterior.log_prob(latent)
            )
            per_example = -losses.importance_weighted_bound(log_weights)
        else:
            per_example = reconstruction + self.beta * kl
        self.reconstruction_tracker.update_state(ops.mean(reconstruction))
        self.kl_tracker.update_state(ops.mean(kl))
        loss = ops.mean(per_example)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return distribution.scale_for_replicas(loss)

    # ------------------------------------------------------------------
    # Likelihood.
    # ------------------------------------------------------------------

    def elbo(self, images, labels=None, num_samples=1):
        """Per-example evidence lower bound in nats, shape `(batch,)`.

        ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), the expectation
        estimated with `num_samples` draws of z and the KL in closed form.
        (It is the bound itself: `beta` weights only the training loss.)
        """
        images = ops.convert_to_tensor(images, "float32")
        labels = None if labels is None else ops.convert_to_tensor(labels, "int32")
        posterior = self.encode(images, labels)
        latent = self._sample_posterior(posterior, num_samples)
        log_likelihood = self._likelihood(
            self._decode_samples(latent, labels)
        ).log_prob(self._targets(images))
        kl = tfd.kl_divergence(posterior, self.prior)
        return ops.mean(log_likelihood, axis=0) - kl

    def log_likelihood(
        self, images, labels=None, num_samples=1000, batch_size=100,
        samples_per_chunk=None, seed=0,
    ):
        """Importance-weighted estimate of log p(x) per example, in nats.

        log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x):
        the IWAE bound of Burda et al. 2015, the standard estimate of a VAE's
        test log-likelihood. It equals the ELBO for K = 1 and grows towards
        log p(x) with K. The K samples are processed in chunks (a running
        logsumexp), so K = 1000 or 5000 fits in memory.

        Args:
            images: float array `(n, *image_shape)` in [-1, 1].
            labels: int array `(n,)` for conditional models.
            num_samples: int, K.
            batch_size: int, images per step.
            samples_per_chunk: int, samples of z decoded at once per image;
                defaults to about 5000 decoder inputs per chunk.
            seed: int, seeds the importance samples (same seed, same result).

        Returns:
            float64 numpy array `(n,)` of log p(x) estimates, in nats
            (negate and average for the test NLL).
        """
        images = np.asarray(images, "float32")
        self._check_batch_shapes(images, labels)
        self._check_values(images, labels)
        chunk = samples_per_chunk or max(1, min(num_samples, 5000 // batch_size))
        estimate = self._compiled_log_likelihood(chunk, num_samples)
        results = []
        for index, start in enumerate(range(0, len(images), batch_size)):
            batch = images[start : start + batch_size]
            batch_labels = (
                np.zeros(len(batch), "int32")
                if labels is None
                else np.asarray(labels[start : start + batch_size], "int32")
            )
            log_sum = estimate(batch, batch_labels, tf.constant([seed, index]))
            results.append(log_sum.numpy().astype("float64"))
        return np.concatenate(results) - math.log(num_samples)

    def _compiled_log_likelihood(self, chunk, num_samples):
        """A `tf.function` returning logsumexp_k log w_k for one batch.

        Draws `chunk` samples of z at a time; samples past `num_samples` in
        the last chunk are masked out.
        """
        key = (chunk, num_samples)
        num_chunks = math.ceil(num_samples / chunk)
        cache = self.__dict__.setdefault("_log_likelihood_functions", {})
        if key in cache:
            return cache[key]
        conditional = self.is_conditional

        @tf.function(
            input_signature=[
                tf.TensorSpec((None, *self.data_shape), tf.float32),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((2,), tf.int32),
            ]
        )
        def estimate(images, labels, seed):
            labels = labels if conditional else None
            posterior = self.encode(images, labels)
            targets = self._targets(images)
            batch_size = tf.shape(images)[0]
            log_sum = tf.fill([batch_size], -np.inf)
            for step in tf.range(num_chunks):
                eps = tf.random.stateless_normal(
                    (chunk, batch_size, self.latent_dim),
                    seed=tf.random.experimental.stateless_fold_in(seed, step),
                )
                latent = posterior.bijector.forward(eps)
                log_weights = (
                    self._likelihood(self._decode_samples(latent, labels)).log_prob(
                        targets
                    )
                    + self.prior.log_prob(latent)
                    - posterior.log_prob(latent)
                )
                sample_index = step * chunk + tf.range(chunk)
                log_weights = tf.where(
                    (sample_index < num_samples)[:, None], log_weights, -np.inf
                )
                log_sum = tf.experimental.numpy.logaddexp(
                    log_sum, tf.reduce_logsumexp(log_weights, axis=0)
                )
            return log_sum

        cache[key] = estimate
        return estimate

    def latent_from_noise(self, noise):
        """Samples come from the prior N(0, I) itself."""
        return noise
