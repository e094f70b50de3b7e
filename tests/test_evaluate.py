"""keras_gen.metrics.evaluate, its callback and `keras-gen evaluate`."""

import json
import math
import os

import keras
import numpy as np
import pytest

from keras_gen import callbacks
from keras_gen import cli
from keras_gen import data
from keras_gen import metrics
from keras_gen import models
from tests.test_data import write_mnist_files

needs_classifier = pytest.mark.skipif(
    not os.path.exists(metrics.classifier.WEIGHTS_PATH),
    reason="the MNIST classifier weights are not trained yet",
)


@pytest.fixture
def mnist_dir(tmp_path):
    write_mnist_files(tmp_path / "mnist", num_train=10, num_test=40)
    return str(tmp_path)


def _test_images(mnist_dir):
    batches = data.load("mnist", split="test", batch_size=100, data_dir=mnist_dir)
    return batches.get_single_element().numpy()


def test_classifier_score_by_hand():
    uniform = np.full((20, 10), 0.1)
    assert metrics.classifier_score(uniform) == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(20) % 10]
    assert metrics.classifier_score(confident) == pytest.approx(10.0, rel=1e-6)
    # Confident but all one class: p(y|x) = p(y), score 1.
    assert metrics.classifier_score(np.eye(10)[np.zeros(20, int)]) == pytest.approx(1.0)


def test_bits_per_dim_by_hand():
    # 784 ln 2 = 543.4 nats per image is exactly 1 bit per pixel.
    assert metrics.nats_to_bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)


@needs_classifier
def test_evaluate_images_against_themselves(mnist_dir):
    images = _test_images(mnist_dir)
    results = metrics.evaluate(images, data_dir=mnist_dir)
    assert results["fid"] < 1e-6
    assert results["precision"] == 1.0 and results["recall"] == 1.0
    assert 1.0 <= results["classifier_score"] <= 10.0
    assert "label_accuracy" not in results and "nll_nats" not in results


@needs_classifier
def test_evaluate_conditional_and_likelihood_models(mnist_dir):
    cgan = models.ConditionalGAN(latent_dim=4, base_filters=4, seed=0)
    results = metrics.evaluate(cgan, num_samples=30, data_dir=mnist_dir)
    assert results["num_samples"] == 30
    assert 0.0 <= results["label_accuracy"] <= 1.0
    vae = models.VAE(latent_dim=2, base_filters=4, seed=0)
    results = metrics.evaluate(
        vae, num_samples=30, data_dir=mnist_dir, nll_importance_samples=3,
        nll_examples=5,
    )
    assert results["nll_nats"] > 0
    assert results["bits_per_dim"] == pytest.approx(
        results["nll_nats"] / (784 * math.log(2))
    )


@needs_classifier
def test_evaluate_rejects_bad_input(mnist_dir):
    with pytest.raises(ValueError, match="shape"):
        metrics.evaluate(np.zeros((4, 32, 32, 3), "float32"), data_dir=mnist_dir)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.evaluate(np.full((4, 28, 28, 1), 255.0, "float32"), data_dir=mnist_dir)
    with pytest.raises(ValueError, match="mnist"):
        metrics.evaluate(np.zeros((4, 28, 28, 1), "float32"), dataset="cifar10")


@needs_classifier
def test_callback_logs_metrics_to_history(mnist_dir):
    gan = models.DCGAN(latent_dim=4, base_filters=4, seed=0)
    gan.compile()
    history = gan.fit(
        _test_images(mnist_dir), batch_size=20, epochs=2, verbose=0,
        callbacks=[callbacks.EvaluationMetrics(
            ["fid", "classifier_score"], every_n_epochs=2, num_samples=20,
            data_dir=mnist_dir,
        )],
    )
    # Evaluated after epoch 2 only.
    assert len(history.history["fid"]) == 1 and history.history["fid"][0] > 0
    assert "classifier_score" in history.history


@needs_classifier
def test_callback_metrics_reach_tensorboard(mnist_dir, tmp_path):
    import tensorflow as tf

    gan = models.DCGAN(latent_dim=4, base_filters=4, seed=0)
    gan.compile()
    gan.fit(
        _test_images(mnist_dir), batch_size=20, epochs=1, verbose=0,
        callbacks=[
            callbacks.EvaluationMetrics(["fid"], num_samples=20, data_dir=mnist_dir),
            keras.callbacks.TensorBoard(str(tmp_path / "logs")),
        ],
    )
    tags = set()
    for path in (tmp_path / "logs").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    assert "epoch_fid" in tags and "epoch_d_loss" in tags


@needs_classifier
def test_cli_evaluate_prints_and_writes_json(mnist_dir, tmp_path, capsys):
    gan = models.DCGAN(latent_dim=4, base_filters=4, seed=0)
    gan.compile()
    gan.save(tmp_path / "gan.keras")
    out = tmp_path / "scores.json"
    code = cli.main([
        "evaluate", str(tmp_path / "gan.keras"), "--data-dir", mnist_dir,
        "--num-samples", "25", "--json", str(out),
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "fid" in printed and "classifier_score" in printed
    scores = json.loads(out.read_text())
    assert scores["num_samples"] == 25 and "precision" in scores
    assert keras.saving.load_model(tmp_path / "gan.keras") is not None


def test_inception_fid_plumbing_with_random_weights():
    rng = np.random.default_rng(0)
    gray = rng.uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    resized = metrics.InceptionFeatures.preprocess(gray)
    assert resized.shape == (6, 299, 299, 3)
    np.testing.assert_array_equal(resized[..., 0], resized[..., 2])  # Tiled.
    extractor = metrics.InceptionFeatures(weights=None, batch_size=4)
    features = extractor(gray)
    assert features.shape == (6, 2048) and np.all(np.isfinite(features))
    assert metrics.frechet_distance(features, features) < 1e-6
    with pytest.raises(ValueError, match="channels"):
        metrics.InceptionFeatures.preprocess(np.zeros((1, 8, 8, 2), "float32"))
