"""RealNVP: a normalizing flow of affine couplings, exact likelihood of 8-bit images."""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from keras_gen.models.generative_model import SingleOptimizerModel
from keras_gen.networks.real_nvp import CouplingNetwork
from keras_gen.networks.real_nvp import RealNVPNetwork
from keras_gen.utils import distribution

tfb = tfp.bijectors
tfd = tfp.distributions

# 8-bit images: pixel values 0, 1, ..., 255.
PIXEL_LEVELS = 256
# The seed of the dequantization noise `log_likelihood` (and the serving
# export's `serving_default`) use by default: one fixed draw per image.
EVALUATION_SEED = 0
# How the 8-bit levels are made continuous (see `RealNVP`).
DEQUANTIZATIONS = ("uniform", "variational")


def dequantization_noise(shape, seed, dequantization="uniform"):
    """The dequantization noise of `shape` from an int (or int32 scalar) seed.

    U[0, 1) for uniform dequantization, N(0, 1) for variational (the noise
    `RealNVP.dequantizer` transforms). The stateless draw
    `tf.random.stateless_uniform` (or `stateless_normal`)`(shape, [seed, 0])`:
    traceable, so `RealNVP.log_likelihood` and the serving export draw the
    same noise for the same seed and shape.
    """
    seed = tf.stack([tf.cast(seed, tf.int32), 0])
    if dequantization == "variational":
        return tf.random.stateless_normal(shape, seed=seed, dtype=tf.float32)
    return tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32)


