"""SemiSupervisedGAN: the K+1 losses by hand, the data helper, the contract."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data
from keras_gen import losses
from keras_gen import models
from tests import model_test_case
from tests.test_data import write_mnist_files

IMAGE_SHAPE = (8, 8, 1)
K = 3
TINY = dict(image_shape=IMAGE_SHAPE, num_label_classes=K, latent_dim=4,
            generator_units=(16,), discriminator_units=(16, 8), seed=1)


def _make(noise=True, **settings):
    noise = {} if noise else dict(input_noise_stddev=0.0, hidden_noise_stddev=0.0)
    model = models.SemiSupervisedGAN(**TINY, **noise)
    model.compile(**settings)
    return model


def _data(num_examples=8):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (num_examples, *IMAGE_SHAPE)).astype("float32")
    # Unlabeled and labeled mixed, unevenly over the two replicas' halves.
    labels = np.array([-1, 0, -1, 2, 1, -1, -1, -1] * (num_examples // 8), "int32")
    return images, labels


def _logsumexp(row):
    top = max(row)
    return top + math.log(sum(math.exp(v - top) for v in row))


def _softplus(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


# ----------------------------------------------------------------------
# Losses, against values worked out by hand.
# ----------------------------------------------------------------------

REAL = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]], "float32")
FAKE = np.array([[-3.0, 1.0, 0.0], [1.0, 2.0, -1.0]], "float32")


def test_unsupervised_discriminator_loss_is_the_k_plus_1_cross_entropy():
    # D(x) = Z / (Z + 1), Z = sum exp(l): -log D(x) on reals, -log(1 - D) on
    # fakes, each averaged over its batch.
    def d(row):
        z = sum(math.exp(v) for v in row)
        return z / (z + 1)

    expected = (
        -sum(math.log(d(row)) for row in REAL) / 2
        - sum(math.log(1 - d(row)) for row in FAKE) / 2
    )
    loss = losses.semi_supervised_discriminator_loss(REAL, FAKE)
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # All-zero logits: Z = K, so the loss is log(1 + 1/K) + log(1 + K).
    zeros = np.zeros((4, K), "float32")
    assert float(losses.semi_supervised_discriminator_loss(zeros, zeros)) == (
        pytest.approx(math.log(1 + 1 / K) + math.log(1 + K), rel=1e-6)
    )
    # Finite where exp(l) overflows float32: softplus(lse) = lse + tiny.
    huge = np.array([[200.0, 100.0, -50.0]], "float32")
    value = float(losses.semi_supervised_discriminator_loss(huge, huge))
    assert value == pytest.approx(_softplus(-_logsumexp(huge[0])) + _logsumexp(huge[0]))


def test_non_saturating_generator_loss():
    expected = sum(_softplus(-_logsumexp(row)) for row in FAKE) / 2
    assert float(losses.semi_supervised_generator_loss(FAKE)) == pytest.approx(
        expected, rel=1e-6
    )


def test_feature_matching_loss():
    real = np.array([[1.0, 2.0], [3.0, 0.0]], "float32")  # mean (2, 1)
    fake = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -4.0]], "float32")  # mean (1, -1)
    # ||(2, 1) - (1, -1)||^2 = 1 + 4.
    assert float(losses.feature_matching_generator_loss(real, fake)) == (
        pytest.approx(5.0)
    )
    assert float(losses.feature_matching_generator_loss(real, real)) == 0.0


def test_supervised_loss_masks_the_unlabeled():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [1.0, 3.0, 0.0]], "float32")
    labels = np.array([0, -1, 1])
    # -log softmax(l)_y of the two labeled rows, averaged over those two.
    expected = (
        (_logsumexp(logits[0]) - 2.0) + (_logsumexp(logits[2]) - 3.0)
    ) / 2
    loss = losses.supervised_classification_loss(logits, labels)
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # The unlabeled row's logits do not matter.
    changed = logits.copy()
    changed[1] = [50.0, -9.0, 4.0]
    assert float(losses.supervised_classification_loss(changed, labels)) == (
        pytest.approx(expected, rel=1e-6)
    )
    # An explicit divisor (what the model passes under tf.distribute).
    assert float(losses.supervised_classification_loss(logits, labels, 4.0)) == (
        pytest.approx(expected * 2 / 4, rel=1e-6)
    )


def test_supervised_loss_without_labeled_examples_is_zero_with_zero_gradient():
    logits = tf.ones((3, K))
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = losses.supervised_classification_loss(logits, [-1, -1, -1])
    assert float(loss) == 0.0
    gradient = tape.gradient(loss, logits)
    np.testing.assert_array_equal(gradient.numpy(), np.zeros((3, K)))


# ----------------------------------------------------------------------
# The data helper.
# ----------------------------------------------------------------------


def test_select_labeled_is_balanced_distinct_and_seeded():
    labels = np.arange(1000) % 10
    chosen = data.select_labeled(labels, 100, 10, seed=0)
    assert len(np.unique(chosen)) == 100
    np.testing.assert_array_equal(np.bincount(labels[chosen]), [10] * 10)
    np.testing.assert_array_equal(chosen, data.select_labeled(labels, 100, 10, seed=0))
    assert not np.array_equal(chosen, data.select_labeled(labels, 100, 10, seed=1))
    with pytest.raises(ValueError, match="multiple of the 10 classes"):
        data.select_labeled(labels, 95, 10)
    with pytest.raises(ValueError, match="Class 3 has 0 examples"):
        data.select_labeled(labels[labels != 3], 20, 10)


def test_semi_supervised_batches(tmp_path):
    # 200 fake MNIST images, label i % 10; image i carries i in pixel (1, 1).
    train_images, train_labels = write_mnist_files(tmp_path, num_train=200)
    batches = data.semi_supervised(
        "mnist", num_labeled=20, unlabeled_batch_size=50, labeled_batch_size=10,
        seed=0, data_dir=tmp_path,
    )
    epoch = list(batches.as_numpy_iterator())
    assert len(epoch) == 200 // 50
    identity = lambda x: np.rint((x[:, 1, 1, 0] + 1) * 127.5).astype(int)  # noqa: E731
    labeled_ids = set()
    for images, labels in epoch:
        assert images.shape == (60, 28, 28, 1) and labels.dtype == np.int32
        np.testing.assert_array_equal(labels[:50], -1)
        assert np.all((labels[50:] >= 0) & (labels[50:] < 10))
        ids = identity(images[50:])
        np.testing.assert_array_equal(labels[50:], train_labels[ids])
        labeled_ids.update(ids.tolist())
    # 4 batches x 10 = two passes over exactly 20 labeled images, 2 per class.
    assert len(labeled_ids) == 20
    np.testing.assert_array_equal(
        np.bincount(train_labels[sorted(labeled_ids)], minlength=10), [2] * 10
    )
    # The unlabeled images are every training image, once per epoch.
    unlabeled = np.concatenate([identity(images[:50]) for images, _ in epoch])
    assert sorted(unlabeled.tolist()) == list(range(200))
    # labeled_subset gives the same examples; the seed fixes them.
    subset_images, subset_labels = data.labeled_subset(
        "mnist", num_labeled=20, seed=0, data_dir=tmp_path
    )
    assert set(identity(subset_images).tolist()) == labeled_ids
    np.testing.assert_array_equal(subset_labels, train_labels[identity(subset_images)])
    again = data.semi_supervised(
        "mnist", num_labeled=20, unlabeled_batch_size=50, labeled_batch_size=10,
        seed=0, data_dir=tmp_path,
    )
    for (a, la), (b, lb) in zip(epoch, again.as_numpy_iterator()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    other, _ = data.labeled_subset("mnist", num_labeled=20, seed=1, data_dir=tmp_path)
    assert set(identity(other).tolist()) != labeled_ids


def test_semi_supervised_argument_errors(tmp_path):
    write_mnist_files(tmp_path, num_train=20)
    with pytest.raises(ValueError, match="labeled image data set"):
        data.semi_supervised("swiss_roll")
    with pytest.raises(ValueError, match="labeled_batch_size"):
        data.semi_supervised("mnist", labeled_batch_size=0, data_dir=tmp_path)
    with pytest.raises(ValueError, match="needs 10 of each class"):
        data.semi_supervised("mnist", num_labeled=100, data_dir=tmp_path)


# ----------------------------------------------------------------------
# The shared model contract.
# ----------------------------------------------------------------------


def test_train():
    model_test_case.run_train_test(
        _make(), _data(), ("d_loss", "g_loss", "supervised_loss", "labeled_accuracy")
    )


def test_train_non_saturating():
    history = model_test_case.run_train_test(
        _make(generator_objective="non_saturating"), _data(), ("g_loss",)
    )
    assert history["g_loss"][-1] > 0


def test_reported_metrics_by_hand():
    # Without noise, the discriminator before the step gives the logits the
    # step's supervised loss and accuracy are computed from.
    model = _make(noise=False)
    images, labels = _data()
    logits = keras.ops.convert_to_numpy(model.class_logits(images, training=True))
    labeled = labels >= 0
    accuracy = (logits.argmax(1)[labeled] == labels[labeled]).mean()
    supervised = float(losses.supervised_classification_loss(logits, labels))
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0).history
    assert history["labeled_accuracy"][0] == pytest.approx(accuracy)
    assert history["supervised_loss"][0] == pytest.approx(supervised, rel=1e-5)


def test_generate():
    model_test_case.run_generate_test(_make())


def test_save_and_reload(tmp_path):
    model = _make(generator_ema_decay=0.9)
    model_test_case.run_saving_test(model, _data(), tmp_path)
    model.save(tmp_path / "classifier.keras")
    restored = keras.saving.load_model(tmp_path / "classifier.keras")
    images = _data()[0]
    np.testing.assert_allclose(restored.classify(images), model.classify(images), atol=1e-6)


def test_distribute():
    # Without the discriminator's Gaussian noise (its own layers' noise is
    # not drawn per global batch), the update is that of the global batch:
    # the replicas hold 2 and 1 labeled images, and feature matching uses
    # global means.
    model_test_case.run_distribute_test(lambda: _make(noise=False), _data())


def test_bad_input():
    model = _make()
    model_test_case.run_bad_input_test(model, _data())
    images, labels = _data()
    with pytest.raises(ValueError, match=r"labels must be -1 \(unlabeled\) or in \[0, 2\]"):
        model.fit(images, np.full_like(labels, K), verbose=0)
    with pytest.raises(ValueError, match=r"received \[-2\]"):
        model.fit(images, np.where(labels == 0, -2, labels), verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        model.fit(images, verbose=0)
    with pytest.raises(ValueError, match="integer labels"):
        model.fit(images, labels.astype("float32"), verbose=0)
    with pytest.raises(ValueError, match="shape"):
        model.classify(np.zeros((2, 9, 9, 1)))
    # A bad label in a later batch fails in the graph, saying why.
    bad_later = tf.data.Dataset.from_tensor_slices(
        (images, np.array([-1, 0, 1, 2, 0, 1, 7, -1], "int32"))
    ).batch(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be -1"):
        model.fit(bad_later, verbose=0)
    with pytest.raises(ValueError, match="generator_objective"):
        model.compile(generator_objective="minimax")
    with pytest.raises(ValueError, match="num_label_classes"):
        models.SemiSupervisedGAN(num_label_classes=1)


def test_classify_and_compile_defaults():
    model = _make()
    images = _data()[0]
    probabilities = model.classify(images, batch_size=3)
    assert probabilities.shape == (8, K) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    logits = keras.ops.convert_to_numpy(model.class_logits(images))
    np.testing.assert_allclose(
        probabilities, np.exp(logits) / np.exp(logits).sum(1, keepdims=True), atol=1e-6
    )
    np.testing.assert_array_equal(model.predict_labels(images), probabilities.argmax(1))
    assert model.generator_objective == "feature_matching"
    assert model.unsupervised_weight == 1.0 and model.d_steps == 1
    config = model.g_optimizer.get_config()
    assert (config["learning_rate"], config["beta_1"]) == (pytest.approx(3e-4), 0.5)


def test_classifier_beats_chance_on_a_toy_problem():
    # Three well-separated 2-D clusters; 6 labels of 300 points.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    centers = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    classes = rng.integers(0, 3, 300)
    points = (centers[classes] + rng.normal(size=(300, 2))).astype("float32")
    labels = np.full(300, -1, "int32")
    for c in range(3):
        labels[np.flatnonzero(classes == c)[:2]] = c
    model = models.SemiSupervisedGAN(
        image_shape=(2,), num_label_classes=3, latent_dim=2,
        generator_units=(32,), discriminator_units=(32, 16), seed=0,
    )
    model.compile(g_optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5))
    model.fit(points, labels, batch_size=50, epochs=20, verbose=0)
    accuracy = (model.predict_labels(points) == classes).mean()
    assert accuracy > 0.8, accuracy
