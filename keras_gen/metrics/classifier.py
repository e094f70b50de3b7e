"""The MNIST feature extractor: a small classifier shipped with the package.

FID with InceptionV3 features needs ImageNet weights and 299x299 inputs; for
MNIST-like data the field also scores with a domain classifier. keras-gen
ships one (about 0.5 M parameters, trained by
`zoo/recipes/mnist_classifier.py`, over 99% test accuracy); its penultimate
activations (128 features) are what "MNIST FID", KID and precision/recall
compare, and its softmax gives the classifier score and label accuracy.
"""

import os

import keras
import numpy as np

WEIGHTS_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "weights", "mnist_classifier.weights.h5"
)
FEATURES_LAYER = "features"


def build_mnist_classifier():
    """The architecture: two conv blocks, a 128-unit feature layer, softmax.

    Takes `(batch, 28, 28, 1)` images in [-1, 1]; returns class
    probabilities `(batch, 10)`.
    """
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


class MNISTClassifier:
    """The shipped classifier, giving features and class probabilities.

    Args:
        weights_path: str, the weights file; defaults to the one shipped in
            the package.
        batch_size: int, images per forward pass.

    Example:

    >>> classifier = MNISTClassifier()  # doctest: +SKIP
    >>> features, probabilities = classifier(images)  # doctest: +SKIP
    """

    def __init__(self, weights_path=WEIGHTS_PATH, batch_size=500):
        if not os.path.exists(weights_path):
            raise FileNotFoundError(
                f"The MNIST classifier weights are missing ({weights_path}); "
                "train them with zoo/recipes/mnist_classifier.py."
            )
        self.model = build_mnist_classifier()
        self.model.load_weights(weights_path)
        self.batch_size = batch_size
        self._reference_features = {}
        self._extractor = keras.Model(
            self.model.input,
            [self.model.get_layer(FEATURES_LAYER).output, self.model.output],
        )

    def __call__(self, images):
        """Returns `(features (n, 128), probabilities (n, 10))` as float64."""
        images = np.asarray(images, "float32")
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[1:] != (28, 28, 1):
            raise ValueError(
                "The MNIST classifier takes 28x28 grayscale images, received "
                f"shape {images.shape}."
            )
        features, probabilities = self._extractor.predict(
            images, batch_size=self.batch_size, verbose=0
        )
        return features.astype("float64"), probabilities.astype("float64")


    def reference_features(self, key, images):
        """Features of a reference image set, computed once per `key`."""
        if key not in self._reference_features:
            self._reference_features[key] = self(images)[0]
        return self._reference_features[key]


def classifier_score(probabilities, eps=1e-12):
    """Inception Score computed with a classifier: exp(E_x KL(p(y|x) || p(y))).

    Ranges from 1 (every sample classified alike, or every prediction
    uniform) to the number of classes (confident and balanced predictions).

    Args:
        probabilities: float array `(n, num_classes)` of predicted class
            probabilities.

    Returns:
        float.

    References:
        Salimans et al., "Improved Techniques for Training GANs", 2016.
        https://arxiv.org/abs/1606.03498
    """
    p_yx = np.asarray(probabilities, "float64")
    p_y = p_yx.mean(axis=0, keepdims=True)
    kl = (p_yx * (np.log(p_yx + eps) - np.log(p_y + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))
