"""InfoGAN: the shared contract, the latent codes and the information term."""

import math

import keras
import numpy as np
import pytest

from keras_gen import models
from tests import model_test_case

IMAGE_SHAPE = (8, 8, 1)
TINY = dict(image_shape=IMAGE_SHAPE, noise_dim=3, num_categories=3,
            num_continuous=2, base_filters=4, seed=1)


def _make(**settings):
    model = models.InfoGAN(**TINY)
    model.compile(**settings)
    return model


def _data(num_examples=8):
    images = np.random.default_rng(0).uniform(-1, 1, (num_examples, *IMAGE_SHAPE))
    return images.astype("float32"), None


def test_train():
    model_test_case.run_train_test(
        _make(), _data(), ("d_loss", "g_loss", "info_loss", "categorical_information")
    )


def test_generate():
    model_test_case.run_generate_test(_make())


def test_save_and_reload(tmp_path):
    model_test_case.run_saving_test(_make(generator_ema_decay=0.9), _data(), tmp_path)


def test_distribute():
    model_test_case.run_distribute_test(_make, _data())


def test_bad_input():
    model_test_case.run_bad_input_test(_make(), _data())


def test_latent_layout_by_hand():
    model = _make()
    noise = np.array([
        [0.5, -0.2, 1.0, 0.1, 2.0, -1.0, 0.0, 1.0],
        [0.0, 0.0, 0.0, -3.0, -1.0, -2.0, -1.0, 0.5],
    ], "float32")
    latent = keras.ops.convert_to_numpy(model.latent_from_noise(noise))
    assert latent.shape == (2, model.latent_dim) and model.latent_dim == 3 + 3 + 2
    np.testing.assert_array_equal(latent[:, :3], noise[:, :3])
    np.testing.assert_array_equal(latent[:, 3:6], [[0, 1, 0], [0, 1, 0]])
    expected = [[math.erf(x / math.sqrt(2)) for x in row] for row in noise[:, 6:]]
    np.testing.assert_allclose(latent[:, 6:], expected, atol=1e-6)
    # The codes follow the prior: uniform categories, U(-1, 1) continuous.
    draws = keras.ops.convert_to_numpy(
        model.latent_from_noise(np.random.default_rng(0).standard_normal((30000, 8)))
    )
    np.testing.assert_allclose(draws[:, 3:6].mean(axis=0), 1 / 3, atol=0.015)
    assert np.all(np.abs(draws[:, 6:]) < 1)
    np.testing.assert_allclose(draws[:, 6:].var(axis=0), 1 / 3, atol=0.015)
    # generate() draws through the same map (the serving export does too).
    first = model.generate(4, seed=5)
    latent = model.latent_from_noise(keras.random.normal((4, model.latent_dim), seed=5))
    with model.sampling_weights():
        expected = keras.ops.convert_to_numpy(model.generator(latent, training=False))
    np.testing.assert_allclose(first, expected, atol=1e-6)


def test_information_terms_by_hand():
    model = _make()
    latent = model.make_latent([2, 0], continuous=[[0.5, -0.5], [0.0, 1.0]],
                               noise=np.zeros((2, 3)))
    params = np.array([
        [0.0, 1.0, 2.0, 0.5, 0.0],
        [1.0, 1.0, 1.0, 0.0, 0.0],
    ], "float32")
    categorical, continuous = model.information_terms(latent, params)

    def log_softmax(row):
        return row - math.log(sum(math.exp(v) for v in row))

    expected_categorical = -(log_softmax(params[0, :3])[2] + log_softmax(params[1, :3])[0]) / 2
    squared = [(0.5 - 0.5) ** 2 + (-0.5 - 0.0) ** 2, 0.0 ** 2 + 1.0 ** 2]
    expected_continuous = sum(0.5 * s + math.log(2 * math.pi) for s in squared) / 2
    assert float(categorical) == pytest.approx(expected_categorical, rel=1e-5)
    assert float(continuous) == pytest.approx(expected_continuous, rel=1e-5)


def test_q_learns_the_categorical_code():
    # Q and G cooperate on the information term: with it alone (no
    # adversarial push), the images soon carry the category.
    keras.utils.set_random_seed(0)
    model = models.InfoGAN(**TINY)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-2),
                  d_optimizer=keras.optimizers.Adam(1e-2))
    images, _ = _data(64)
    history = model.fit(images, batch_size=32, epochs=15, verbose=0).history
    information = history["categorical_information"]
    assert information[-1] > information[0] + 0.3, information
    assert information[-1] <= math.log(3) + 1e-6
    # predict_codes reads the category back from generated images.
    categories = np.arange(60) % 3
    fakes = model.generate_with_codes(categories, seed=0)
    accuracy = (model.predict_codes(fakes)["category"] == categories).mean()
    assert accuracy > 0.6, accuracy


def test_codes_api_and_errors():
    model = _make()
    categories = np.repeat(np.arange(3), 4)
    sweep = np.stack([np.tile(np.linspace(-2, 2, 4), 3), np.zeros(12)], axis=1)
    images = model.generate_with_codes(categories, sweep, seed=0, shared_noise=True)
    assert images.shape == (12, *IMAGE_SHAPE) and images.dtype == np.float32
    latent = model.make_latent(categories, sweep, seed=0)
    np.testing.assert_array_equal(latent[:, 3:6], np.eye(3)[categories])
    np.testing.assert_allclose(latent[:, 6:], sweep, atol=1e-7)
    codes = model.predict_codes(images)
    assert codes["category"].shape == (12,) and codes["continuous"].shape == (12, 2)
    np.testing.assert_allclose(codes["category_probabilities"].sum(axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        model.make_latent([3])
    with pytest.raises(ValueError, match=r"continuous must have shape \(1, 2\)"):
        model.make_latent([1], continuous=[0.5])
    with pytest.raises(ValueError, match="shape"):
        model.predict_codes(np.zeros((2, 9, 9, 1)))
    with pytest.raises(ValueError, match="num_categories"):
        models.InfoGAN(num_categories=1)
    with pytest.raises(ValueError, match="latent_dim"):
        models.InfoGAN(latent_dim=10)
    with pytest.raises(ValueError, match="categorical_weight"):
        model.compile(categorical_weight=-1.0)


def test_compile_defaults_follow_the_paper():
    model = _make()
    assert model.categorical_weight == 1.0 and model.continuous_weight == 0.1
    assert model.g_optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)
    assert model.d_optimizer.get_config()["learning_rate"] == pytest.approx(2e-4)
    assert model.latent_dim == model.noise_dim + model.num_categories + model.num_continuous
