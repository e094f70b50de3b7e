"""The shared plumbing of every two-network (generator/discriminator) model."""

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen.losses.adversarial import check_top_k_fraction
from keras_gen.losses.adversarial import top_k_fake_logits
from keras_gen.models.generative_model import GenerativeModel
from keras_gen.models.generative_model import static_output_shape
from keras_gen.models import transport
from keras_gen.utils import distribution


class AdversarialModel(GenerativeModel):
    """Base class of the GAN family: two networks, two optimizers, one `fit`.

    Owns what every adversarial model shares, so that each subclass's
    `train_step` only states its algorithm:

    - the generator and discriminator (critic) networks, the latent size and
      the optional number of classes of a conditional model;
    - `compile(g_optimizer=..., d_optimizer=..., **settings)` with per-class
      defaults (`default_optimizers()`, `compile_defaults`), saved with the
      model and replayed on load, both optimizers built on their networks'
      variables so their state is saved and restored;
    - noise from a `keras.random.SeedGenerator` owned by the model (its state
      is saved with the weights), drawn so that a global batch gets the same
      noise whatever the number of `tf.distribute` replicas;
    - losses scaled for `tf.distribute` (per-replica means divided by the
      number of replicas, gradients summed by the optimizer);
    - epoch-mean loss trackers, input validation and `generate()`.

    Subclasses set `compile_defaults` (a dict of algorithm settings) and
    implement `default_optimizers()`, `configure()`, `discriminator_step()`
    and `generator_loss()`.

    Args:
        generator: `keras.Model` mapping `latent` (or `[latent, label]` when
            `num_classes` is set) to data.
        discriminator: `keras.Model` mapping data (or `[data, label]`) to one
            logit per example, shape `(batch, 1)` or `(batch,)`.
        latent_dim: int, size of the latent vector.
        num_classes: int or None; set for conditional models.
        latent_components: None (the prior is N(0, I)) or an int K >= 2: a
            static Gaussian mixture prior (GM-GAN, Ben-Yosef & Weinshall
            2018), z = mu_k + sigma * eps with k uniform over K fixed means
            and eps ~ N(0, I). The means are drawn once, uniformly in
            [-1, 1]^latent_dim, by `numpy.random.RandomState(0)` (whose
            stream NumPy keeps fixed), so they are part of the
            architecture, not of the weights. A continuous generator maps a
            connected latent space onto a connected set, so a N(0, I) prior
            must put samples between disconnected modes (such as digit
            classes); a mixture's components can map to separate modes.
        latent_component_stddev: float > 0, sigma. Defaults to 1.0. Setting
            the attribute after training trades diversity for quality (the
            GM-GAN paper's knob): smaller sigma keeps samples nearer their
            component's mean. `generate` and the serving export use its
            current value.
        truncation_keep: None, or a float in (0, 1): with
            `truncation_threshold`, the Jacobian-based truncation that
            `set_jacobian_truncation` fits (saved with the model; set it
            with that method rather than by hand).
        truncation_threshold: None, or the float threshold on the
            estimated ||J_G(z)||_F^2 that goes with `truncation_keep`.
        transport_steps, transport_step_size, transport_lipschitz: None
            (default), or the latent-space discriminator optimal transport
            that `set_discriminator_transport` fits (saved with the model;
            set it with that method rather than by hand).
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model` (e.g. `name`).
    """

    compile_defaults = {"d_steps": 1}
    # Jacobian-based truncation (`set_jacobian_truncation`): random
    # directions per latent, finite-difference step, and the most latent
    # vectors scored at once (bounds the memory of a large request).
    truncation_directions = 4
    truncation_step = 1e-2
    truncation_chunk_size = 4096
    # Discriminator optimal transport (`set_discriminator_transport`): the
    # most latents moved at once by `generate` (bounds its memory), and why
    # a subclass cannot use it (None: it can).
    transport_chunk_size = 1024
    transport_unsupported = None
    _networks = ("generator", "discriminator")

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        num_classes=None,
        latent_components=None,
        latent_component_stddev=1.0,
        truncation_keep=None,
        truncation_threshold=None,
        transport_steps=None,
        transport_step_size=None,
        transport_lipschitz=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(latent_dim, num_classes=num_classes, seed=seed, **kwargs)
        if latent_components is not None and (
            not isinstance(latent_components, (int, np.integer))
            or isinstance(latent_components, bool) or latent_components < 2
        ):
            raise ValueError(
                "latent_components must be None (a N(0, I) prior) or an int >= 2 "
                f"(a Gaussian mixture prior), received {latent_components!r}."
            )
        if not isinstance(latent_component_stddev, (int, float, np.number)) or not (
            latent_component_stddev > 0
        ):
            raise ValueError(
                "latent_component_stddev must be a float > 0, received "
                f"{latent_component_stddev!r}."
            )
        self.latent_components = (
            None if latent_components is None else int(latent_components)
        )
        self.latent_component_stddev = float(latent_component_stddev)
        self.latent_means = (
            None if latent_components is None
            else mixture_means(self.latent_components, latent_dim)
        )
        self.generator = generator
        self.discriminator = discriminator
        self._set_truncation(truncation_keep, truncation_threshold)
        self._set_transport(transport_steps, transport_step_size, transport_lipschitz)
        latent_shape = (None, latent_dim)
        self.data_shape = static_output_shape(
            generator,
            [latent_shape, (None,)] if num_classes else latent_shape,
        )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # The networks are built, so the wrapper is too; `fit` under a
        # distribution strategy would otherwise call it on a data batch.
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_components=self.latent_components,
            latent_component_stddev=self.latent_component_stddev,
            truncation_keep=self.truncation_keep,
            truncation_threshold=self.truncation_threshold,
            transport_steps=self.transport_steps,
            transport_step_size=self.transport_step_size,
            transport_lipschitz=self.transport_lipschitz,
        )
        return config

    # ------------------------------------------------------------------
    # Jacobian-based truncation (Tanielian et al. 2020).
    # ------------------------------------------------------------------

    def _set_truncation(self, keep, threshold):
        self._check_truncation(keep, threshold)
        self.truncation_keep = None if keep is None else float(keep)
        self.truncation_threshold = None if threshold is None else float(threshold)

    def _check_truncation(self, keep, threshold):
        if (keep is None) != (threshold is None):
            raise ValueError(
                "truncation_keep and truncation_threshold go together (both "
                f"None, or both set); received {keep!r} and {threshold!r}. "
                "Use set_jacobian_truncation(keep)."
            )
        if keep is not None:
            if not isinstance(keep, (int, float, np.number)) or not 0.0 < keep < 1.0:
                raise ValueError(f"truncation_keep must be in (0, 1), received {keep!r}.")
            if self.is_conditional:
                raise ValueError(
                    f"Jacobian-based truncation is for unconditional models; "
                    f"{type(self).__name__} is conditional (the truncated region "
                    "would depend on the label)."
                )
            if not isinstance(threshold, (int, float, np.number)) or not threshold >= 0:
                raise ValueError(
                    f"truncation_threshold must be a float >= 0, received {threshold!r}."
                )

    def jacobian_sq_norms(self, latent, directions):
        """Estimates ||J_G(z)||_F^2, the generator's Jacobian, per latent.

        (1 / K) sum_k ||G(z + h v_k) - G(z)||^2 / h^2 for the K directions
        v_k ~ N(0, I) given (E ||J v||^2 = ||J||_F^2), with h =
        `truncation_step`: forward differences of the generator in
        inference mode, with the weights it holds (call it inside
        `sampling_weights()` to score what `generate` samples with).
        Traceable.

        Args:
            latent: float32 `(batch, latent_dim)`.
            directions: float32 `(K, batch, latent_dim)`.

        Returns:
            float32 `(batch,)`.
        """
        latent = ops.convert_to_tensor(latent, "float32")
        step = self.truncation_step

        def images(z):
            out = ops.cast(self.generator(z, training=False), "float32")
            return ops.reshape(out, (ops.shape(out)[0], -1))

        base = images(latent)
        total = ops.zeros(ops.shape(latent)[:1], "float32")
        for k in range(directions.shape[0]):
            moved = images(latent + step * directions[k])
            total = total + ops.sum(ops.square(moved - base), axis=1)
        return total / (directions.shape[0] * step**2)

    def _truncation_candidates(self, seed, round_index, size):
        """The latents and directions of one round of the truncated sampler:
        N(0, I) noise from the stateless seed `[seed, 2 * round]` (round 0
        draws the noise the untruncated `generate` draws) mapped through
        `latent_from_noise`, and K directions from `[seed, 2 * round + 1]`."""
        noise = tf.random.stateless_normal(
            tf.stack([size, self.latent_dim]), seed=tf.stack([seed, 2 * round_index])
        )
        directions = tf.random.stateless_normal(
            tf.stack([self.truncation_directions, size, self.latent_dim]),
            seed=tf.stack([seed, 2 * round_index + 1]),
        )
        return tf.cast(self.latent_from_noise(noise), tf.float32), directions

    def set_jacobian_truncation(self, keep, num_latents=20_000, seed=0):
        """Samples only where the generator is smooth: Jacobian-based truncation.

        A continuous generator maps the connected N(0, I) prior onto a
        connected set, so it must put some samples between the data's
        disconnected modes (digit classes); those samples sit where the
        generator's Jacobian is large (Tanielian et al. 2020, "Learning
        disconnected manifolds: a no GAN's land"). This sets the threshold
        tau to the `keep` quantile of the estimated ||J_G(z)||_F^2
        (`jacobian_sq_norms`) over `num_latents` prior draws; from then on
        `generate` and the serving export's `sample` draw latent vectors
        from the prior and keep those whose estimate is at most tau (a
        share `keep` of them), so every sample is a draw from the prior
        restricted to that region, whatever the number requested. Training
        does not use it; fit it again after more training.

        Args:
            keep: float in (0, 1), the share of prior draws kept; None
                switches the truncation off.
            num_latents: int, prior draws the quantile is estimated from.
            seed: int, seeds those draws.

        Returns:
            The threshold tau (a float), or None.
        """
        if keep is None:
            self._set_truncation(None, None)
            return None
        self._check_truncation(keep, 1.0)  # keep and the model, before the work.
        norms = []
        with self.sampling_weights():
            for index, start in enumerate(range(0, num_latents, self.truncation_chunk_size)):
                size = min(self.truncation_chunk_size, num_latents - start)
                # Negative seeds: never the streams `generate` draws from.
                latent, directions = self._truncation_candidates(-1 - seed, index, size)
                norms.append(ops.convert_to_numpy(self.jacobian_sq_norms(latent, directions)))
        threshold = float(np.quantile(np.concatenate(norms), keep))
        self._set_truncation(keep, threshold)
        return threshold

    def truncated_latent(self, num_samples, seed, keep=None, threshold=None):
        """`num_samples` latent vectors from the Jacobian-truncated prior.

        Rounds of `min(ceil(num_samples / keep) + 16, truncation_chunk_size)`
        candidates (`_truncation_candidates`), each kept when its
        `jacobian_sq_norms` is at most the threshold, in the order drawn,
        until `num_samples` are kept. Traceable (the serving export's
        `sample` runs it in the graph); `generate` runs it as a
        `tf.function`. Fails if far fewer candidates pass than `keep`
        says (a threshold fitted to other weights).

        Args:
            num_samples: int32 scalar.
            seed: int32 scalar.
            keep, threshold: default to the model's truncation settings.

        Returns:
            float32 `(num_samples, latent_dim)`.
        """
        keep = self.truncation_keep if keep is None else keep
        threshold = self.truncation_threshold if threshold is None else threshold
        num_samples = tf.convert_to_tensor(num_samples, tf.int32)
        seed = tf.convert_to_tensor(seed, tf.int32)
        keep = tf.cast(keep, tf.float32)
        chunk = tf.minimum(
            tf.cast(tf.math.ceil(tf.cast(num_samples, tf.float32) / keep), tf.int32) + 16,
            self.truncation_chunk_size,
        )
        expected_rounds = tf.cast(tf.math.ceil(
            tf.cast(num_samples, tf.float32) / (tf.cast(chunk, tf.float32) * keep)
        ), tf.int32)
        max_rounds = 4 * expected_rounds + 4

        def body(round_index, kept):
            latent, directions = self._truncation_candidates(seed, round_index, chunk)
            passed = self.jacobian_sq_norms(latent, directions) <= threshold
            return round_index + 1, tf.concat([kept, tf.boolean_mask(latent, passed)], 0)

        rounds, kept = tf.while_loop(
            lambda round_index, kept: tf.logical_and(
                tf.shape(kept)[0] < num_samples, round_index < max_rounds
            ),
            body,
            [tf.constant(0), tf.zeros([0, self.latent_dim], tf.float32)],
            shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, self.latent_dim])],
        )
        check = tf.debugging.assert_greater_equal(
            tf.shape(kept)[0], num_samples,
            message="Jacobian-based truncation: far fewer latents passed the "
            "threshold than truncation_keep says; the threshold was fitted to "
            "other weights. Call set_jacobian_truncation(keep) again.",
        )
        with tf.control_dependencies([check]):
            return tf.identity(kept[:num_samples])

    def generation_latent(self, num_samples, seed):
        """The latents `generate` decodes: the prior's, or the truncated
        prior's (`set_jacobian_truncation`), then transported
        (`set_discriminator_transport`) if that is set; drawn inside
        `sampling_weights()`."""
        latent = self._drawn_latent(num_samples, seed)
        if self.transport_steps is None:
            return latent
        if not hasattr(self, "_transported_latent_function"):
            # The settings are arguments, not constants of the trace: set
            # again, they take effect.
            self._transported_latent_function = tf.function(
                self.transported_latent,
                input_signature=[
                    tf.TensorSpec([None, self.latent_dim], tf.float32),
                    tf.TensorSpec([], tf.int32),
                    tf.TensorSpec([], tf.float32),
                    tf.TensorSpec([], tf.float32),
                ],
            )
        latent = ops.convert_to_numpy(latent).astype("float32")
        return np.concatenate([
            self._transported_latent_function(
                latent[start : start + self.transport_chunk_size],
                self.transport_steps, self.transport_step_size,
                self.transport_lipschitz,
            ).numpy()
            for start in range(0, len(latent), self.transport_chunk_size)
        ])

    def _drawn_latent(self, num_samples, seed):
        if self.truncation_keep is None:
            return super().generation_latent(num_samples, seed)
        if seed is None:
            seed = int(ops.convert_to_numpy(keras.random.randint(
                (), 0, 2**31 - 1, seed=self.seed_generator
            )))
        if not hasattr(self, "_truncated_latent_function"):
            self._truncated_latent_function = tf.function(
                self.truncated_latent,
                input_signature=[tf.TensorSpec([], tf.int32)] * 2
                + [tf.TensorSpec([], tf.float32)] * 2,
            )
        return self._truncated_latent_function(
            int(num_samples), int(seed), self.truncation_keep, self.truncation_threshold
        ).numpy()

    # ------------------------------------------------------------------
    # Discriminator optimal transport in latent space (Tanaka 2019).
    # ------------------------------------------------------------------

    def _set_transport(self, steps, step_size, lipschitz):
        transport.check_transport(steps, step_size, lipschitz)
        if steps is not None:
            self._check_transport_model()
        self.transport_steps = None if steps is None else int(steps)
        self.transport_step_size = None if step_size is None else float(step_size)
        self.transport_lipschitz = None if lipschitz is None else float(lipschitz)

    def _check_transport_model(self):
        if self.is_conditional:
            raise ValueError(
                "Discriminator optimal transport is for unconditional models; "
                f"{type(self).__name__} is conditional (its critic scores an "
                "image with its label)."
            )
        if self.transport_unsupported:
            raise ValueError(
                "Discriminator optimal transport does not apply to "
                f"{type(self).__name__}: {self.transport_unsupported}"
            )

    def latent_critic(self, latent):
        """D(G(z)): the critic's value of each latent's image, float32
        `(batch,)`, both networks in inference mode, with the weights they
        hold (inside `sampling_weights()`: the generator `generate` uses).
        Traceable."""
        values = self._discriminate(self._generate(latent, None, False), None, False)
        return ops.reshape(ops.cast(values, "float32"), (-1,))

    def set_discriminator_transport(self, steps, step_size=0.01, num_pairs=2000, seed=0):
        """Moves each latent where the critic rates its image more real.

        Latent-space discriminator optimal transport (Tanaka 2019,
        `keras_gen.models.transport`): from then on `generate` and the
        serving export's `sample` replace each prior (or truncated prior)
        draw z0 by `steps` Adam steps (size `step_size`, beta_1 0, beta_2
        0.9) towards argmin_z ||z - z0|| - D(G(z)) / k_eff, and decode
        that. This fits k_eff, the largest |D(G(z)) - D(G(z'))| / ||z - z'||
        over `num_pairs` pairs of prior draws, with the generator's
        sampling weights. The critic is used as trained; fit again after
        more training. `serving_default` still decodes the latents it is
        given, untransported. The cost: `steps` passes through both
        networks, forward and backward, per sample.

        Args:
            steps: int >= 1, Adam steps per latent; None switches the
                transport off.
            step_size: float > 0, Adam's learning rate. The first step
                moves every coordinate by this much.
            num_pairs: int >= 1, prior pairs k_eff is estimated from.
            seed: int, seeds those pairs.

        Returns:
            k_eff (a float), or None.

        Raises:
            ValueError: for a conditional model, a model whose
                discriminator is not a critic of one value per image
                (InfoGAN, the semi-supervised GAN), bad settings, or a
                critic that is constant on the pairs.
        """
        if steps is None:
            self._set_transport(None, None, None)
            return None
        transport.check_transport(steps, step_size, 1.0)
        self._check_transport_model()
        if not isinstance(num_pairs, (int, np.integer)) or num_pairs < 1:
            raise ValueError(f"num_pairs must be an int >= 1, received {num_pairs!r}.")
        estimates = []
        with self.sampling_weights():
            for index, start in enumerate(range(0, num_pairs, self.transport_chunk_size)):
                size = min(self.transport_chunk_size, num_pairs - start)
                # Negative seeds: never the streams `generate` draws from.
                pair = [
                    self.latent_from_noise(tf.random.stateless_normal(
                        [size, self.latent_dim], seed=[-1 - seed, 2 * index + side]
                    ))
                    for side in (0, 1)
                ]
                estimates.append(transport.lipschitz_estimate(self.latent_critic, *pair))
        lipschitz = max(estimates)
        if not lipschitz > 0:
            raise ValueError(
                "Discriminator optimal transport: the critic gives the same "
                f"value to all {num_pairs} pairs of samples (k_eff "
                f"{lipschitz!r}); it has not been trained."
            )
        self._set_transport(int(steps), float(step_size), lipschitz)
        return lipschitz

    def transported_latent(self, latent, steps=None, step_size=None, lipschitz=None):
        """`latent` moved by discriminator optimal transport. Traceable (the
        serving export's `sample` runs it in the graph).

        `steps`, `step_size` and `lipschitz` default to the model's
        settings (`set_discriminator_transport`).
        """
        return transport.transport(
            self.latent_critic, latent,
            self.transport_steps if steps is None else steps,
            self.transport_step_size if step_size is None else step_size,
            self.transport_lipschitz if lipschitz is None else lipschitz,
        )

    # ------------------------------------------------------------------
    # Compile: two optimizers and the algorithm's settings.
    # ------------------------------------------------------------------

    def default_optimizers(self):
        """Returns fresh `(g_optimizer, d_optimizer)` as the paper sets them."""
        raise NotImplementedError

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Configures training; with no arguments, the paper's settings.

        Args:
            g_optimizer: optimizer (instance, name or config dict) of the
                generator. Defaults to the paper's.
            d_optimizer: optimizer of the discriminator (critic).
            **kwargs: the algorithm's settings (see `compile_defaults` of the
                class, e.g. `d_steps`); `generator_ema_decay` (None, or e.g.
                0.999: sample with an exponential moving average of the
                generator's weights); `generator_top_k` (None, or a float in
                (0, 1]: the generator learns only from that share of each
                batch's fakes, those the discriminator rates most real; top-k
                training, Sinha et al. 2020); and `keras.Model.compile`
                options such as `jit_compile`, `steps_per_execution`,
                `run_eagerly`.
        """
        ema_decay = kwargs.pop("generator_ema_decay", None)
        if ema_decay is not None and not 0.0 <= ema_decay < 1.0:
            raise ValueError(
                f"generator_ema_decay must be in [0, 1), received {ema_decay!r}."
            )
        top_k = kwargs.pop("generator_top_k", None)
        if top_k is not None:
            check_top_k_fraction(top_k)
            if type(self).generator_step is not AdversarialModel.generator_step:
                raise ValueError(
                    f"generator_top_k is not supported by {type(self).__name__}: "
                    "its generator step has losses beyond the discriminator's "
                    "logits on the fakes."
                )
        settings = dict(self.compile_defaults)
        for key in list(kwargs):
            if key in settings:
                settings[key] = kwargs.pop(key)
        unsupported = set(kwargs) - {
            "jit_compile", "steps_per_execution", "run_eagerly", "auto_scale_loss",
        }
        if unsupported:
            raise TypeError(
                f"{type(self).__name__}.compile() got unexpected arguments "
                f"{sorted(unsupported)}. Settings of this model: "
                f"{sorted(self.compile_defaults)}; optimizers are set with "
                "g_optimizer= and d_optimizer=."
            )
        if not isinstance(settings["d_steps"], int) or settings["d_steps"] < 1:
            raise ValueError(
                f"d_steps must be an int >= 1, received {settings['d_steps']!r}."
            )
        default_g, default_d = (
            self.default_optimizers()
            if g_optimizer is None or d_optimizer is None
            else (None, None)
        )
        self.g_optimizer = keras.optimizers.get(g_optimizer or default_g)
        self.d_optimizer = keras.optimizers.get(d_optimizer or default_d)
        if self.g_optimizer is self.d_optimizer:
            raise ValueError(
                "g_optimizer and d_optimizer must be two optimizer instances: "
                "each keeps the state of its own network's variables."
            )
        self.configure(**settings)
        self._compile_settings = {
            **settings, "generator_ema_decay": ema_decay, "generator_top_k": top_k,
        }
        self._compile_options = dict(kwargs)
        self.generator_ema_decay = ema_decay
        self.generator_top_k = top_k
        if ema_decay is not None:
            self._track_generator_average()
        super().compile(optimizer=None, **kwargs)
        # Build both optimizers now, on their own networks' variables (inside
        # the distribution scope when there is one): Keras then saves and
        # restores their state, and no optimizer variable is created lazily
        # inside a replica step.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def _track_generator_average(self):
        """Creates the moving average of the generator's weights (once).

        Model-level weights, saved and restored with the model. The average
        starts from the current weights. `aggregation="mean"` lets every
        replica update it inside a replica step.
        """
        if hasattr(self, "generator_average"):
            return
        average = []
        for index, weight in enumerate(self.generator.weights):
            variable = self.add_weight(
                shape=weight.shape, initializer="zeros", trainable=False,
                aggregation="mean", name=f"generator_average_{index}",
            )
            variable.assign(weight)
            average.append(variable)
        self.generator_average = average

    def _update_generator_average(self):
        # Warm-up as tf.train.ExponentialMovingAverage(num_updates=t): the
        # decay is min(decay, (1 + t) / (10 + t)), so the average forgets
        # the random initial generator within the first few hundred steps.
        steps = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.generator_ema_decay, (1.0 + steps) / (10.0 + steps))
        for average, weight in zip(self.generator_average, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * weight)

    def sampling_weights(self):
        """Swaps the generator's moving average in, if there is one.

        With `compile(generator_ema_decay=...)` (an exponential moving
        average of the generator's weights, Yazici et al. 2019), `generate`
        and the serving export use the averaged weights; training and
        `model(latent)` use the trained ones.
        """
        if not self._samples_with_average():
            return contextlib.nullcontext()
        return self._swapped_generator_weights()

    def _samples_with_average(self):
        if getattr(self, "compiled", False):
            return getattr(self, "generator_ema_decay", None) is not None
        # Loaded without compile: the saved average, if there is one.
        return hasattr(self, "generator_average")

    def load_own_variables(self, store):
        # The moving average is created by compile(generator_ema_decay=...);
        # a model loaded with compile=False creates it here when the saved
        # model has it (its only model-level weights), so it loads, and
        # samples with it.
        own = [key for key in store.keys() if key != self._SEED_STATE_KEY]
        if not hasattr(self, "generator_average") and len(own) == len(
            self.generator.weights
        ):
            self._track_generator_average()
        super().load_own_variables(store)

    @contextlib.contextmanager
    def _swapped_generator_weights(self):
        trained = [weight.numpy() for weight in self.generator.weights]
        for weight, average in zip(self.generator.weights, self.generator_average):
            weight.assign(average)
        try:
            yield
        finally:
            for weight, value in zip(self.generator.weights, trained):
                weight.assign(value)

    def configure(self, **settings):
        """Stores the algorithm's validated settings as attributes."""
        for key, value in settings.items():
            setattr(self, key, value)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            **self._compile_settings,
            **self._compile_options,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("g_optimizer", "d_optimizer"):
            config[key] = keras.optimizers.deserialize(config[key])
        self.compile(**config)

    # ------------------------------------------------------------------
    # Pieces of a training step.
    # ------------------------------------------------------------------

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def sample_latent(self, batch_size):
        """Draws latent vectors `(batch_size, latent_dim)` from the prior.

        N(0, I) noise mapped by `latent_from_noise`, as `generate` draws
        them. Under `tf.distribute`, every replica draws the noise of the
        global batch from the same (mirrored) seed state and keeps its own
        slice, so a global batch gets the same noise with 1 or N replicas.
        """
        return self.latent_from_noise(distribution.draw_per_example(
            keras.random.normal, batch_size, (self.latent_dim,),
            self.seed_generator,
        ))

    def latent_from_noise(self, noise):
        """N(0, I) noise `(batch, latent_dim)` -> the prior's latent vectors.

        The identity for a N(0, I) prior. With `latent_components=K`, the
        mixture sample `gaussian_mixture_latent(noise, latent_means,
        latent_component_stddev)`.
        """
        if self.latent_components is None:
            return noise
        return gaussian_mixture_latent(
            noise, self.latent_means, self.latent_component_stddev
        )

    def _generate(self, latent, labels, training):
        inputs = [latent, labels] if self.is_conditional else latent
        return self.generator(inputs, training=training)

    def _discriminate(self, data, labels, training):
        inputs = [data, labels] if self.is_conditional else data
        return self.discriminator(inputs, training=training)

    def train_step(self, data):
        """One step of the papers' Algorithm 1.

        `d_steps` updates of the discriminator (critic) on the real batch and
        fresh samples, then one update of the generator.
        """
        real, labels = self._unpack(data)
        batch_size = tf.shape(real)[0]
        for _ in range(self.d_steps):
            d_loss = self.discriminator_step(real, labels, batch_size)
            self.d_loss_tracker.update_state(d_loss)
        g_loss = self.generator_step(labels, batch_size)
        self.g_loss_tracker.update_state(g_loss)
        return self._tracker_results()

    def discriminator_step(self, real, labels, batch_size):
        """Updates the discriminator once; returns its loss."""
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        """The generator's loss given the discriminator's logits on fakes."""
        raise NotImplementedError

    def generator_step(self, labels, batch_size):
        """Updates the generator once, through the discriminator.

        With `generator_top_k`, through the fakes the discriminator rates
        most real only (on each replica, of its share of the batch).
        """
        latent = self.sample_latent(batch_size)
        with tf.GradientTape() as tape:
            fake = self._generate(latent, labels, training=True)
            fake_logits = self._discriminate(fake, labels, training=True)
            if self.generator_top_k is not None:
                fake_logits = top_k_fake_logits(fake_logits, self.generator_top_k)
            g_loss = self.generator_loss(fake_logits)
        self._apply_gradients(tape, g_loss, self.generator, self.g_optimizer)
        if self.generator_ema_decay is not None:
            self._update_generator_average()
        return g_loss

    def _apply_gradients(self, tape, loss, network, optimizer):
        """One optimizer step of `network` on `loss` (a per-replica mean).

        The optimizer sums gradients over replicas, so they are divided by the
        number of replicas: the update is that of the global-batch mean.
        """
        variables = network.trainable_variables
        gradients = tape.gradient(loss, variables)
        gradients = [distribution.scale_for_replicas(g) for g in gradients]
        optimizer.apply_gradients(zip(gradients, variables))

    def _unpack(self, data):
        """Splits a `fit` batch into `(real_data, labels or None)`."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        self._check_batch_shapes(x, y)
        if self.is_conditional:
            return x, ops.cast(ops.reshape(y, (-1,)), "int32")
        return x, None

    def _tracker_results(self):
        return {metric.name: metric.result() for metric in self.metrics}

    def call(self, inputs, training=False):
        """Maps latent vectors (and labels, if conditional) to data."""
        return self.generator(inputs, training=training)

    def _decode_batch(self, latent, labels):
        inputs = latent if labels is None else [latent, labels]
        # A compiled predict function, traced once per batch size.
        return self.generator.predict_on_batch(inputs)


# The seed of the mixture prior's means (`AdversarialModel`): fixed, so the
# means are a function of (K, latent_dim) only.
MIXTURE_MEANS_SEED = 0


def mixture_means(num_components, latent_dim):
    """The static mixture prior's means: float32 `(K, latent_dim)`, uniform in
    [-1, 1], from `numpy.random.RandomState(MIXTURE_MEANS_SEED)` (a stream
    NumPy keeps unchanged across versions)."""
    state = np.random.RandomState(MIXTURE_MEANS_SEED)
    return state.uniform(-1.0, 1.0, (num_components, latent_dim)).astype("float32")


def gaussian_mixture_latent(noise, means, stddev):
    """Maps N(0, I) noise `(batch, d)` to samples of an equal-weight mixture.

    z = means[k] + stddev * eps. The first noise column gives both k and
    eps's first entry: u = Phi(noise[:, 0]) is uniform, k = floor(K u) is
    uniform over the K components and the fraction K u - k is a uniform
    independent of k, mapped back through Phi^-1; the other columns are
    eps's other entries. So one N(0, I) draw per example (what `generate`
    and the serving export's `sample` draw) gives an exact mixture sample.
    Traceable.
    """
    noise = ops.convert_to_tensor(noise, "float32")
    num_components = means.shape[0]
    uniform = 0.5 * (1.0 + tf.math.erf(noise[:, :1] / np.sqrt(2.0)))
    scaled = uniform * num_components
    component = ops.clip(ops.floor(scaled), 0.0, num_components - 1.0)
    # Kept inside (0, 1): Phi^-1 of 0 or 1 is infinite.
    fraction = ops.clip(scaled - component, 1e-6, 1.0 - 1e-6)
    eps = ops.concatenate([tf.math.ndtri(fraction), noise[:, 1:]], axis=-1)
    centers = ops.take(
        ops.convert_to_tensor(means), ops.cast(component[:, 0], "int32"), axis=0
    )
    return centers + stddev * eps
