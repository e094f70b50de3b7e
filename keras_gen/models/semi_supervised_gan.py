"""Semi-supervised GAN: the discriminator is a K-class classifier."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import losses
from keras_gen.models.adversarial_model import AdversarialModel
from keras_gen.networks import build_mlp_generator
from keras_gen.networks import build_semi_supervised_discriminator
from keras_gen.utils import distribution

UNLABELED = -1


@keras.saving.register_keras_serializable(package="keras_gen")
class SemiSupervisedGAN(AdversarialModel):
    """Semi-supervised GAN (Salimans et al. 2016, section 5).

    The discriminator is a classifier with K outputs `l_1 .. l_K`, the
    logits of the real classes; the generated class K+1 has its logit fixed
    at 0, so with `Z(x) = sum_k exp(l_k(x))` the probability that x is real
    is `D(x) = Z(x) / (Z(x) + 1) = sigmoid(logsumexp(l(x)))` and the class
    probabilities of a real image are `softmax(l(x))`. The discriminator
    minimizes

        supervised_loss + unsupervised_weight * d_loss
        supervised_loss = mean over labeled x of -log softmax(l(x))_y
        d_loss          = -mean log D(x) - mean log(1 - D(G(z)))

    (`keras_gen.losses.supervised_classification_loss` and
    `semi_supervised_discriminator_loss`, written with softplus and
    logsumexp), the real term over every image of the batch, labeled or
    not. The generator minimizes feature matching, `|| E f(x) - E f(G(z))
    ||^2` with `f` the discriminator's last hidden layer (the paper's choice
    for semi-supervised learning; `feature_matching_generator_loss`), or,
    with `compile(generator_objective="non_saturating")`, `-mean log
    D(G(z))`.

    `fit` takes `(images, labels)` batches in which label -1 marks an
    unlabeled image; `keras_gen.data.semi_supervised` builds them (100
    unlabeled + 100 labeled MNIST images per batch by default, the paper's
    setting). The supervised loss averages over the labeled images present
    (0 if there are none); under `tf.distribute` it averages over those of
    the global batch, and the feature means are those of the global batch,
    so the update does not depend on the number of replicas.

    Networks (the paper's MNIST ones, without weight normalization): the
    generator is an MLP z -> 500 -> 500 -> image, batch norm and softplus,
    tanh output (images in [-1, 1]); the discriminator
    (`build_semi_supervised_discriminator`) an MLP 1000 -> 500 -> 250 ->
    250 -> 250 -> K with ReLU and Gaussian noise (std 0.3 on the input, 0.5
    on every hidden layer) in training. The paper also weight-normalizes
    every layer; without it the networks are stock Keras layers (loadable
    with `safe_mode`), and they trained better in short CPU runs (see the
    optimizer defaults below).

    Training reports `d_loss` (the unsupervised loss above), `g_loss`,
    `supervised_loss` and `labeled_accuracy` (the discriminator's accuracy
    on the labeled images of the batches, as they were before its update).

    Args:
        image_shape: tuple, shape of one example. Defaults to MNIST's
            `(28, 28, 1)`; flat shapes such as `(2,)` work too (toy data,
            linear generator output).
        num_label_classes: int >= 2, K, the number of classes of the labels.
            Defaults to 10. (The generator is unconditional: `num_classes`
            of keras-gen models means conditional generation.)
        latent_dim: int, size of z ~ N(0, I). Defaults to 100.
        generator: optional `keras.Model` latent -> data.
        discriminator: optional `keras.Model` data -> `[class_logits
            (batch, K), features (batch, F)]`.
        generator_units: tuple of ints, hidden widths of the default
            generator. Defaults to `(500, 500)`.
        discriminator_units: tuple of ints, hidden widths of the default
            discriminator. Defaults to `(1000, 500, 250, 250, 250)`.
        input_noise_stddev: float, std of the discriminator's input noise.
            Defaults to 0.3.
        hidden_noise_stddev: float, std of its hidden layers' noise.
            Defaults to 0.5.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` settings (defaults in brackets): `g_optimizer`,
    `d_optimizer` [Adam(3e-4, beta_1=0.5) each; the paper's 3e-3 goes
    with weight normalization. Measured here on MNIST with 100 labels
    (test accuracy on the 10,000 test images): 3e-3 52% after 300 steps;
    1e-3 41%, 75%, 74% after 600, 1200, 1800 steps (it fits the 100
    labels and wanders); 3e-4 80%, 83%, 83% after 400, 800, 1200 steps;
    a weight-normalized discriminator (data-dependent init) with 3e-3
    76%, 63%, 70% after 400, 800, 1200 steps. The same network trained on the 100 labels alone
    reaches 72-77%], `generator_objective` ["feature_matching"; or
    "non_saturating"], `unsupervised_weight` [1.0, the paper's
    L = L_supervised + L_unsupervised], `d_steps` [1],
    `generator_ema_decay` [None].

    Example:

    ```python
    batches = keras_gen.data.semi_supervised("mnist", num_labeled=100)
    ssgan = keras_gen.models.SemiSupervisedGAN()
    ssgan.compile()
    ssgan.fit(batches, epochs=10)
    probabilities = ssgan.classify(test_images)   # (n, 10)
    digits = ssgan.predict_labels(test_images)    # (n,)
    samples = ssgan.generate(64, seed=0)          # (64, 28, 28, 1)
    ```

    References:
        Salimans et al., "Improved Techniques for Training GANs", NeurIPS
        2016. https://arxiv.org/abs/1606.03498
    """

    _network_args = (
        "image_shape", "num_label_classes", "generator_units",
        "discriminator_units", "input_noise_stddev", "hidden_noise_stddev",
    )
    transport_unsupported = (
        "its discriminator is a K-class classifier, not a critic of one "
        "value per image."
    )
    compile_defaults = {
        "generator_objective": "feature_matching",
        "unsupervised_weight": 1.0,
        "d_steps": 1,
    }
    GENERATOR_OBJECTIVES = ("feature_matching", "non_saturating")

    def __init__(
        self,
        image_shape=(28, 28, 1),
        num_label_classes=10,
        latent_dim=100,
        generator=None,
        discriminator=None,
        generator_units=(500, 500),
        discriminator_units=(1000, 500, 250, 250, 250),
        input_noise_stddev=0.3,
        hidden_noise_stddev=0.5,
        seed=None,
        **kwargs,
    ):
        if not isinstance(num_label_classes, int) or num_label_classes < 2:
            raise ValueError(
                "num_label_classes must be an int >= 2 (K, the classes of the "
                f"labels), received {num_label_classes!r}."
            )
        image_shape = tuple(image_shape)
        generator_units = tuple(generator_units)
        discriminator_units = tuple(discriminator_units)
        generator = generator or build_mlp_generator(
            latent_dim, image_shape, generator_units,
            activation="softplus", batch_norm=True,
        )
        discriminator = discriminator or build_semi_supervised_discriminator(
            image_shape, num_label_classes, discriminator_units,
            input_noise_stddev=input_noise_stddev,
            hidden_noise_stddev=hidden_noise_stddev,
        )
        outputs = getattr(discriminator, "outputs", None)
        if outputs is not None and (
            len(outputs) != 2 or outputs[0].shape[-1] != num_label_classes
        ):
            raise ValueError(
                "SemiSupervisedGAN's discriminator must return [class_logits, "
                f"features] with class_logits of size num_label_classes = "
                f"{num_label_classes}; received outputs of shapes "
                f"{[tuple(o.shape) for o in outputs]}. See "
                "keras_gen.networks.build_semi_supervised_discriminator."
            )
        super().__init__(generator, discriminator, latent_dim, seed=seed, **kwargs)
        if self.data_shape != image_shape:
            raise ValueError(
                f"The generator makes data of shape {self.data_shape}, but "
                f"image_shape={image_shape}."
            )
        self.image_shape = image_shape
        self.num_label_classes = num_label_classes
        self.generator_units = generator_units
        self.discriminator_units = discriminator_units
        self.input_noise_stddev = input_noise_stddev
        self.hidden_noise_stddev = hidden_noise_stddev
        self.supervised_loss_tracker = keras.metrics.Mean(name="supervised_loss")
        self.accuracy_tracker = keras.metrics.Mean(name="labeled_accuracy")

    def default_optimizers(self):
        return (
            keras.optimizers.Adam(3e-4, beta_1=0.5),
            keras.optimizers.Adam(3e-4, beta_1=0.5),
        )

    def configure(self, generator_objective, unsupervised_weight, d_steps):
        if generator_objective not in self.GENERATOR_OBJECTIVES:
            raise ValueError(
                f"generator_objective must be one of {self.GENERATOR_OBJECTIVES}, "
                f"received {generator_objective!r}."
            )
        if not isinstance(unsupervised_weight, (int, float)) or unsupervised_weight < 0:
            raise ValueError(
                "unsupervised_weight must be a number >= 0, received "
                f"{unsupervised_weight!r}."
            )
        self.generator_objective = generator_objective
        self.unsupervised_weight = float(unsupervised_weight)
        self.d_steps = d_steps

    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_loss_tracker,
            self.supervised_loss_tracker, self.accuracy_tracker,
        ]

    # ------------------------------------------------------------------
    # Classification.
    # ------------------------------------------------------------------

    def class_logits(self, images, training=False):
        """The discriminator's K class logits `(batch, K)` (a tensor)."""
        return self.discriminator(images, training=training)[0]

    def classify(self, images, batch_size=256):
        """Class probabilities p(y | x, x is real) = softmax(l(x)).

        Args:
            images: float array `(n, *image_shape)` in [-1, 1].
            batch_size: int, images per discriminator call.

        Returns:
            float32 array `(n, num_label_classes)`, rows summing to 1.
        """
        images = self._checked_images(images)
        logits = np.zeros((0, self.num_label_classes), "float32")
        if len(images):
            logits = np.concatenate([
                self.discriminator.predict_on_batch(images[i : i + batch_size])[0]
                for i in range(0, len(images), batch_size)
            ])
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return probabilities.astype("float32")

    def predict_labels(self, images, batch_size=256):
        """The most likely class of each image, int array `(n,)`."""
        return self.classify(images, batch_size).argmax(axis=1)

    def _checked_images(self, images):
        images = np.asarray(images, "float32")
        if images.shape[1:] != self.image_shape:
            raise ValueError(
                f"{type(self).__name__} classifies data of shape (n, "
                f"{', '.join(map(str, self.image_shape))}), received "
                f"{images.shape}."
            )
        return images

    # ------------------------------------------------------------------
    # Input checks: labels are -1 (unlabeled) or a class in [0, K).
    # ------------------------------------------------------------------

    def _check_batch_shapes(self, x, y):
        super()._check_batch_shapes(x, y)
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"{name} needs labels with the images, -1 for every unlabeled "
                "one: fit(images, labels) or a dataset of (images, labels), "
                "e.g. keras_gen.data.semi_supervised(...). For images without "
                "any label, pass labels of -1 (or train a DCGAN)."
            )
        if len(y.shape) > 2 or (len(y.shape) == 2 and y.shape[1] != 1):
            raise ValueError(
                f"{name} expects integer labels of shape (batch,), received "
                f"labels of shape {tuple(y.shape)}."
            )

    def _check_values(self, x, y):
        super()._check_values(x, y)
        if y is None:
            return
        y = np.asarray(y)
        name = type(self).__name__
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"{name} expects integer labels (-1 for unlabeled), received "
                f"dtype {y.dtype}."
            )
        bad = np.unique(y[(y < UNLABELED) | (y >= self.num_label_classes)])
        if bad.size:
            raise ValueError(
                f"{name} has num_label_classes={self.num_label_classes}: labels "
                f"must be -1 (unlabeled) or in [0, {self.num_label_classes - 1}], "
                f"received {bad[:10].tolist()}."
            )

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        self._check_batch_shapes(x, y)
        labels = ops.cast(ops.reshape(y, (-1,)), "int32")
        # fit() checks the first batch; this checks every batch in the graph.
        check = tf.debugging.Assert(
            tf.reduce_all((labels >= UNLABELED) & (labels < self.num_label_classes)),
            [
                f"labels must be -1 (unlabeled) or in [0, {self.num_label_classes}); "
                "smallest and largest label of the batch:",
                tf.reduce_min(labels),
                tf.reduce_max(labels),
            ],
        )
        with tf.control_dependencies([check]):
            return x, tf.identity(labels)

    # ------------------------------------------------------------------
    # Training.
    # ------------------------------------------------------------------

    def train_step(self, data):
        """`d_steps` updates of the classifier D, then one of G (the paper's)."""
        real, labels = self._unpack(data)
        batch_size = tf.shape(real)[0]
        for _ in range(self.d_steps):
            d_loss = self.discriminator_step(real, labels, batch_size)
            self.d_loss_tracker.update_state(d_loss)
        g_loss = self.generator_step(real, batch_size)
        self.g_loss_tracker.update_state(g_loss)
        return self._tracker_results()

    def discriminator_step(self, real, labels, batch_size):
        """Supervised loss on the labeled images + the K+1 unsupervised loss."""
        fake = self._generate(self.sample_latent(batch_size), None, True)
        is_labeled = ops.cast(labels >= 0, "float32")
        num_labeled = distribution.global_sum(ops.sum(is_labeled))
        with tf.GradientTape() as tape:
            real_logits, _ = self.discriminator(real, training=True)
            fake_logits, _ = self.discriminator(fake, training=True)
            d_loss = losses.semi_supervised_discriminator_loss(real_logits, fake_logits)
            # Divided by the replicas' mean count of labeled images, the
            # replicas' losses average to the global batch's mean.
            supervised_loss = losses.supervised_classification_loss(
                real_logits, labels, num_labeled / distribution.num_replicas()
            )
            total = supervised_loss + self.unsupervised_weight * d_loss
        self._apply_gradients(tape, total, self.discriminator, self.d_optimizer)
        self.supervised_loss_tracker.update_state(
            supervised_loss, sample_weight=ops.cast(num_labeled > 0, "float32")
        )
        predictions = ops.cast(ops.argmax(real_logits, axis=-1), "int32")
        self.accuracy_tracker.update_state(
            ops.cast(predictions == labels, "float32"), sample_weight=is_labeled
        )
        return d_loss

    def generator_step(self, real, batch_size):
        """Feature matching (or non-saturating) update of the generator."""
        latent = self.sample_latent(batch_size)
        feature_matching = self.generator_objective == "feature_matching"
        if feature_matching:
            _, real_features = self.discriminator(real, training=True)
        with tf.GradientTape() as tape:
            fake = self._generate(latent, None, training=True)
            fake_logits, fake_features = self.discriminator(fake, training=True)
            if feature_matching:
                g_loss = losses.feature_matching_generator_loss(
                    real_features, fake_features,
                    batch_mean=distribution.global_batch_mean,
                )
                # A loss of global-batch means: each replica holds its value
                # and the gradient through its own examples, so undo the
                # division by the number of replicas in _apply_gradients.
                gradient_loss = g_loss * distribution.num_replicas()
            else:
                g_loss = losses.semi_supervised_generator_loss(fake_logits)
                gradient_loss = g_loss
        self._apply_gradients(tape, gradient_loss, self.generator, self.g_optimizer)
        if self.generator_ema_decay is not None:
            self._update_generator_average()
        return g_loss
