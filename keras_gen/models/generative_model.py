"""The contract every keras-gen model shares, in one base class."""

import contextlib

import keras
import numpy as np
import tensorflow as tf


def static_output_shape(network, input_shape):
    """The per-example output shape of a built network, without its batch."""
    try:
        shape = network.output_shape
    except (AttributeError, ValueError):
        shape = network.compute_output_shape(input_shape)
    if isinstance(shape, list):  # A functional model with a single output.
        shape = shape[0]
    return tuple(shape[1:])


class GenerativeModel(keras.Model):
    """Base class of every keras-gen model: the parts of the contract they share.

    - `latent_dim`, the optional `num_classes` of a conditional model, and
      `data_shape` (set by the subclass from its networks);
    - a `keras.random.SeedGenerator` whose state is saved with the weights,
      so a reloaded model draws the noise the original would have drawn;
    - `fit` that checks the first batch (shape, [-1, 1] range of images,
      labels) and raises a clear `ValueError` before any training;
    - `generate(num_samples, seed=None, labels=None)`, which validates its
      arguments, draws latent vectors z ~ N(0, I) and maps them through the
      subclass's `_decode_batch(latent, labels)`;
    - `get_config` of `latent_dim`, `seed` and the subclass's
      `_network_args`; nested networks are (de)serialized by the subclass.

    Args:
        latent_dim: int, size of the latent vector.
        num_classes: int or None; set for conditional models.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model` (e.g. `name`).
    """

    # Constructor arguments that describe the default networks; stored as
    # attributes of the same name and returned by `get_config`.
    _network_args = ()
    # Names of the nested networks, serialized in `get_config` (an optional
    # network a model does not have is None).
    _networks = ()

    def __init__(self, latent_dim, num_classes=None, seed=None, **kwargs):
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
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def networks(self):
        """`{name: network}`: the nested networks this model has."""
        found = {name: getattr(self, name) for name in self._networks}
        return {name: net for name, net in found.items() if net is not None}

    def _check_growable_from(self, source, grown):
        """Raises unless `source` is this class with the same settings but `grown`.

        For `deepen_from`: every `_network_args` entry except `grown` (the
        one that may be larger here) must match, so a source with, e.g.,
        another logit margin is refused although no weight shape shows it.
        """
        if not isinstance(source, type(self)):
            raise ValueError(
                f"deepen_from() takes a {type(self).__name__}, received "
                f"{type(source).__name__}."
            )
        for key in self._network_args:
            if key != grown and getattr(source, key) != getattr(self, key):
                raise ValueError(
                    f"deepen_from() needs a {type(self).__name__} with the same "
                    f"{key}: this one has {getattr(self, key)!r}, the source "
                    f"{getattr(source, key)!r}."
                )

    @property
    def is_conditional(self):
        return self.num_classes is not None

    @property
    def is_image_model(self):
        return len(self.data_shape) == 3

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                **{
                    name: keras.saving.serialize_keras_object(getattr(self, name))
                    for name in self._networks
                },
                "latent_dim": self.latent_dim,
                "seed": self.seed,
                **{key: getattr(self, key) for key in self._network_args},
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls._networks:
            # An optional network added after a model was saved is absent
            # from its config: None, the model's default.
            config[name] = keras.saving.deserialize_keras_object(config.get(name))
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
    # Input validation.
    # ------------------------------------------------------------------

    def _check_batch_shapes(self, x, y):
        """Checks static shapes of a batch; runs when `train_step` traces."""
        name = type(self).__name__
        if isinstance(x, (list, tuple, dict)) or not hasattr(x, "shape"):
            labels = " and the labels as y" if self.is_conditional else ""
            raise ValueError(
                f"{name}.fit() takes the data alone as x{labels}: fit(data"
                f"{', labels' if self.is_conditional else ''}) or a dataset of "
                f"{'(data, labels) pairs' if self.is_conditional else 'batches'}; "
                f"received x as a {type(x).__name__}."
            )
        shape = tuple(x.shape[1:])
        if len(shape) != len(self.data_shape) or any(
            known is not None and known != expected
            for known, expected in zip(shape, self.data_shape)
        ):
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
        if isinstance(x, (list, tuple, dict)):  # _check_batch_shapes refuses it.
            return x, y
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
        outputs = []
        with self.sampling_weights():
            latent = self.generation_latent(int(num_samples), seed)
            for start in range(0, int(num_samples), batch_size):
                batch_labels = (
                    None if labels is None else labels[start : start + batch_size]
                )
                outputs.append(
                    self._decode_batch(latent[start : start + batch_size], batch_labels)
                )
        return np.concatenate(outputs).astype("float32")

    def generation_latent(self, num_samples, seed):
        """The latent vectors `generate` decodes: N(0, I) noise (from `seed`,
        or the model's seed generator when None) through `latent_from_noise`.
        Called inside `sampling_weights()`."""
        return self.latent_from_noise(keras.random.normal(
            (num_samples, self.latent_dim),
            seed=self.seed_generator if seed is None else int(seed),
        ))

    def latent_from_noise(self, noise):
        """Maps z ~ N(0, I), shape `(batch, latent_dim)`, to the prior's samples.

        The identity for models whose prior is N(0, I); models with other
        priors (InfoGAN's categorical and uniform codes) override it.
        `generate` and the serving export's `sample` draw through it.
        """
        return noise

    def _decode_batch(self, latent, labels):
        """Maps a batch of latent vectors (and labels) to numpy data."""
        raise NotImplementedError

    def sampling_weights(self):
        """A context in which the networks hold the weights used for sampling.

        `generate` and the serving export run inside it. The base class
        samples with the trained weights; a GAN compiled with
        `generator_ema_decay` swaps in the moving average of its generator's
        weights.
        """
        return contextlib.nullcontext()

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


class SingleOptimizerModel(GenerativeModel):
    """A `GenerativeModel` trained by Keras's own loop with one optimizer.

    Owns `compile` (default Adam(1e-3); the model computes its own loss, so
    `loss=` is refused with `_loss_hint`), the optimizer built at compile
    time so a loaded model restores its state, and the compile config that
    `keras.saving.load_model` replays. The autoencoder family, PixelCNN and
    RealNVP share it.
    """

    # Where the loss comes from, for the error when compile() gets `loss=`.
    _loss_hint = "its loss is part of the model"

    def compile(self, optimizer=None, **kwargs):
        """Configures training; defaults to Adam(1e-3).

        Args:
            optimizer: a Keras optimizer; defaults to Adam(1e-3).
            **kwargs: other `keras.Model.compile` arguments (not `loss`).
        """
        if "loss" in kwargs:
            raise TypeError(
                f"{type(self).__name__} computes its own loss; {self._loss_hint}."
            )
        super().compile(
            optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs
        )
        # Replayed by `compile_from_config` when the model is loaded.
        self._compile_arguments = dict(kwargs)
        # Built now, so a loaded model restores the optimizer's state.
        self.optimizer.build(self.trainable_variables)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            "optimizer": keras.optimizers.serialize(self.optimizer),
            **self._compile_arguments,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["optimizer"] = keras.optimizers.deserialize(config["optimizer"])
        self.compile(**config)

