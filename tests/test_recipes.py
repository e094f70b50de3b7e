"""Short runs of the zoo recipes (slow): they train and reach a loose bar."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get(
    "KERAS_GEN_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")
)
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(os.path.join(MNIST_DIR, "mnist")),
    reason="real MNIST is not beside the repository (../shared/data/mnist)",
)


@pytest.mark.slow
@needs_mnist
def test_vae_recipe_short_run_reaches_a_loose_nll(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "zoo", "recipes"))
    try:
        import vae_mnist
    finally:
        sys.path.pop(0)
    results = vae_mnist.main([
        "--out", str(tmp_path), "--data-dir", MNIST_DIR, "--epochs", "2",
        "--eval-samples", "100", "--eval-examples", "500",
    ])
    # Two epochs land near 95 nats; a broken likelihood or bound does not.
    assert results["test_nll_nats"] < 100.0, results
    assert results["test_elbo_nats"] < -results["test_nll_nats"] + 1e-6
    assert results["epochs"] == 2


@pytest.mark.slow
@needs_mnist
@pytest.mark.parametrize("recipe", ["dcgan_mnist", "wgan_gp_mnist", "cgan_mnist"])
def test_gan_recipes_run_end_to_end(tmp_path, recipe):
    sys.path.insert(0, os.path.join(ROOT, "zoo", "recipes"))
    try:
        module = __import__(recipe)
        import gan_recipe
    finally:
        sys.path.pop(0)
    scores = gan_recipe.main(module.PRESET, [
        "--out", str(tmp_path), "--data-dir", MNIST_DIR, "--epochs", "2",
        "--steps-per-epoch", "5", "--eval-every", "2", "--eval-samples", "200",
        "--latent-dim", "16", "--base-filters", "8",
    ])
    assert scores["epochs"] == 2 and scores["fid"] > 0
    if recipe == "cgan_mnist":
        assert 0.0 <= scores["label_accuracy"] <= 1.0
    # Resume continues the checkpoint.
    scores = gan_recipe.main(module.PRESET, [
        "--out", str(tmp_path), "--data-dir", MNIST_DIR, "--epochs", "3",
        "--steps-per-epoch", "5", "--eval-every", "5", "--eval-samples", "200",
        "--resume",
    ])
    assert scores["epochs"] == 3
