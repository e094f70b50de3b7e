"""The shared plumbing of every two-network (generator/discriminator) model."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _replica_id():
    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def _static_output_shape(network, input_shape):
    """The per-example output shape of a built network, without its batch."""
    try:
        shape = network.output_shape
    except (AttributeError, ValueError):
        shape = network.compute_output_shape(input_shape)
    if isinstance(shape, list):  # A functional model with a single output.
        shape = shape[0]
    return tuple(shape[1:])


class AdversarialModel(keras.Model):
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
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model` (e.g. `name`).
    """

    compile_defaults = {"d_steps": 1}
    # Constructor arguments that describe the default networks; stored as
    # attributes of the same name and returned by `get_config`.
    _network_args = ()

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        num_classes=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(latent_dim, int) or latent_dim <= 0:
            raise ValueError(
                f"latent_dim must be a positive int, received {latent_dim!r}."
            )
        if num_classes is not None and (
            not isinstance(num_classes, int) or num_classes < 2
        ):
            raise ValueError(
                "num_classes must be an int >= 2 (or None for an "
                f"unconditional model), received {num_classes!r}."
            )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        latent_shape = (None, latent_dim)
        self.data_shape = _static_output_shape(
            generator,
            [latent_shape, (None,)] if num_classes else latent_shape,
        )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # The networks are built, so the wrapper is too; `fit` under a
        # distribution strategy would otherwise call it on a data batch.
        self.built = True

    @property
    def is_conditional(self):
        return self.num_classes is not None

    @property
    def is_image_model(self):
        return len(self.data_shape) == 3

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
                class, e.g. `d_steps`), plus `keras.Model.compile` options
                such as `jit_compile`, `steps_per_execution`, `run_eagerly`.
        """
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
        self._compile_settings = settings
        self._compile_options = dict(kwargs)
        super().compile(optimizer=None, **kwargs)
        # Build both optimizers now, on their own networks' variables (inside
        # the distribution scope when there is one): Keras then saves and
        # restores their state, and no optimizer variable is created lazily
        # inside a replica step.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

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
    # Config.
    # ------------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(
                    self.discriminator
                ),
                "latent_dim": self.latent_dim,
                "seed": self.seed,
                **{key: getattr(self, key) for key in self._network_args},
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    # The noise state is part of the model: a reloaded model draws the noise
    # the original would have drawn next, so training resumes exactly.
    _SEED_STATE_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_STATE_KEY] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self._SEED_STATE_KEY in keys:
            self.seed_generator.state.assign(store[self._SEED_STATE_KEY])
        super().load_own_variables(
            {key: store[key] for key in keys if key != self._SEED_STATE_KEY}
        )

    # ------------------------------------------------------------------
    # Pieces of a training step.
    # ------------------------------------------------------------------

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def sample_latent(self, batch_size):
        """Draws latent vectors `(batch_size, latent_dim)` from N(0, I).

        Under `tf.distribute`, every replica draws the noise of the global
        batch from the same (mirrored) seed state and keeps its own slice, so
        a global batch gets the same noise with 1 or N replicas.
        """
        return self._draw_per_example(
            keras.random.normal, batch_size, (self.latent_dim,)
        )

    def _draw_per_example(self, distribution, batch_size, event_shape):
        replicas = _num_replicas()
        noise = distribution(
            (batch_size * replicas, *event_shape), seed=self.seed_generator
        )
        if replicas == 1:
            return noise
        start = _replica_id() * batch_size
        return noise[start : start + batch_size]

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
        """Updates the generator once, through the discriminator."""
        latent = self.sample_latent(batch_size)
        with tf.GradientTape() as tape:
            fake = self._generate(latent, labels, training=True)
            fake_logits = self._discriminate(fake, labels, training=True)
            g_loss = self.generator_loss(fake_logits)
        self._apply_gradients(tape, g_loss, self.generator, self.g_optimizer)
        return g_loss

    def _apply_gradients(self, tape, loss, network, optimizer):
        """One optimizer step of `network` on `loss` (a per-replica mean).

        The optimizer sums gradients over replicas, so they are divided by the
        number of replicas: the update is that of the global-batch mean.
        """
        variables = network.trainable_variables
        gradients = tape.gradient(loss, variables)
        replicas = _num_replicas()
        if replicas > 1:
            # scalar_mul also scales the IndexedSlices of embeddings.
            gradients = [
                None if g is None else tf.math.scalar_mul(1.0 / replicas, g)
                for g in gradients
            ]
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

    # ------------------------------------------------------------------
    # Input validation.
    # ------------------------------------------------------------------

    def _check_batch_shapes(self, x, y):
        """Checks static shapes of a batch; runs when `train_step` traces."""
        name = type(self).__name__
        shape = tuple(x.shape[1:])
        if shape != self.data_shape:
            raise ValueError(
                f"{name} was built for data of shape (batch, "
                f"{', '.join(map(str, self.data_shape))}) but received a batch "
                f"of shape {tuple(x.shape)}. Pass data of that shape or build "
                "the model with a matching image_shape=/data_shape=."
            )
        if self.is_conditional:
            if y is None:
                raise ValueError(
                    f"{name} is conditional: fit() needs class labels, as "
                    "fit(images, labels) or a dataset of (images, labels) "
                    "pairs, e.g. keras_gen.data.load(..., with_labels=True)."
                )
            if len(y.shape) > 2 or (len(y.shape) == 2 and y.shape[1] != 1):
                raise ValueError(
                    f"{name} expects integer class labels of shape (batch,), "
                    f"received labels of shape {tuple(y.shape)} (one-hot labels "
                    "must be converted with argmax first)."
                )

    def _check_values(self, x, y):
        """Checks the values of one batch (numpy arrays) before training."""
        name = type(self).__name__
        x = np.asarray(x)
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError(f"{name} received data with NaN or inf values.")
        if self.is_image_model and x.size:
            low, high = float(x.min()), float(x.max())
            if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
                raise ValueError(
                    f"{name} expects images scaled to [-1, 1], received values "
                    f"in [{low:g}, {high:g}]. Scale uint8 images with "
                    "x / 127.5 - 1 (keras_gen.data.load does this)."
                )
        if self.is_conditional and y is not None:
            y = np.asarray(y)
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(
                    f"{name} expects integer class labels, received dtype "
                    f"{y.dtype}."
                )
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(
                    f"{name} has num_classes={self.num_classes}: labels must be "
                    f"in [0, {self.num_classes - 1}], received labels in "
                    f"[{y.min()}, {y.max()}]."
                )

    def _first_batch(self, x, y):
        """`(x, y)` of the first batch of `fit`'s input, as numpy, or None."""
        if isinstance(x, tf.data.Dataset):
            element = next(iter(x.take(1)), None)
            if element is None:
                raise ValueError("fit() received an empty dataset.")
            bx, by, _ = keras.utils.unpack_x_y_sample_weight(element)
            return (
                keras.ops.convert_to_numpy(bx),
                None if by is None else keras.ops.convert_to_numpy(by),
            )
        if isinstance(x, (np.ndarray, tf.Tensor)):
            return np.asarray(x), None if y is None else np.asarray(y)
        return None  # Generators and PyDatasets cannot be peeked at safely.

    def fit(self, x=None, y=None, **kwargs):
        """Trains the model; checks the data first, with clear errors.

        Accepts what `keras.Model.fit` accepts: arrays (`fit(images)`,
        `fit(images, labels)`) or a `tf.data.Dataset` of images or of
        `(images, labels)`.
        """
        if not getattr(self, "compiled", False):
            raise RuntimeError(
                f"Call {type(self).__name__}.compile() before fit(); with no "
                "arguments it uses the paper's optimizers and settings."
            )
        if isinstance(x, tf.data.Dataset):
            # A dataset shuffles itself; Keras warns if asked to again.
            kwargs.setdefault("shuffle", False)
        batch = self._first_batch(x, y)
        if batch is not None:
            bx, by = batch
            self._check_batch_shapes(bx, by)
            self._check_values(bx, by)
        return super().fit(x, y, **kwargs)

    # ------------------------------------------------------------------
    # Sampling.
    # ------------------------------------------------------------------

    def generate(self, num_samples, seed=None, labels=None, batch_size=256):
        """Generates `num_samples` examples as a float32 numpy array.

        Args:
            num_samples: int, how many examples.
            seed: int or None. The same int gives the same samples; None
                draws from the model's own seed generator (a new draw on
                every call).
            labels: int or int array of shape `(num_samples,)`; required for
                conditional models (one int is repeated), rejected otherwise.
            batch_size: int, how many examples go through the generator at
                once.

        Returns:
            float32 array `(num_samples, *data_shape)`; images are in [-1, 1].
        """
        if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(
                f"num_samples must be a positive int, received {num_samples!r}."
            )
        labels = self._labels_for_generate(labels, int(num_samples))
        latent = keras.random.normal(
            (int(num_samples), self.latent_dim),
            seed=self.seed_generator if seed is None else int(seed),
        )
        outputs = []
        for start in range(0, int(num_samples), batch_size):
            stop = start + batch_size
            inputs = [latent[start:stop], labels[start:stop]] if (
                labels is not None
            ) else latent[start:stop]
            # A compiled predict function, traced once per batch size.
            outputs.append(self.generator.predict_on_batch(inputs))
        return np.concatenate(outputs).astype("float32")

    def _labels_for_generate(self, labels, num_samples):
        name = type(self).__name__
        if not self.is_conditional:
            if labels is not None:
                raise ValueError(
                    f"{name} is unconditional: generate() takes no labels."
                )
            return None
        if labels is None:
            raise ValueError(
                f"{name} is conditional: pass labels= to generate(), an int in "
                f"[0, {self.num_classes - 1}] or an array of {num_samples} of them."
            )
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full((num_samples,), labels)
        if labels.shape != (num_samples,):
            raise ValueError(
                f"{name}.generate() needs one label per sample: expected shape "
                f"({num_samples},), received {labels.shape}."
            )
        self._check_values(np.zeros((0, *self.data_shape)), labels)
        return tf.constant(labels, dtype="int32")
