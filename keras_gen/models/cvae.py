"""CVAE: the conditional variational autoencoder."""

import keras

from keras_gen.models.vae import VAE


@keras.saving.register_keras_serializable(package="keras_gen")
class CVAE(VAE):
    """Conditional variational autoencoder (Sohn et al. 2015).

    A VAE whose encoder q(z|x, y) and decoder p(x|z, y) both see the class
    label y (the prior stays N(0, I)), so z captures style and y the class:
    `generate(n, labels=7)` draws sevens. Train on `(images, labels)`:
    `fit(images, labels)` or a dataset of pairs
    (`keras_gen.data.load(..., with_labels=True)`); call the model, `encode`,
    `decode`, `elbo` and `log_likelihood` with `labels`.

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to MNIST's.
        num_classes: int, number of classes. Defaults to 10.
        latent_dim: int, size of z. Defaults to 32.
        encoder: optional `keras.Model` taking `[image, label]`.
        decoder: optional `keras.Model` taking `[latent, label]`.
        **kwargs: the other arguments of `VAE`.

    Example:

    ```python
    data = keras_gen.data.load("mnist", batch_size=128, with_labels=True)
    cvae = keras_gen.models.CVAE(num_classes=10)
    cvae.compile()
    cvae.fit(data, epochs=5)
    sevens = cvae.generate(16, seed=0, labels=7)
    ```

    References:
        Sohn, Lee & Yan, "Learning Structured Output Representation using
        Deep Conditional Generative Models", NeurIPS 2015.
    """

    _network_args = VAE._network_args + ("num_classes",)

    def __init__(self, image_shape=(28, 28, 1), num_classes=10, **kwargs):
        super().__init__(image_shape=image_shape, num_classes=num_classes, **kwargs)

    def train_step(self, data):
        # Keras's loop calls the model on `x`; the labels belong there too.
        return super().train_step(self._labels_into_inputs(data))

    def test_step(self, data):
        return super().test_step(self._labels_into_inputs(data))

    def _labels_into_inputs(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        self._check_batch_shapes(images, labels)
        return ((images, labels),)