@keras.saving.register_keras_serializable(package="keras_gen")
class RealNVP(SingleOptimizerModel):
    """Real NVP, a normalizing flow for 8-bit images (Dinh et al. 2017).

    A bijection f maps an image (after preprocessing) to a latent z of the
    same shape, with a standard normal prior, so the density is exact:

        log p(v) = log N(f(y(v)); 0, I) + log|det df/dy| + log|det dy/dv|.

    f is `keras_gen.networks.RealNVPNetwork`: affine coupling layers with
    checkerboard and channel-wise masks, squeezes and the paper's
    multi-scale architecture (half of the variables factored out after
    each scale but the last), written as `tfp.bijectors` whose shift and
    log-scale networks are Keras layers of this model. Not implemented
    from the paper: batch normalization (the couplings start as the
    identity instead) and L2 weight decay.

    Data and preprocessing. Images come in [-1, 1] like every keras-gen
    model's (`keras_gen.data.load`); they are 8-bit images, so each pixel
    is first mapped back to its level k = round((x + 1) * 127.5) in
    {0, ..., 255}. Then:

    - dequantization: v = k + u, u ~ U[0, 1) (fresh noise every training
      step, from the model's seed generator), as in the paper; or, with
      `dequantization="variational"`, u drawn from a learned q(u | k)
      (see below);
    - y = logit(alpha + (1 - 2 alpha) * v / 256): the flow works on the
      real line, and the logit's argument stays in [alpha, 1 - alpha)
      (never logit(0) = -inf). `alpha` = 1e-6 by default, the margin
      flows on MNIST use (Papamakarios et al. 2017); the paper's 0.05
      (for natural images) is configurable. On MNIST, where most pixels
      are level 0, 0.05 squeezes every black pixel's dequantized values
      into a logit interval 0.07 wide (8.3 wide at 1e-6), a spike the
      flow has to stretch by more than an order of magnitude; its first
      couplings then become so sharp that one fresh-Adam step of 2e-4
      from a trained flow (every weight moved by about the rate) took its
      bits/dim on the next batch from 1.35 to 8.4. Measured on MNIST
      (`zoo/recipes/realnvp_mnist.py`, 600 steps from scratch, 64
      channels): 1.295 test bits/dim at 1e-6 against 1.981 at 0.05.

    The preprocessing is part of the `tfp` bijector chain of
    `pixel_distribution()`, so its log-determinant is part of every likelihood:

        log|det dy/dv| = sum_i [log(1 - 2 alpha) - log p_i - log(1 - p_i)]
                         - D log 256,     p_i = alpha + (1 - 2 alpha) v_i / 256.

    `log_prob` is therefore the density of v in [0, 256)^D, and
    -log p(v) / (D ln 2) are bits per dimension of the discrete 8-bit
    image: since the noise fills the unit cube of each level, E_u[log p(k + u)]
    <= log P(k), the probability the model gives the discrete image
    (the standard protocol of Theis et al. 2016, used by the paper). The
    training `loss` is -log p(v) in nats per image; `bits_per_dim` is
    reported too.

    Evaluation. `log_likelihood(images)` (and `bits_per_dim`) draw one
    uniform noise per pixel from a fixed seed (`seed=0`): a single-draw
    estimate of the lower bound on log P(k) above, the standard way
    test bits/dim are reported, and deterministic. `num_samples` is
    accepted and ignored, so `keras_gen.metrics.evaluate` (which passes
    its importance-sample count) works unchanged.

    Variational dequantization (Ho et al. 2019, Flow++, sec. 3.1). Uniform
    noise asks the flow for a box-shaped density in every level's unit
    interval, which smooth couplings fit poorly; on MNIST most pixels are
    exactly 0, and a moment-matched Gaussian misses a box by
    0.5 log(2 pi e / 12) = 0.18 nats per pixel. With
    `dequantization="variational"` the noise comes from a learned
    distribution q(u | k) in (0, 1)^D: u = sigmoid(mu + sigma * eps),
    eps ~ N(0, I), a logit-normal per pixel whose mu and log sigma are
    computed from the image's levels by `dequantizer` (a
    `keras_gen.networks.CouplingNetwork`, initially mu = 0, sigma = 1),
    written as a `tfp.bijectors` chain, so log q(u | k) comes from its
    log-determinant. The training loss and `log_likelihood` are then
    -log p(k + u) + log q(u | k): by Jensen, E_q[log p(k + u) - log q(u | k)]
    <= log P(k), the same kind of bound as uniform dequantization's (which
    is the case q = U[0, 1)), and tighter once q fits. `log_prob`'s `noise`
    is then eps ~ N(0, I) rather than u. Sampling is unchanged (q is only
    needed to score images).

    Sampling. `generate` draws z ~ N(0, I) (`latent_dim` = H * W * C
    normals, drawn like every keras-gen model's latent vectors, so the same
    seed gives the same images here and from the serving `sample`
    signature), inverts the flow and the preprocessing, and returns
    x = (v - 0.5) / 127.5 - 1 clipped to [-1, 1] (continuous values;
    round((x + 1) * 127.5) is the 8-bit pixel). `encode` / `decode` map
    images to latents and back.

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to MNIST's.
            Height and width must be divisible by 2 ** (num_scales - 1).
        network: optional `RealNVPNetwork`; built from the arguments below
            when None.
        num_scales: int, scales of the multi-scale architecture. Defaults
            to 3 (for 28x28 images: 28x28, 14x14 and 7x7, 16 couplings).
        filters: int, channels of each coupling's residual network.
            Defaults to 32.
        num_blocks: int, residual blocks per coupling network. Defaults
            to 1. (The defaults, about 0.37M weights for MNIST, fit a CPU
            budget; the paper's networks are far larger: 8 blocks of 64
            channels for CIFAR-10.)
        normalization: None or `"batch"`: batch normalization inside the
            coupling networks, as in the paper (see `CouplingNetwork`).
            Defaults to None.
        dequantization: `"uniform"` (the paper's) or `"variational"`
            (a learned q(u | k), see above). Defaults to `"uniform"`.
        dequantizer: optional `CouplingNetwork` computing q(u | k)'s
            `(mu, log sigma)` from the levels; built with the coupling
            networks' `filters`, `num_blocks` and `normalization` when None
            and `dequantization="variational"`. Must be None for uniform
            dequantization.
        alpha: float in (0, 0.5), the logit preprocessing's margin.
            Defaults to 1e-6 (see above; the paper's is 0.05).
        seed: int or None, seeds the model's noise (dequantization and
            unseeded `generate`).
        **kwargs: passed to `keras.Model`.

    `compile()` defaults to Adam(1e-3); any `keras.Model.compile` argument
    but `loss` can be given.

    Example:

    ```python
    train = keras_gen.data.load("mnist", batch_size=64)
    flow = keras_gen.models.RealNVP()
    flow.compile()
    flow.fit(train, epochs=5)          # loss: -log p(v), nats per image
    bits = flow.bits_per_dim(test_images).mean()  # 8-bit bits/dim
    samples = flow.generate(64, seed=0)  # (64, 28, 28, 1) in [-1, 1]
    ```

    References:
        Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
        ICLR 2017. https://arxiv.org/abs/1605.08803
        Theis, van den Oord & Bethge, "A note on the evaluation of
        generative models", ICLR 2016. https://arxiv.org/abs/1511.01844
    """

    _loss_hint = "it is -log p(x), so compile() takes no loss="

    _networks = ("network", "dequantizer")
    _network_args = (
        "image_shape", "num_scales", "filters", "num_blocks", "normalization",
        "alpha", "dequantization",
    )

    # `keras_gen.metrics.evaluate` scores likelihoods on the 8-bit test
    # images (not the binarized ones of the binary-image models).
    likelihood_data = "8bit"

    def __init__(
        self,
        image_shape=(28, 28, 1),
        network=None,
        num_scales=3,
        filters=32,
        num_blocks=1,
        normalization=None,
        alpha=1e-6,
        dequantization="uniform",
        dequantizer=None,
        seed=None,
        **kwargs,
    ):
        image_shape = tuple(image_shape)
        if len(image_shape) != 3 or not all(
            isinstance(d, int) and d > 0 for d in image_shape
        ):
            raise ValueError(
                "RealNVP models images: expected image_shape=(height, width, "
                f"channels), received {image_shape}."
            )
        if not isinstance(alpha, (int, float)) or not 0.0 < alpha < 0.5:
            raise ValueError(
                "alpha (the logit preprocessing's margin) must be a float in "
                f"(0, 0.5), received {alpha!r}: with 0 a black pixel would "
                "map to logit(0) = -inf."
            )
        if dequantization not in DEQUANTIZATIONS:
            raise ValueError(
                f"dequantization must be one of {DEQUANTIZATIONS}, received "
                f"{dequantization!r}."
            )
        if dequantizer is not None and dequantization != "variational":
            raise ValueError(
                "A dequantizer network is only used with "
                "dequantization='variational'."
            )
        kwargs.pop("latent_dim", None)  # Derived from image_shape.
        super().__init__(math.prod(image_shape), seed=seed, **kwargs)
        if network is None:
            network = RealNVPNetwork(
                image_shape, num_scales=num_scales, filters=filters,
                num_blocks=num_blocks, normalization=normalization,
            )
        if tuple(network.image_shape) != image_shape:
            raise ValueError(
                f"The network was built for images of shape "
                f"{tuple(network.image_shape)}, not image_shape={image_shape}."
            )
        self.network = network
        self.data_shape = self.image_shape = image_shape
        # The network's settings (equal to the arguments unless a network
        # is given).
        self.num_scales = network.num_scales
        self.filters = network.filters
        self.num_blocks = network.num_blocks
        self.normalization = network.normalization
        self.alpha = float(alpha)
        self.dequantization = dequantization
        if dequantization == "variational" and dequantizer is None:
            dequantizer = CouplingNetwork(
                image_shape[-1], filters=self.filters, num_blocks=self.num_blocks,
                normalization=self.normalization, name="dequantizer",
            )
        if dequantizer is not None:
            if dequantizer.channels != image_shape[-1]:
                raise ValueError(
                    f"The dequantizer computes {dequantizer.channels} channels; "
                    f"the images have {image_shape[-1]}."
                )
            if not dequantizer.built:
                dequantizer.build((None, *image_shape))
        self.dequantizer = dequantizer
        self.bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim")
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim")  # Not an argument: the number of pixels.
        return config

    # ------------------------------------------------------------------
    # The distribution.
    # ------------------------------------------------------------------

    def preprocessing_bijector(self):
        """v in [0, 256)^D -> y = logit(alpha + (1 - 2 alpha) v / 256)."""
        return tfb.Chain([  # Applied last to first.
            tfb.Invert(tfb.Sigmoid()),  # logit
            tfb.Shift(self.alpha),
            tfb.Scale(1.0 - 2.0 * self.alpha),
            tfb.Scale(1.0 / PIXEL_LEVELS),
        ])

    def pixel_bijector(self):
        """The whole map from dequantized pixels v to the latent z."""
        return tfb.Chain([self.network.bijector(), self.preprocessing_bijector()])

    def pixel_distribution(self):
        """p(v) as a `tfd.TransformedDistribution`, events `image_shape`.

        The standard normal on z pushed through the inverse of
        `pixel_bijector`: `log_prob(v)` is the density of dequantized pixels
        v in [0, 256)^D (preprocessing included), `sample` gives v. Built
        anew on every call (see `RealNVPNetwork.bijector`); trace it (the
        model's methods run it in `tf.function`s), as eager calls may run
        the coupling networks twice.
        """
        base = tfd.Sample(tfd.Normal(0.0, 1.0), sample_shape=self.image_shape)
        return tfd.TransformedDistribution(base, tfb.Invert(self.pixel_bijector()))

    @staticmethod
    def levels(images):
        """k = round((x + 1) * 127.5), the 8-bit levels of images in [-1, 1]."""
        images = ops.convert_to_tensor(images, "float32")
        return ops.clip(ops.round((images + 1.0) * 127.5), 0.0, PIXEL_LEVELS - 1.0)

    def dequantize(self, images, noise):
        """v = k + noise, k = round((x + 1) * 127.5) the 8-bit level of x."""
        return self.levels(images) + ops.cast(noise, "float32")

    def dequantization_bijector(self, images):
        """eps -> u = sigmoid(mu + sigma * eps), q(u | k)'s reparameterization.

        mu and log sigma come from `dequantizer` applied to the levels k of
        `images` (scaled back to [-1, 1]); a `tfb.Chain` whose
        log-determinant gives log q(u | k) = log N(eps) - log|du/deps|.
        """
        levels = self.levels(images)
        shift, log_scale = self.dequantizer(levels / 127.5 - 1.0)
        return tfb.Chain([  # Applied last to first.
            tfb.Sigmoid(),
            tfb.Shift(ops.cast(shift, "float32")),
            tfb.Scale(log_scale=ops.cast(log_scale, "float32")),
        ])

    def log_prob(self, images, noise):
        """log p(v) per image, nats, for v = dequantize(images, noise).

        With variational dequantization, `noise` is eps ~ N(0, I) and the
        result is log p(k + u) - log q(u | k) for u = q's transform of eps
        (a single-draw estimate of the bound on log P(k), see the class
        docstring).

        Traceable, no input checks (`log_likelihood` is the checked, batched
        numpy version).

        Args:
            images: float32 tensor `(batch, *image_shape)` in [-1, 1].
            noise: float32 tensor of the same shape, values in [0, 1) (or
                normals for variational dequantization).

        Returns:
            float32 tensor `(batch,)`.
        """
        if self.dequantization == "uniform":
            return self.pixel_distribution().log_prob(self.dequantize(images, noise))
        noise = ops.cast(noise, "float32")
        bijector = self.dequantization_bijector(images)
        offsets = bijector.forward(noise)
        standard_normal = tfd.Sample(
            tfd.Normal(0.0, 1.0), sample_shape=self.image_shape
        )
        log_q = standard_normal.log_prob(noise) - bijector.forward_log_det_jacobian(
            noise, event_ndims=3
        )
        log_p = self.pixel_distribution().log_prob(self.levels(images) + offsets)
        return log_p - log_q

    def deepen_from(self, source):
        """Starts this flow from a trained `RealNVP` with fewer residual blocks.

        Every coupling network (and the dequantizer) takes its counterpart's
        weights, with the extra residual blocks starting as the identity
        (`CouplingNetwork.deepen_from`): this flow then gives exactly
        `source`'s likelihoods and samples, with more capacity to train.

        Args:
            source: a `RealNVP` with the same settings but `num_blocks`
                (at most this one's), without batch normalization.

        Raises:
            ValueError: when `source` is not such a flow.
        """
        self._check_growable_from(source, "num_blocks")
        pairs = list(zip(
            self.network.coupling_networks, source.network.coupling_networks
        ))
        if self.dequantizer is not None:
            pairs.append((self.dequantizer, source.dequantizer))
        for network, trained in pairs:
            network.deepen_from(trained)

    def nats_to_bits_per_dim(self, nats):
        """A negative log-likelihood in nats per image, in bits per dimension."""
        return nats / (self.latent_dim * math.log(2.0))

    # ------------------------------------------------------------------
    # Training.
    # ------------------------------------------------------------------

    def call(self, inputs, training=False):
        """log p(v) per image for fresh dequantization noise, shape `(batch,)`.

        The noise comes from the model's seed generator (the same for any
        number of replicas, see `keras_gen.utils.distribution`).
        """
        self._check_batch_shapes(inputs, None)
        noise = distribution.draw_per_example(
            self._random_noise, ops.shape(inputs)[0], self.image_shape,
            self.seed_generator,
        )
        return self.log_prob(inputs, noise)

    @property
    def _random_noise(self):
        """`keras.random.uniform` or `normal`: the dequantization's noise."""
        if self.dequantization == "variational":
            return keras.random.normal
        return keras.random.uniform

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        nats = -ops.mean(y_pred)
        self.bits_per_dim_tracker.update_state(self.nats_to_bits_per_dim(nats))
        loss = nats
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return distribution.scale_for_replicas(loss)

    # ------------------------------------------------------------------
    # Likelihood.
    # ------------------------------------------------------------------

    def _checked_images(self, images, labels, method):
        name = type(self).__name__
        if labels is not None:
            raise ValueError(f"{name} is unconditional: it takes no labels.")
        images = np.asarray(images, "float32")
        if images.ndim != 4:
            raise ValueError(
                f"{name}.{method}() expects a batch of images of shape (n, "
                f"{', '.join(map(str, self.data_shape))}), received shape "
                f"{images.shape}."
            )
        self._check_batch_shapes(images, None)
        self._check_values(images, None)
        return images

    def _noise_for(self, images, seed):
        shape = images.shape
        if seed is None:
            return self._random_noise(shape, seed=self.seed_generator)
        return dequantization_noise(shape, int(seed), self.dequantization)

    def log_likelihood(
        self, images, labels=None, batch_size=256, num_samples=None,
        seed=EVALUATION_SEED,
    ):
        """log p(v) per image in nats, for one dequantization of each image.

        v = k + u with k the 8-bit levels of `images` and u ~ U[0, 1)
        drawn for all images at once from `seed`, so the result does not
        depend on `batch_size`. log p(v) is the density in [0, 256)^D
        (preprocessing included); its mean over images estimates a lower
        bound on log P(k) of the discrete images (see the class docstring).
        With variational dequantization, u ~ q(u | k) (from normals drawn
        the same way) and the result is log p(v) - log q(u | k), again a
        single-draw estimate of a lower bound on log P(k).

        Args:
            images: float array `(n, *image_shape)` in [-1, 1].
            labels: must be None (the model is unconditional).
            batch_size: int, images per pass.
            num_samples: ignored; accepted so that code written for the
                VAE's importance-weighted estimate (e.g.
                `keras_gen.metrics.evaluate`) works unchanged.
            seed: int, seeds the noise; None draws it from the model's seed
                generator (a new draw each call). Defaults to 0.

        Returns:
            float64 numpy array `(n,)`.
        """
        del num_samples
        images = self._checked_images(images, labels, "log_likelihood")
        noise = self._noise_for(images, seed)
        function = self._compiled(
            "_log_prob_function", self.log_prob, self._images_spec(),
            self._images_spec(),
        )
        results = [
            function(
                images[start : start + batch_size], noise[start : start + batch_size]
            ).numpy()
            for start in range(0, len(images), batch_size)
        ]
        if not results:
            return np.zeros((0,), "float64")
        return np.concatenate(results).astype("float64")

    def bits_per_dim(self, images, batch_size=256, seed=EVALUATION_SEED):
        """-log p(v) / (D ln 2) per image: bits per dimension of 8-bit images.

        Same arguments as `log_likelihood`; average the result over a test
        set for the usual figure.
        """
        nats = -self.log_likelihood(images, batch_size=batch_size, seed=seed)
        return self.nats_to_bits_per_dim(nats)

    # ------------------------------------------------------------------
    # Latents and sampling.
    # ------------------------------------------------------------------

    def encode(self, images, noise=None):
        """The latent z of images, shape `(batch, latent_dim)` (traceable).

        Args:
            images: float32 tensor `(batch, *image_shape)` in [-1, 1].
            noise: dequantization noise of the same shape, or None for the
                middle of each level (0.5), so that `decode(encode(x))`
                gives x back.
        """
        images = ops.convert_to_tensor(images, "float32")
        if noise is None:
            noise = ops.full(ops.shape(images), 0.5)
        latent = self.pixel_bijector().forward(self.dequantize(images, noise))
        return ops.reshape(latent, (-1, self.latent_dim))

    def decode(self, latent):
        """Images in [-1, 1] from latents `(batch, latent_dim)` (traceable).

        Inverts the flow and the preprocessing to v in [0, 256)^D, and
        returns x = (v - 0.5) / 127.5 - 1 (the level's middle maps to the
        level), clipped to [-1, 1].
        """
        latent = ops.reshape(
            ops.convert_to_tensor(latent, "float32"), (-1, *self.image_shape)
        )
        pixels = self.pixel_bijector().inverse(latent)
        return ops.clip((pixels - 0.5) / 127.5 - 1.0, -1.0, 1.0)

    def _decode_batch(self, latent, labels):
        function = self._compiled(
            "_decode_function", self.decode,
            tf.TensorSpec((None, self.latent_dim), tf.float32),
        )
        return function(tf.convert_to_tensor(latent, tf.float32)).numpy()

    def _compiled(self, key, method, *input_specs):
        """`method` as a cached `tf.function` (kept out of Keras's tracking)."""
        function = self.__dict__.get(key)
        if function is None:
            function = tf.function(method, input_signature=list(input_specs))
            self.__dict__[key] = function
        return function

    def _images_spec(self):
        return tf.TensorSpec((None, *self.image_shape), tf.float32)
