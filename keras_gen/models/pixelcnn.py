"""PixelCNN: an autoregressive model of binary images, exact likelihood."""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen.models.generative_model import SingleOptimizerModel
from keras_gen.networks.pixelcnn import build_pixelcnn_network
from keras_gen.utils import distribution


def bernoulli_log_prob(images, logits):
    """log p(x) of binary images under per-pixel Bernoulli logits, per pixel.

    A pixel of 1 has probability sigmoid(l), a pixel of -1 has 1 - sigmoid(l)
    = sigmoid(-l), so log p = -softplus(-x * l) with x in {-1, 1}. Computed
    in float32 whatever the logits' dtype: a network run in bfloat16 (the
    `mixed_bfloat16` policy) gets a float32 likelihood and loss.
    """
    logits = ops.cast(logits, "float32")
    return -ops.softplus(-ops.cast(images, "float32") * logits)


@keras.saving.register_keras_serializable(package="keras_gen")
class PixelCNN(SingleOptimizerModel):
    """PixelCNN for binary images (van den Oord et al. 2016).

    p(x) = prod_i p(x_i | x_1, ..., x_{i-1}) over the pixels in raster order,
    each factor a Bernoulli whose logit a causal convolutional network
    (`keras_gen.networks.PixelCNNNetwork`) computes for all pixels in one
    pass. The likelihood is exact: training minimizes -log p(x) in nats per
    image (the reported `loss`) with Keras's own `train_step`
    (`compute_loss` is overridden), and `log_likelihood` returns log p(x)
    per image. `gated=True` (the default) is the gated PixelCNN (vertical
    and horizontal stacks, no blind spot, van den Oord et al. 2016b);
    `gated=False` the original masked PixelCNN (mask A, then mask B).

    Images are binary: values -1 and 1 (a pixel of -1 or 1 is a 0 or 1
    outcome), e.g. from `keras_gen.data.binarize`; other values are
    rejected. With `num_classes` the model is conditional, p(x | y) (a label
    embedding in every layer), and trains on `(images, labels)`.

    Sampling is sequential: `generate` runs a `tf.function` with one loop
    step per pixel. The gated network caches every layer's features, so
    each layer computes one new row of its vertical stack per image row and
    one new pixel of its horizontal stack per pixel: about one forward pass
    in all (the masked network caches its layers' inputs the same way).

    `latent_dim` is the number of pixels, H * W * C, derived from
    `image_shape` (not an argument). A PixelCNN has no latent
    representation, but its sampling is a deterministic function of one
    standard normal z_i per pixel, read as the uniform Phi(z_i): pixel i is
    1 when Phi(z_i) < sigmoid(logit_i). Those normals are drawn like every
    other keras-gen model's latent vectors (`GenerativeModel.generate`), so
    the same seed gives the same images, here and from the serving
    `sample` signature.

    Args:
        image_shape: tuple `(height, width, 1)`. Defaults to MNIST's.
        num_classes: int or None (default), for a class-conditional model.
        network: optional `PixelCNNNetwork` (or a network with the same
            `call` and `sample`); built from the arguments below when None.
        gated: bool, the gated network (default) or the masked one.
        filters: int, feature channels of the default network. Defaults to 64.
        num_layers: int, layers of the default network. Defaults to 12.
        kernel_size: odd int, the first layer's kernel. Defaults to 7.
        hidden_kernel_size: odd int, the later layers' kernel. Defaults to 3.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` defaults to Adam(1e-3); any `keras.Model.compile` argument
    but `loss` can be given.

    Example:

    ```python
    train = keras_gen.data.load("mnist", batch_size=64).map(keras_gen.data.binarize)
    pixelcnn = keras_gen.models.PixelCNN(filters=32, num_layers=8)
    pixelcnn.compile()
    pixelcnn.fit(train, epochs=5)          # loss: -log p(x), nats per image
    nll = -pixelcnn.log_likelihood(binary_test_images).mean()  # exact, nats
    samples = pixelcnn.generate(64, seed=0)  # (64, 28, 28, 1) in {-1, 1}
    ```

    References:
        van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
        Networks", ICML 2016. https://arxiv.org/abs/1601.06759
        van den Oord et al., "Conditional Image Generation with PixelCNN
        Decoders", NeurIPS 2016. https://arxiv.org/abs/1606.05328
    """

    _loss_hint = "it is -log p(x), so compile() takes no loss="

    _networks = ("network",)
    _network_args = (
        "image_shape", "num_classes", "gated", "filters", "num_layers",
        "kernel_size", "hidden_kernel_size",
    )

    def __init__(
        self,
        image_shape=(28, 28, 1),
        num_classes=None,
        network=None,
        gated=True,
        filters=64,
        num_layers=12,
        kernel_size=7,
        hidden_kernel_size=3,
        seed=None,
        **kwargs,
    ):
        image_shape = tuple(image_shape)
        if (
            len(image_shape) != 3
            or image_shape[-1] != 1
            or not all(isinstance(d, int) and d > 0 for d in image_shape)
        ):
            raise ValueError(
                "PixelCNN models binary images with one channel: expected "
                f"image_shape=(height, width, 1), received {image_shape}."
            )
        kwargs.pop("latent_dim", None)  # Derived from image_shape.
        super().__init__(
            math.prod(image_shape), num_classes=num_classes, seed=seed, **kwargs
        )
        if network is None:
            network = build_pixelcnn_network(
                image_shape, filters=filters, num_layers=num_layers,
                kernel_size=kernel_size, hidden_kernel_size=hidden_kernel_size,
                gated=gated, num_classes=num_classes,
            )
        self.network = network
        self.data_shape = self.image_shape = image_shape
        self.gated = bool(gated)
        self.filters = filters
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.hidden_kernel_size = hidden_kernel_size
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim")  # Not an argument: the number of pixels.
        return config

    def deepen_from(self, source):
        """Starts this PixelCNN from a trained one with fewer layers.

        The network takes `source`'s weights, with the extra layers
        appended as the identity (`PixelCNNNetwork.deepen_from`): this model
        then gives exactly `source`'s likelihoods and samples, with more
        capacity and a receptive field one row taller per extra layer to
        train.

        Args:
            source: a `PixelCNN` with the same settings but `num_layers`
                (at most this one's).

        Raises:
            ValueError: when `source` is not such a model.
        """
        self._check_growable_from(source, "num_layers")
        self.network.deepen_from(source.network)

    # ------------------------------------------------------------------
    # Inputs.
    # ------------------------------------------------------------------

    def _split_inputs(self, inputs):
        """`(images, labels or None)` from `call`'s inputs."""
        if self.is_conditional:
            images, labels = inputs
            return images, ops.cast(ops.reshape(labels, (-1,)), "int32")
        return inputs, None

    def _network_inputs(self, images, labels):
        return images if labels is None else [images, labels]

    def _check_values(self, x, y):
        super()._check_values(x, y)
        x = np.asarray(x)
        if x.size and not np.all((x == -1.0) | (x == 1.0)):
            values = np.unique(x)
            shown = ", ".join(f"{v:g}" for v in values[:5])
            raise ValueError(
                f"{type(self).__name__} models binary images: every pixel must "
                f"be -1 or 1, received values {shown}"
                f"{', ...' if len(values) > 5 else ''}. Binarize images in "
                "[-1, 1] with keras_gen.data.binarize (each pixel is 1 with "
                "probability (x + 1) / 2)."
            )

    def _checked_labels(self, images, labels):
        """Labels as an int32 array (None if unconditional), checked."""
        name = type(self).__name__
        if not self.is_conditional:
            if labels is not None:
                raise ValueError(f"{name} is unconditional: it takes no labels.")
            return None
        if labels is None:
            raise ValueError(
                f"{name} is conditional: pass labels=, one int class per image."
            )
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(
                f"{name} needs one label per image: expected labels of shape "
                f"({len(images)},), received {labels.shape}."
            )
        self._check_values(np.zeros((0, *self.data_shape)), labels)
        return labels.astype("int32")

    # ------------------------------------------------------------------
    # Training.
    # ------------------------------------------------------------------

    def call(self, inputs, training=False):
        """Bernoulli logits `(batch, H, W, 1)`, one per pixel, in one pass."""
        images, labels = self._split_inputs(inputs)
        self._check_batch_shapes(images, labels)
        return self.network(self._network_inputs(images, labels), training=training)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        images, _ = self._split_inputs(x)
        per_example = -ops.sum(
            bernoulli_log_prob(images, y_pred),
            axis=(1, 2, 3),
        )
        loss = ops.mean(per_example)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return distribution.scale_for_replicas(loss)

    def train_step(self, data):
        # Keras's loop calls the model on `x`; labels belong there too.
        return super().train_step(self._labels_into_inputs(data))

    def test_step(self, data):
        return super().test_step(self._labels_into_inputs(data))

    def _labels_into_inputs(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        self._check_batch_shapes(images, labels)
        if not self.is_conditional:
            return (images,)
        return ((images, labels),)

    # ------------------------------------------------------------------
    # Likelihood.
    # ------------------------------------------------------------------

    def log_likelihood(self, images, labels=None, batch_size=256, num_samples=None):
        """Exact log p(x) per image, in nats (log p(x | y) if conditional).

        log p(x) = sum_i log p(x_i | x_<i): one network pass per batch.

        Args:
            images: float array `(n, *image_shape)` of binary images, values
                -1 and 1.
            labels: int array `(n,)` for conditional models.
            batch_size: int, images per network pass.
            num_samples: ignored: the likelihood is exact. Accepted so that
                code written for the VAE's importance-weighted estimate
                (e.g. `keras_gen.metrics.evaluate`) works unchanged.

        Returns:
            float64 numpy array `(n,)` (negate and average for the test NLL).
        """
        del num_samples
        images = np.asarray(images, "float32")
        if images.ndim != 4:
            raise ValueError(
                f"{type(self).__name__}.log_likelihood() expects a batch of "
                f"images of shape (n, {', '.join(map(str, self.data_shape))}), "
                f"received shape {images.shape}."
            )
        labels = self._checked_labels(images, labels)
        self._check_batch_shapes(images, labels)
        self._check_values(images, labels)
        function = self._compiled_log_likelihood()
        results = []
        for start in range(0, len(images), batch_size):
            batch_labels = (
                np.zeros(len(images[start : start + batch_size]), "int32")
                if labels is None
                else labels[start : start + batch_size]
            )
            results.append(
                function(images[start : start + batch_size], batch_labels).numpy()
            )
        if not results:
            return np.zeros((0,), "float64")
        return np.concatenate(results).astype("float64")

    def log_prob(self, images, labels=None):
        """Per-example log p(x) of a batch as a tensor, nats (traceable).

        No input checks (`log_likelihood` is the checked, batched numpy
        version); `images` must be binary, -1 and 1.
        """
        images = ops.convert_to_tensor(images, "float32")
        labels = (
            ops.convert_to_tensor(labels, "int32") if self.is_conditional else None
        )
        logits = self.network(self._network_inputs(images, labels))
        return ops.sum(bernoulli_log_prob(images, logits), axis=(1, 2, 3))

    def _compiled_log_likelihood(self):
        function = self.__dict__.get("_log_likelihood_function")
        if function is None:
            function = tf.function(
                self.log_prob,
                input_signature=[
                    tf.TensorSpec((None, *self.data_shape), tf.float32),
                    tf.TensorSpec((None,), tf.int32),
                ],
            )
            self.__dict__["_log_likelihood_function"] = function
        return function

    # ------------------------------------------------------------------
    # Sampling.
    # ------------------------------------------------------------------

    def sample_from_noise(self, noise, labels=None):
        """Samples images pixel by pixel, given one normal per pixel.

        Traceable TensorFlow code (the serving export runs it in its
        graph); `generate` runs it in a cached `tf.function`. The network's
        `sample` loop reuses work between pixels (see
        `PixelCNNNetwork.sample`); pixel i = 1 if Phi(z_i) < sigmoid(logit_i),
        else -1.

        Args:
            noise: float32 tensor `(batch, latent_dim)` of standard normals.
            labels: int32 tensor `(batch,)` for conditional models, else None.

        Returns:
            float32 tensor `(batch, *image_shape)`, values in {-1, 1}.
        """
        height, width, channels = self.data_shape
        labels = labels if self.is_conditional else None
        # u = Phi(z); u < sigmoid(l) <=> logit(u) < l.
        uniform = 0.5 * tf.math.erfc(-tf.cast(noise, tf.float32) / math.sqrt(2.0))
        thresholds = tf.math.log(uniform) - tf.math.log1p(-uniform)
        thresholds = tf.reshape(thresholds, (-1, height * width, channels))

        def draw(logits, row, column):
            threshold = tf.gather(thresholds, row * width + column, axis=1)
            return tf.where(threshold < logits, 1.0, -1.0)

        return self.network.sample(draw, tf.shape(noise)[0], labels)

    def _compiled_sampler(self):
        function = self.__dict__.get("_sampler_function")
        if function is None:
            conditional = self.is_conditional

            def sample(noise, labels):
                return self.sample_from_noise(noise, labels if conditional else None)

            function = tf.function(
                sample,
                input_signature=[
                    tf.TensorSpec((None, self.latent_dim), tf.float32),
                    tf.TensorSpec((None,), tf.int32),
                ],
            )
            self.__dict__["_sampler_function"] = function
        return function

    def _decode_batch(self, latent, labels):
        if labels is None:
            labels = tf.zeros((ops.shape(latent)[0],), tf.int32)
        images = self._compiled_sampler()(
            tf.convert_to_tensor(latent, tf.float32), labels
        )
        return images.numpy()
