"""`evaluate`: score a model or a set of images against a data set's test split."""

import math

import numpy as np

from keras_gen import data
from keras_gen.metrics.classifier import MNISTClassifier
from keras_gen.metrics.classifier import classifier_score
from keras_gen.metrics.distances import frechet_distance
from keras_gen.metrics.distances import kernel_inception_distance
from keras_gen.metrics.distances import precision_recall

SUPPORTED_DATASETS = ("mnist",)
TEST_BINARIZATION_SEED = 0


def nats_to_bits_per_dim(nats, num_dims):
    """Converts a negative log-likelihood in nats per example to bits/dim."""
    return nats / (num_dims * math.log(2.0))


def binarized_test_images(
    dataset="mnist", data_dir=None, num_examples=None, with_labels=False
):
    """The test images binarized once with seed 0: the likelihood protocol.

    Each pixel is 1 with probability (x + 1) / 2 (`keras_gen.data.binarize`),
    drawn once with a fixed seed, so every model is scored on the same
    binary test set. With `with_labels=True`, returns `(images, labels)`
    (for conditional models' log p(x | y)).
    """
    images, labels = data.load_arrays(dataset, with_labels=True, data_dir=data_dir)
    binary = data.binarize(images, TEST_BINARIZATION_SEED).numpy()[:num_examples]
    return (binary, labels[:num_examples]) if with_labels else binary


def evaluate(
    model_or_images,
    dataset="mnist",
    num_samples=10_000,
    data_dir=None,
    seed=0,
    nll_importance_samples=1000,
    nll_examples=None,
    likelihood=True,
    classifier=None,
):
    """Scores a model (its samples) or an image array against a test split.

    Features come from the MNIST classifier shipped with keras-gen (see
    `keras_gen.metrics.classifier`). The result has:

    - `fid`: Frechet distance of the classifier's 128 penultimate features
      ("MNIST FID"; lower is better, training images score near 0);
    - `kid`: Kernel Inception Distance on the same features;
    - `classifier_score`: Inception Score computed with the classifier
      (1 to 10; real MNIST test digits score about 9.9);
    - `precision`, `recall`: improved precision and recall (k = 3);
    - `label_accuracy`: for conditional models, the share of samples the
      classifier assigns to the class they were generated for (the labels
      cycle through the classes, so every class is equally represented);
    - `nll_nats`, `bits_per_dim`: for likelihood models (with
      `log_likelihood`), the test negative log-likelihood of the test images
      binarized once with seed 0, with `nll_importance_samples` importance
      samples per image; for models of 8-bit images (`likelihood_data =
      "8bit"`, e.g. `RealNVP`), of the test images themselves, each
      dequantized once with the model's fixed seed.

    Args:
        model_or_images: a keras-gen model (it draws `num_samples` samples)
            or a float array `(n, 28, 28, 1)` of images in [-1, 1].
        dataset: str, the reference data set; `"mnist"`.
        num_samples: int, how many samples to draw from a model.
        data_dir: str or None, where the data set's files are (see
            `keras_gen.data.load`).
        seed: int, seeds the model's samples.
        nll_importance_samples: int, K of the likelihood estimate.
        nll_examples: int or None, evaluate the likelihood on the first N
            test images only (None: all).
        likelihood: bool, whether to estimate `nll_nats` for likelihood
            models (the costly part: K decoder passes per test image).
        classifier: an `MNISTClassifier` to reuse (loaded when None); it
            caches the test split's features between calls.

    Returns:
        dict of floats (and `num_samples`, an int).
    """
    if dataset not in SUPPORTED_DATASETS:
        raise ValueError(
            f"evaluate() scores against {SUPPORTED_DATASETS} with the shipped "
            f"MNIST classifier; received dataset={dataset!r}."
        )
    classifier = classifier or MNISTClassifier()
    test_images, test_labels = data.load_arrays(dataset, with_labels=True, data_dir=data_dir)
    results = {}
    generated_labels = None
    if isinstance(model_or_images, np.ndarray):
        images = np.asarray(model_or_images, "float32")
        if images.ndim != 4 or images.shape[1:] != test_images.shape[1:]:
            raise ValueError(
                f"Expected images of shape (n, {', '.join(map(str, test_images.shape[1:]))}), "
                f"received {images.shape}."
            )
        if images.min() < -1.0 - 1e-3 or images.max() > 1.0 + 1e-3:
            raise ValueError(
                "Expected images in [-1, 1], received values in "
                f"[{images.min():g}, {images.max():g}]."
            )
        model = None
    else:
        model = model_or_images
        if model.is_conditional:
            generated_labels = np.arange(num_samples) % model.num_classes
        images = model.generate(num_samples, seed=seed, labels=generated_labels)
    real_features = classifier.reference_features(
        (dataset, data_dir), test_images
    )
    fake_features, fake_probabilities = classifier(images)
    precision, recall = precision_recall(real_features, fake_features, k=3)
    results.update(
        num_samples=len(images),
        fid=frechet_distance(real_features, fake_features),
        kid=kernel_inception_distance(real_features, fake_features),
        classifier_score=classifier_score(fake_probabilities),
        precision=precision,
        recall=recall,
    )
    if generated_labels is not None:
        predicted = fake_probabilities.argmax(axis=1)
        results["label_accuracy"] = float((predicted == generated_labels).mean())
    if likelihood and model is not None and hasattr(model, "log_likelihood"):
        if getattr(model, "likelihood_data", "binarized") == "8bit":
            scored = test_images[:nll_examples]
        else:
            scored = data.binarize(test_images, TEST_BINARIZATION_SEED).numpy()[
                :nll_examples
            ]
        scored_labels = test_labels[:nll_examples] if model.is_conditional else None
        nats = float(
            -model.log_likelihood(
                scored, scored_labels, num_samples=nll_importance_samples
            ).mean()
        )
        results["nll_nats"] = nats
        results["bits_per_dim"] = nats_to_bits_per_dim(nats, scored[0].size)
    return results
