"""The autoencoder family against the shared model contract, tiny configs."""

import numpy as np
import pytest

from keras_gen import models
from tests import model_test_case

IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 3
MODEL_NAMES = ["autoencoder", "vae", "vae_gaussian", "vae_iwae", "cvae"]


def _make(name):
    tiny = dict(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4, seed=1)
    model = {
        "autoencoder": lambda: models.Autoencoder(**tiny),
        "vae": lambda: models.VAE(**tiny),
        "vae_gaussian": lambda: models.VAE(likelihood="gaussian", beta=0.5, **tiny),
        "vae_iwae": lambda: models.VAE(**tiny),
        "cvae": lambda: models.CVAE(num_classes=NUM_CLASSES, **tiny),
    }[name]()
    if name == "vae_iwae":
        model.compile(objective="iwae", num_samples=3)
    else:
        model.compile()
    return model


def _data(model, num_examples=8):
    rng = np.random.default_rng(0)
    images = np.where(rng.random((num_examples, *IMAGE_SHAPE)) < 0.5, 1.0, -1.0)
    labels = (
        rng.integers(0, NUM_CLASSES, num_examples).astype("int32")
        if model.is_conditional
        else None
    )
    return images.astype("float32"), labels


def _labels(model, n=5):
    return np.arange(n) % model.num_classes if model.is_conditional else None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_train(name):
    model = _make(name)
    expected = ("loss",) if name == "autoencoder" else (
        "loss", "reconstruction_loss", "kl_loss",
    )
    model_test_case.run_train_test(model, _data(model), expected)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_generate(name):
    model = _make(name)
    model_test_case.run_generate_test(model, labels=_labels(model))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_and_reload(name, tmp_path):
    model = _make(name)
    model_test_case.run_saving_test(
        model, _data(model), tmp_path, labels=_labels(model, 4)
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_distribute(name):
    model = _make(name)
    model_test_case.run_distribute_test(lambda: _make(name), _data(model))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_input(name):
    model = _make(name)
    model_test_case.run_bad_input_test(model, _data(model))


def test_compile_state_is_restored(tmp_path):
    model = _make("vae_iwae")
    model.fit(_data(model)[0], verbose=0)
    model.save(tmp_path / "m.keras")
    import keras

    restored = keras.saving.load_model(tmp_path / "m.keras")
    assert (restored.objective, restored.num_samples) == ("iwae", 3)


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="likelihood"):
        models.VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="likelihood_scale"):
        models.VAE(likelihood="gaussian", likelihood_scale=-1.0)
    with pytest.raises(ValueError, match="reconstruction_loss"):
        models.Autoencoder(reconstruction_loss="ssim")
    vae = _make("vae")
    with pytest.raises(ValueError, match="objective"):
        vae.compile(objective="elbo2")
    with pytest.raises(TypeError, match="loss"):
        vae.compile(loss="mse")
    beta_vae = models.VAE(image_shape=IMAGE_SHAPE, latent_dim=2, base_filters=2, beta=4.0)
    with pytest.raises(ValueError, match="beta"):
        beta_vae.compile(objective="iwae", num_samples=2)
