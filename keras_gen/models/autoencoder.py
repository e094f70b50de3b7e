"""Autoencoder: a deterministic encoder/decoder with a bottleneck."""

import keras
from keras import ops

from keras_gen import losses
from keras_gen.models.generative_model import SingleOptimizerModel
from keras_gen.models.generative_model import static_output_shape
from keras_gen.networks import build_conv_decoder
from keras_gen.networks import build_conv_encoder
from keras_gen.utils import distribution

RECONSTRUCTION_LOSSES = {
    "binary_crossentropy": losses.binary_crossentropy_loss,
    "mean_squared_error": losses.mean_squared_error_loss,
    "mean_absolute_error": losses.mean_absolute_error_loss,
}


@keras.saving.register_keras_serializable(package="keras_gen")
class Autoencoder(SingleOptimizerModel):
    """A deterministic autoencoder: x -> z = encoder(x) -> decoder(z) ~ x.

    Trained with Keras's own `train_step` on a reconstruction loss chosen by
    name (`compute_loss` is overridden). To sample, it keeps a moving
    average of the mean and variance of the training codes and decodes
    z ~ N(mean, diag(variance)): a plain autoencoder has no prior, so
    samples are only as good as that Gaussian fit of its codes (use a VAE
    for a real generative model).

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to MNIST's.
        latent_dim: int, size of the bottleneck. Defaults to 32.
        encoder: optional `keras.Model` image -> `(batch, latent_dim)`.
        decoder: optional `keras.Model` latent -> `(batch, *image_shape)`
            (logits for binary cross-entropy, images otherwise).
        reconstruction_loss: `"binary_crossentropy"` (default; pixels in
            [-1, 1] read as probabilities (x + 1) / 2), `"mean_squared_error"`
            or `"mean_absolute_error"`.
        base_filters: int, width of the default convolutional networks.
        seed: int or None, seeds the model's noise.
        **kwargs: passed to `keras.Model`.

    `compile()` defaults to Adam(1e-3); any `keras.Model.compile` argument
    but `loss` can be given.

    Example:

    ```python
    images = keras_gen.data.load("mnist", batch_size=128)
    autoencoder = keras_gen.models.Autoencoder(latent_dim=16)
    autoencoder.compile()
    autoencoder.fit(images, epochs=5)
    codes = autoencoder.encode(next(iter(images)))
    ```

    References:
        Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with
        Neural Networks", Science 2006.
    """

    _loss_hint = "choose it with the constructor (reconstruction_loss= or likelihood=)"

    _networks = ("encoder", "decoder")
    _network_args = ("image_shape", "base_filters", "reconstruction_loss")

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=32,
        encoder=None,
        decoder=None,
        reconstruction_loss="binary_crossentropy",
        base_filters=32,
        seed=None,
        **kwargs,
    ):
        if reconstruction_loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"Unknown reconstruction_loss {reconstruction_loss!r}; expected "
                f"one of {sorted(RECONSTRUCTION_LOSSES)}."
            )
        super().__init__(latent_dim, seed=seed, **kwargs)
        self._build_networks(image_shape, encoder, decoder, base_filters)
        self.reconstruction_loss = reconstruction_loss
        if self._samples_from_code_statistics:
            self._add_code_statistics()
        self.built = True

    # A plain autoencoder samples from a Gaussian fitted to its codes;
    # subclasses with a prior (the VAE) set this to False.
    _samples_from_code_statistics = True

    def _add_code_statistics(self):
        latent_dim = self.latent_dim
        self.code_mean = self.add_weight(
            shape=(latent_dim,), initializer="zeros", trainable=False,
            aggregation="mean", name="code_mean",
        )
        self.code_variance = self.add_weight(
            shape=(latent_dim,), initializer="ones", trainable=False,
            aggregation="mean", name="code_variance",
        )

    def _build_networks(self, image_shape, encoder, decoder, base_filters):
        """Sets the networks (building the default ones) and the data shape."""
        image_shape = tuple(image_shape)
        if encoder is None:
            encoder = build_conv_encoder(
                image_shape, self._encoder_output_size(), base_filters,
                num_classes=self.num_classes,
            )
        if decoder is None:
            decoder = build_conv_decoder(
                self.latent_dim, image_shape, base_filters,
                num_classes=self.num_classes,
            )
        self.encoder = encoder
        self.decoder = decoder
        latent_shape = (None, self.latent_dim)
        self.data_shape = static_output_shape(
            decoder,
            [latent_shape, (None,)] if self.is_conditional else latent_shape,
        )
        self.image_shape = self.data_shape
        self.base_filters = base_filters

    def _encoder_output_size(self):
        return self.latent_dim

    # ------------------------------------------------------------------
    # Networks with optional labels.
    # ------------------------------------------------------------------

    def _split_inputs(self, inputs):
        """`(images, labels or None)` from `call`'s inputs."""
        if self.is_conditional:
            images, labels = inputs
            return images, ops.cast(ops.reshape(labels, (-1,)), "int32")
        return inputs, None

    def _with_labels(self, tensor, labels):
        """The network input: `tensor`, or `[tensor, labels]` if conditional."""
        if self.is_conditional != (labels is not None):
            raise ValueError(
                f"{type(self).__name__} is "
                + ("conditional: pass labels=." if self.is_conditional
                   else "unconditional: it takes no labels.")
            )
        return tensor if labels is None else [tensor, labels]

    def _encode_params(self, images, labels, training=False):
        return self.encoder(self._with_labels(images, labels), training=training)

    def _decode_output(self, latent, labels, training=False):
        return self.decoder(self._with_labels(latent, labels), training=training)

    def _output_to_images(self, decoder_output):
        """Decoder outputs -> images in [-1, 1]."""
        if self.reconstruction_loss == "binary_crossentropy":
            return 2.0 * ops.sigmoid(decoder_output) - 1.0
        return ops.clip(decoder_output, -1.0, 1.0)

    # ------------------------------------------------------------------
    # Public API.
    # ------------------------------------------------------------------

    def encode(self, images, labels=None):
        """Maps images in [-1, 1] to latent codes `(batch, latent_dim)`."""
        return self._encode_params(images, labels)

    def decode(self, latent, labels=None):
        """Maps latent vectors to images in [-1, 1]."""
        return self._output_to_images(self._decode_output(latent, labels))

    def reconstruct(self, images, labels=None):
        """Encodes and decodes images; returns images in [-1, 1]."""
        return self.decode(self.encode(images, labels), labels)

    def call(self, inputs, training=False):
        """The training forward pass; returns a dict of tensors.

        `latent` are the codes and `decoder_output` the decoder's raw outputs
        (use `reconstruct` for images).
        """
        images, labels = self._split_inputs(inputs)
        self._check_batch_shapes(images, labels)
        latent = self._encode_params(images, labels, training)
        if training:
            self._track_codes(latent)
        return {
            "latent": latent,
            "decoder_output": self._decode_output(latent, labels, training),
        }

    def _track_codes(self, latent, momentum=0.99):
        mean = ops.mean(latent, axis=0)
        variance = ops.var(latent, axis=0)
        self.code_mean.assign(momentum * self.code_mean + (1 - momentum) * mean)
        self.code_variance.assign(
            momentum * self.code_variance + (1 - momentum) * variance
        )

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        images, _ = self._split_inputs(x)
        loss_fn = RECONSTRUCTION_LOSSES[self.reconstruction_loss]
        per_example = loss_fn(images, y_pred["decoder_output"])
        loss = ops.mean(per_example)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return distribution.scale_for_replicas(loss)

    def latent_from_noise(self, noise):
        """An autoencoder has no prior: samples the Gaussian fit of its codes."""
        return self.code_mean + ops.sqrt(self.code_variance) * noise

    def _decode_batch(self, latent, labels):
        return ops.convert_to_numpy(self.decode(latent, labels))
