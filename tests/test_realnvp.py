"""RealNVP: the shared model contract, the flow's math, the 8-bit likelihood."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data
from keras_gen import metrics
from keras_gen import models
from keras_gen.models.real_nvp import dequantization_noise
from keras_gen.networks import RealNVPNetwork
from keras_gen.networks.real_nvp import AffineCoupling
from keras_gen.networks.real_nvp import CouplingNetwork
from keras_gen.networks.real_nvp import FactorOut
from keras_gen.networks.real_nvp import Squeeze
from keras_gen.networks.real_nvp import channel_mask
from keras_gen.networks.real_nvp import checkerboard_mask
from tests import model_test_case
from tests.test_data import write_mnist_files

IMAGE_SHAPE = (8, 8, 1)
ALPHA = 1e-6


def _make(compile=True, image_shape=IMAGE_SHAPE, num_scales=1, **kwargs):
    """A tiny model; one scale (4 couplings) traces fastest, the flow tests
    below cover the multi-scale architecture."""
    model = models.RealNVP(
        image_shape=image_shape, num_scales=num_scales, filters=4, num_blocks=1,
        seed=1, **kwargs,
    )
    if compile:
        model.compile()
    return model


def _images(num_examples=8, seed=0, shape=IMAGE_SHAPE):
    """8-bit images scaled to [-1, 1], as `keras_gen.data.load` gives them."""
    levels = np.random.default_rng(seed).integers(0, 256, (num_examples, *shape))
    return (levels / 127.5 - 1.0).astype("float32")


def _data(num_examples=8, seed=0):
    return _images(num_examples, seed), None


def _randomize(layer, scale=0.3, seed=0):
    """Random weights everywhere: a fresh flow is the identity (zero-init).

    Batch normalization's moving variances get random values in [0.5, 1.5).
    """
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        if weight.path.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, size=weight.shape)
        else:
            value = rng.normal(scale=scale, size=weight.shape)
        weight.assign(value.astype("float32"))


def _normal_log_pdf(z):
    return -0.5 * z**2 - 0.5 * math.log(2.0 * math.pi)


def _normal_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _log_abs_det(jacobian):
    return np.linalg.slogdet(jacobian.astype("float64"))[1]


# ----------------------------------------------------------------------
# The shared contract.
# ----------------------------------------------------------------------


def test_train():
    model = _make(num_scales=2)
    history = model_test_case.run_train_test(
        model, _data(), ("loss", "bits_per_dim")
    )
    # The loss is -log p(v) in nats per image; bits/dim the same in bits per
    # pixel.
    np.testing.assert_allclose(
        history["bits_per_dim"][-1],
        history["loss"][-1] / (math.prod(IMAGE_SHAPE) * math.log(2.0)),
        rtol=1e-5,
    )


def test_generate():
    model = _make()
    _randomize(model.network, scale=0.1)
    model_test_case.run_generate_test(model)
    # The samples invert the flow on the normals generate() draws.
    noise = keras.random.normal((5, model.latent_dim), seed=3)
    np.testing.assert_allclose(
        model.generate(5, seed=3), keras.ops.convert_to_numpy(model.decode(noise)),
        atol=1e-5,
    )


def test_save_and_reload(tmp_path):
    model = _make()
    model_test_case.run_saving_test(model, _data(), tmp_path)
    model.save(tmp_path / "again.keras")
    restored = keras.saving.load_model(tmp_path / "again.keras")
    images, _ = _data()
    np.testing.assert_allclose(
        restored.log_likelihood(images), model.log_likelihood(images), rtol=1e-6
    )


def test_batch_normalization_trains_saves_and_reloads(tmp_path):
    model = _make(num_scales=2, normalization="batch")
    norms = [
        norm for network in model.network.coupling_networks for norm in network.norms
    ]
    # 10 couplings, each: one block (2 norms) and one before the output.
    assert len(norms) == 30
    assert model.get_config()["normalization"] == "batch"
    means = [norm.moving_mean.numpy() for norm in norms]
    model_test_case.run_train_test(model, _data(), ("loss", "bits_per_dim"))
    # Training updated the moving statistics (the layers ran in training
    # mode inside the bijector chain).
    assert all(
        not np.allclose(norm.moving_mean.numpy(), mean)
        for norm, mean in zip(norms, means)
    )
    model.save(tmp_path / "bn.keras")
    restored = keras.saving.load_model(tmp_path / "bn.keras")
    assert restored.normalization == "batch"
    images, _ = _data()
    # Likelihoods use the moving statistics: the same after reloading, and
    # independent of the other images in the batch.
    log_p = model.log_likelihood(images)
    np.testing.assert_allclose(restored.log_likelihood(images), log_p, rtol=1e-6)
    np.testing.assert_allclose(model.log_likelihood(images[:3]), log_p[:3], rtol=1e-6)
    with pytest.raises(ValueError, match="normalization must be one of"):
        models.RealNVP(image_shape=IMAGE_SHAPE, normalization="layer")


def test_distribute():
    model_test_case.run_distribute_test(_make, _data())


def test_bad_input():
    model_test_case.run_bad_input_test(_make(), _data())


def test_bad_images_and_settings_are_clear_errors():
    model = _make()
    images, _ = _data()
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        model.log_likelihood(images * 2.0)
    with pytest.raises(ValueError, match="NaN"):
        model.log_likelihood(np.full_like(images, np.nan))
    with pytest.raises(ValueError, match="shape"):
        model.log_likelihood(images[:, :4])
    with pytest.raises(ValueError, match="shape"):
        model.log_likelihood(images[0])
    with pytest.raises(ValueError, match="unconditional"):
        model.log_likelihood(images, labels=np.zeros(len(images), "int32"))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        model.bits_per_dim(images * 127.5 + 127.5)
    with pytest.raises(ValueError, match="num_scales=3 is too many"):
        models.RealNVP(image_shape=(6, 6, 1), num_scales=3)
    with pytest.raises(ValueError, match="image_shape"):
        models.RealNVP(image_shape=(28, 28))
    with pytest.raises(ValueError, match="alpha"):
        models.RealNVP(image_shape=IMAGE_SHAPE, alpha=0.5)
    with pytest.raises(ValueError, match="dequantization must be one of"):
        models.RealNVP(image_shape=IMAGE_SHAPE, dequantization="gaussian")
    with pytest.raises(ValueError, match="only used with dequantization='variational'"):
        models.RealNVP(image_shape=IMAGE_SHAPE, dequantizer=CouplingNetwork(1))
    with pytest.raises(ValueError, match="computes 3 channels; the images have 1"):
        models.RealNVP(
            image_shape=IMAGE_SHAPE, dequantization="variational",
            dequantizer=CouplingNetwork(3),
        )
    with pytest.raises(TypeError, match="loss"):
        _make(compile=False).compile(loss="mse")


def test_config_round_trips():
    model = _make(alpha=0.01)
    assert model.latent_dim == math.prod(IMAGE_SHAPE)
    config = model.get_config()
    assert "latent_dim" not in config
    assert config["alpha"] == 0.01 and config["num_scales"] == 1
    clone = models.RealNVP.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.network, RealNVPNetwork)
    assert clone.count_params() == model.count_params()
    assert config["dequantization"] == "uniform" and config["dequantizer"] is None
    assert list(model.networks) == ["network"]
    # Saved before variational dequantization existed (the zoo's version 1):
    # uniform.
    old = {
        key: value for key, value in config.items()
        if key not in ("dequantization", "dequantizer")
    }
    assert models.RealNVP.from_config(old).get_config() == config


# ----------------------------------------------------------------------
# Variational dequantization: u ~ q(u | k) instead of U[0, 1).
# ----------------------------------------------------------------------


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def test_variational_dequantization_trains_saves_and_reloads(tmp_path):
    model = _make(num_scales=2, dequantization="variational")
    assert list(model.networks) == ["network", "dequantizer"]
    assert model.get_config()["dequantization"] == "variational"
    # The dequantizer trains with the flow (every network's weights change)
    # and is saved and reloaded with the optimizer state.
    model_test_case.run_train_test(model, _data(), ("loss", "bits_per_dim"))
    model_test_case.run_saving_test(model, _data(), tmp_path)
    model.save(tmp_path / "variational.keras")
    restored = keras.saving.load_model(tmp_path / "variational.keras")
    assert restored.dequantization == "variational"
    images, _ = _data()
    np.testing.assert_allclose(
        restored.log_likelihood(images), model.log_likelihood(images), rtol=1e-6
    )


def test_variational_log_prob_by_hand():
    # log p(k + u) - log q(u | k), u = sigmoid(mu + sigma * eps), with
    # (mu, log sigma) the dequantizer's outputs on the levels (in [-1, 1]),
    # log q = sum_i [log N(eps_i) - log sigma_i - log s(z_i) - log s(-z_i)].
    model = _make(dequantization="variational")
    _randomize(model.network, scale=0.1)
    _randomize(model.dequantizer, scale=0.3, seed=1)
    images = _images(3, seed=6)
    levels = np.round((images + 1.0) * 127.5)
    eps = np.random.default_rng(7).normal(size=images.shape).astype("float32")
    shift, log_scale = (
        keras.ops.convert_to_numpy(t).astype("float64")
        for t in model.dequantizer(levels / 127.5 - 1.0)
    )
    assert np.abs(log_scale).max() > 0.05  # The randomized network acts.
    z = shift + np.exp(log_scale) * eps
    u = 1.0 / (1.0 + np.exp(-z))
    log_q = _normal_log_pdf(eps) - log_scale - _log_sigmoid(z) - _log_sigmoid(-z)
    log_p = tf.function(model.pixel_distribution().log_prob)(
        (levels + u).astype("float32")
    ).numpy()
    expected = log_p - log_q.reshape(3, -1).sum(axis=1)
    log_prob = tf.function(model.log_prob)
    np.testing.assert_allclose(log_prob(images, eps).numpy(), expected, rtol=1e-5)
    # log_likelihood draws eps ~ N(0, I) from its seed, for all images at once.
    seeded = dequantization_noise(images.shape, 0, "variational").numpy()
    assert abs(seeded.mean()) < 0.3 and seeded.min() < 0.0 and seeded.std() > 0.7
    np.testing.assert_allclose(
        model.log_likelihood(images, batch_size=2),
        log_prob(images, seeded).numpy(), rtol=1e-6,
    )


def test_variational_bound_estimates_the_discrete_probability():
    # One pixel. q(u | k) is a density on (0, 1): it integrates to 1 (the
    # midpoint rule over u, through the bijector's inverse). P(k), the
    # integral of p(v) over [k, k + 1), by the same rule; for q the density
    # of the u the model draws, E_q[p(k + u) / q(u | k)] = P(k) (importance
    # sampling), and by Jensen E_q[log p(k + u) - log q(u | k)] <= log P(k).
    # A wrong log q (sign, missing Jacobian term) breaks them.
    model = _make(image_shape=(1, 1, 1), num_scales=1, dequantization="variational")
    _randomize(model.network, scale=0.5)
    # Moderate weights: sigma near 1, so p / q has a light enough tail for
    # a Monte Carlo check (measured: 1.5% standard error with 200,000 draws).
    _randomize(model.dequantizer, scale=0.2, seed=1)
    log_p = tf.function(model.pixel_distribution().log_prob)
    log_prob = tf.function(model.log_prob)
    steps, draws = 2048, 200_000
    midpoints = ((np.arange(steps) + 0.5) / steps).reshape(-1, 1, 1, 1)
    eps = np.random.default_rng(0).normal(size=(draws, 1, 1, 1)).astype("float32")
    for level in (0, 37, 255):
        image = np.full((draws, 1, 1, 1), level / 127.5 - 1.0, "float32")
        bijector = model.dequantization_bijector(image[:steps])
        u = tf.constant(midpoints, tf.float32)
        log_q = _normal_log_pdf(bijector.inverse(u).numpy()).ravel() + (
            bijector.inverse_log_det_jacobian(u, event_ndims=3).numpy()
        )
        np.testing.assert_allclose(np.exp(log_q.astype("float64")).mean(), 1.0, rtol=1e-3)
        probability = np.exp(
            log_p((level + midpoints).astype("float32")).numpy().astype("float64")
        ).mean()
        bound = log_prob(image, eps).numpy().astype("float64")
        np.testing.assert_allclose(np.exp(bound).mean(), probability, rtol=0.05)
        assert bound.mean() <= np.log(probability)


# ----------------------------------------------------------------------
# The flow: invertible, with the log-determinants of its Jacobians.
# ----------------------------------------------------------------------


def _coupling(mask_kind, shape, parity, seed=0, normalization=None):
    network = CouplingNetwork(
        shape[-1], filters=6, num_blocks=1, normalization=normalization
    )
    network.build((None, *shape[:-1], 2 * shape[-1]))
    _randomize(network, scale=0.5, seed=seed)
    make_mask = checkerboard_mask if mask_kind == "checkerboard" else channel_mask
    return network, lambda: AffineCoupling(network, make_mask(*shape, parity=parity))


def _brute_force_log_det(make_bijector, x):
    """log|det dz/dx| per example, from the full Jacobian (GradientTape)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = make_bijector().forward(x)
    batch = x.shape[0]
    jacobian = tape.batch_jacobian(z, x).numpy().reshape(batch, -1, x[0].numpy().size)
    return np.array([_log_abs_det(j) for j in jacobian])


@pytest.mark.parametrize(
    "mask_kind, shape, parity, normalization",
    [("checkerboard", (4, 4, 1), 0, None), ("checkerboard", (4, 4, 2), 1, None),
     ("channel", (2, 2, 4), 0, None), ("channel", (2, 2, 4), 1, None),
     ("checkerboard", (4, 4, 2), 0, "batch"), ("channel", (2, 2, 4), 1, "batch")],
)
def test_coupling_log_det_matches_the_jacobian(
    mask_kind, shape, parity, normalization
):
    # With batch normalization, at inference (its moving statistics).
    _, make = _coupling(mask_kind, shape, parity, normalization=normalization)
    x = tf.constant(np.random.default_rng(1).normal(size=(3, *shape)), tf.float32)
    expected = _brute_force_log_det(make, x)
    np.testing.assert_allclose(
        make().forward_log_det_jacobian(x, event_ndims=3).numpy(), expected,
        rtol=1e-4, atol=1e-4,
    )
    assert np.abs(expected).max() > 0.1  # Not the identity.
    # The masked entries pass unchanged; the inverse undoes the forward
    # (fresh bijectors, so nothing comes from TFP's cache).
    mask = (checkerboard_mask if mask_kind == "checkerboard" else channel_mask)(
        *shape, parity=parity
    )
    y = make().forward(x)
    np.testing.assert_array_equal((y * mask).numpy(), (x * mask).numpy())
    assert not np.allclose((y * (1 - mask)).numpy(), (x * (1 - mask)).numpy())
    y = tf.identity(y)
    np.testing.assert_allclose(make().inverse(y).numpy(), x.numpy(), atol=1e-5)
    np.testing.assert_allclose(
        make().inverse_log_det_jacobian(y, event_ndims=3).numpy(), -expected,
        rtol=1e-4, atol=1e-4,
    )


@pytest.mark.parametrize(
    "image_shape, num_scales, normalization",
    [((4, 4, 1), 2, None), ((4, 4, 2), 2, None), ((8, 8, 1), 3, None),
     ((4, 4, 2), 2, "batch")],
)
def test_flow_is_invertible_and_its_log_det_matches_the_jacobian(
    image_shape, num_scales, normalization
):
    network = RealNVPNetwork(
        image_shape, num_scales=num_scales, filters=6, num_blocks=1,
        normalization=normalization,
    )
    _randomize(network, scale=0.2)
    x = tf.constant(
        np.random.default_rng(2).normal(size=(2, *image_shape)), tf.float32
    )
    expected = _brute_force_log_det(network.bijector, x)
    log_det = network.bijector().forward_log_det_jacobian(x, event_ndims=3)
    np.testing.assert_allclose(log_det.numpy(), expected, rtol=1e-4, atol=1e-3)
    assert np.abs(expected).max() > 0.5
    z = tf.identity(network(x))
    assert z.shape == x.shape
    np.testing.assert_allclose(network.bijector().inverse(z).numpy(), x.numpy(), atol=1e-4)


def test_each_coupling_network_runs_once_per_likelihood():
    # The greedy cache hands each coupling's log-determinant over with its
    # output, so a traced log_prob calls every network once.
    model = _make(num_scales=2)
    calls = []
    for network in model.network.coupling_networks:
        original = network.call
        network.call = lambda inputs, original=original, **kwargs: (
            calls.append(1) or original(inputs, **kwargs)
        )
    images = _images(2)
    tf.function(model.log_prob)(images, np.full_like(images, 0.5))
    assert len(calls) == len(model.network.coupling_networks) == 10


def test_squeeze_moves_each_2x2_block_into_channels():
    x = np.arange(2 * 4 * 4 * 2, dtype="float32").reshape(2, 4, 4, 2)
    squeeze = Squeeze((4, 4, 2))
    y = squeeze.forward(x).numpy()
    assert y.shape == (2, 2, 2, 8)
    for dy in range(2):
        for dx in range(2):
            block = (2 * dy + dx) * 2
            np.testing.assert_array_equal(y[..., block : block + 2], x[:, dy::2, dx::2])
    np.testing.assert_array_equal(Squeeze((4, 4, 2)).inverse(y).numpy(), x)
    assert float(squeeze.forward_log_det_jacobian(x, event_ndims=3)) == 0.0
    assert squeeze.forward_event_shape((4, 4, 2)) == (2, 2, 8)
    with pytest.raises(ValueError, match="even"):
        Squeeze((3, 4, 1))


def test_factor_out_passes_the_other_channels_through():
    network, make = _coupling("checkerboard", (4, 4, 2), 0)
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 4, 4, 3)), tf.float32)
    factor_out = FactorOut(make(), num_kept=2)
    y = factor_out.forward(x)
    np.testing.assert_allclose(y[..., :2].numpy(), make().forward(x[..., :2]).numpy())
    np.testing.assert_array_equal(y[..., 2:].numpy(), x[..., 2:].numpy())
    np.testing.assert_allclose(
        factor_out.forward_log_det_jacobian(x, event_ndims=3).numpy(),
        make().forward_log_det_jacobian(x[..., :2], event_ndims=3).numpy(),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        FactorOut(make(), 2).inverse(tf.identity(y)).numpy(), x.numpy(), atol=1e-5
    )


def test_images_round_trip_through_the_latent():
    model = _make()
    _randomize(model.network, scale=0.1)
    images = _images(4)
    latent = model.encode(images)
    assert latent.shape == (4, model.latent_dim)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.decode(latent)), images, atol=1e-4
    )


# ----------------------------------------------------------------------
# The 8-bit likelihood: preprocessing, dequantization, bits per dimension.
# ----------------------------------------------------------------------


def _preprocessing_by_hand(levels, noise, alpha=ALPHA):
    """(y, log|det dy/dv| per image) in float64, from the formula."""
    v = levels.astype("float64") + noise.astype("float64")
    p = alpha + (1.0 - 2.0 * alpha) * v / 256.0
    y = np.log(p) - np.log1p(-p)
    log_det = np.log(1.0 - 2.0 * alpha) - np.log(p) - np.log1p(-p) - np.log(256.0)
    return y, log_det.reshape(len(v), -1).sum(axis=1)


def test_preprocessing_log_det_by_hand():
    model = _make()
    rng = np.random.default_rng(4)
    levels = rng.integers(0, 256, (3, *IMAGE_SHAPE)).astype("float32")
    noise = rng.random((3, *IMAGE_SHAPE)).astype("float32")
    v = tf.constant(levels + noise)
    expected_y, expected_log_det = _preprocessing_by_hand(levels, noise)
    bijector = model.preprocessing_bijector()
    np.testing.assert_allclose(bijector.forward(v).numpy(), expected_y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        bijector.forward_log_det_jacobian(v, event_ndims=3).numpy(),
        expected_log_det, rtol=1e-5,
    )


def test_log_likelihood_and_bits_per_dim_by_hand():
    # A fresh model's flow is the identity (its couplings' last convolutions
    # start at zero), so log p(v) = sum_i log N(y_i; 0, 1) + log|det dy/dv|.
    model = _make()
    # Golden values for a black 2x2 image (level 0) at the level's middle,
    # v = 0.5: u = 0.5 / 256 = 0.001953125, p = 0.05 + 0.9 u = 0.0517578125,
    # y = log(p / (1 - p)) = -2.9080346,
    # log N(y) = -y^2 / 2 - log(2 pi) / 2 = -5.1472710,
    # log|dy/dv| = log 0.9 - log p - log(1 - p) - log 256 = -2.6362127,
    # per pixel -7.7834837; 4 pixels: -31.133935 nats;
    # bits/dim = 31.133935 / (4 ln 2) = 11.229193.
    tiny = _make(image_shape=(2, 2, 1), num_scales=1, alpha=0.05)
    black = -np.ones((1, 2, 2, 1), "float32")
    log_p = float(tiny.log_prob(black, np.full_like(black, 0.5))[0])
    np.testing.assert_allclose(log_p, -31.133935, rtol=1e-6)
    np.testing.assert_allclose(
        tiny.nats_to_bits_per_dim(-log_p), 11.229193, rtol=1e-6
    )
    # The default alpha = 1e-6: p = 1e-6 + (1 - 2e-6) u = 0.00195412109375,
    # y = -6.2358587, log N(y) = -20.361906, log|dy/dv| = log(1 - 2e-6)
    # - log p - log(1 - p) - log 256 = 0.69459134 (the logit stretches the
    # black level's interval): per pixel -19.667314; 4 pixels: -78.669257
    # nats; bits/dim = 28.373937.
    tiny = _make(image_shape=(2, 2, 1), num_scales=1)
    log_p = float(tiny.log_prob(black, np.full_like(black, 0.5))[0])
    np.testing.assert_allclose(log_p, -78.669257, rtol=1e-6)
    np.testing.assert_allclose(
        tiny.nats_to_bits_per_dim(-log_p), 28.373937, rtol=1e-6
    )

    images = _images(5, seed=5)
    levels = np.round((images + 1.0) * 127.5)
    noise = dequantization_noise(images.shape, 0).numpy()  # log_likelihood's
    y, log_det = _preprocessing_by_hand(levels, noise)
    expected = _normal_log_pdf(y).reshape(5, -1).sum(axis=1) + log_det
    result = model.log_likelihood(images, batch_size=2)
    assert result.dtype == np.float64 and result.shape == (5,)
    np.testing.assert_allclose(result, expected, rtol=1e-5)
    np.testing.assert_allclose(
        model.bits_per_dim(images), -expected / (64 * math.log(2.0)), rtol=1e-5
    )


def test_the_density_integrates_to_the_normal_mass_of_the_logit_range():
    # One pixel: integral over v in [0, 256) of p(v) dv, by the midpoint rule
    # over every level k and 64 noise values, must be the standard normal
    # mass between z(v = 0) and z(v = 256) (the logit range is bounded by
    # alpha). A missing 1/256 or logit Jacobian would be off by far. (With
    # alpha = 0.05: at the default 1e-6 the density near v = 0 changes too
    # fast for 64 noise values per level.)
    model = _make(image_shape=(1, 1, 1), num_scales=1, alpha=0.05)
    _randomize(model.network, scale=0.5)
    steps = 64
    levels = np.repeat(np.arange(256), steps)
    noise = np.tile((np.arange(steps) + 0.5) / steps, 256)
    images = (levels / 127.5 - 1.0).astype("float32").reshape(-1, 1, 1, 1)
    log_p = tf.function(model.log_prob)(
        images, noise.astype("float32").reshape(-1, 1, 1, 1)
    ).numpy()
    integral = np.exp(log_p.astype("float64")).sum() / steps
    ends = model.pixel_bijector().forward(tf.constant([[[[0.0]]], [[[256.0]]]]))
    z_low, z_high = sorted(ends.numpy().ravel())
    expected = _normal_cdf(z_high) - _normal_cdf(z_low)
    assert 0.5 < expected < 1.0
    np.testing.assert_allclose(integral, expected, rtol=1e-3)


def test_log_likelihood_noise_is_seeded_and_batch_independent():
    model = _make()
    _randomize(model.network, scale=0.1)
    images = _images(6)
    default = model.log_likelihood(images)
    np.testing.assert_array_equal(default, model.log_likelihood(images))
    np.testing.assert_allclose(
        model.log_likelihood(images, batch_size=4), default, rtol=1e-6
    )
    assert not np.allclose(model.log_likelihood(images, seed=1), default)
    unseeded = model.log_likelihood(images, seed=None)
    assert not np.allclose(unseeded, model.log_likelihood(images, seed=None))
    # One noise draw moves log p by less than the spread between images.
    assert np.abs(model.log_likelihood(images, seed=1) - default).max() < 20.0


def test_training_lowers_the_nll():
    keras.utils.set_random_seed(0)
    model = models.RealNVP(
        image_shape=IMAGE_SHAPE, num_scales=1, filters=8, num_blocks=1, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # Toy digits: vertical bars of one grey level at random columns on black.
    rng = np.random.default_rng(0)
    columns = rng.random((64, 1, 8, 1)) < 0.3
    grey = rng.integers(150, 256, (64, 1, 1, 1))
    levels = np.where(np.repeat(columns, 8, axis=1), grey, 0)
    images = (levels / 127.5 - 1.0).astype("float32")
    before = model.bits_per_dim(images).mean()
    history = model.fit(images, batch_size=16, epochs=4, verbose=0).history
    after = model.bits_per_dim(images).mean()
    # Measured: about 10.5 bits/dim before, 6.6 after 16 steps.
    assert history["loss"][-1] < history["loss"][0]
    assert after < before - 2.0, (before, after)


@pytest.mark.skipif(
    not os.path.exists(metrics.classifier.WEIGHTS_PATH),
    reason="the MNIST classifier weights are not trained yet",
)
def test_evaluate_scores_the_8bit_test_images(tmp_path):
    # Not the binarized ones the binary-image models are scored on.
    write_mnist_files(tmp_path / "mnist", num_train=10, num_test=20)
    model = models.RealNVP(num_scales=1, filters=4, num_blocks=1, seed=0)
    _randomize(model.network, scale=0.05)
    results = metrics.evaluate(
        model, num_samples=20, data_dir=str(tmp_path), nll_examples=5
    )
    test_images = data.load(
        "mnist", split="test", batch_size=20, data_dir=str(tmp_path)
    ).get_single_element().numpy()
    nats = -model.log_likelihood(test_images[:5]).mean()
    np.testing.assert_allclose(results["nll_nats"], nats, rtol=1e-6)
    np.testing.assert_allclose(
        results["bits_per_dim"], nats / (784 * math.log(2.0)), rtol=1e-6
    )


def test_mixed_bfloat16_policy_keeps_the_flow_in_float32():
    # Under `mixed_bfloat16` only the coupling ResNets compute in bfloat16
    # (a training step about 1.5x faster on CPUs with AVX512-BF16); the
    # flow's arithmetic and log-determinants stay float32, so likelihoods
    # and samples agree with a float32 copy of the same weights.
    keras.config.set_dtype_policy("mixed_bfloat16")
    mixed = _make()
    assert mixed.network.compute_dtype == "bfloat16"
    # Couplings start as the identity; random weights make them act.
    rng = np.random.default_rng(0)
    mixed.set_weights([
        w + rng.normal(0.0, 0.1, w.shape).astype(w.dtype)
        if np.issubdtype(w.dtype, np.floating) else w
        for w in mixed.get_weights()
    ])
    keras.config.set_dtype_policy("float32")
    exact = _make()
    exact.set_weights(mixed.get_weights())
    images = _images()
    exact_nats = exact.log_likelihood(images)
    mixed_nats = mixed.log_likelihood(images)
    # Far from the identity (whose log-determinant is 0), and within
    # bfloat16 rounding of the exact value.
    assert np.abs(exact_nats - _make().log_likelihood(images)).min() > 1.0
    np.testing.assert_allclose(mixed_nats, exact_nats, rtol=2e-3)
    np.testing.assert_allclose(
        mixed.generate(4, seed=0), exact.generate(4, seed=0), atol=0.05
    )
    before = [w.copy() for w in mixed.get_weights()]
    history = mixed.fit(images, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, a) for b, a in zip(before, mixed.get_weights()))


# ----------------------------------------------------------------------
# Growing a trained flow: deeper coupling networks that start where it was.
# ----------------------------------------------------------------------


def test_a_deepened_flow_computes_what_the_shallow_one_does_then_trains_on():
    shallow = models.RealNVP(
        image_shape=IMAGE_SHAPE, num_scales=2, filters=4, num_blocks=1,
        dequantization="variational", seed=1,
    )
    _randomize(shallow, scale=0.2)
    deep = models.RealNVP(
        image_shape=IMAGE_SHAPE, num_scales=2, filters=4, num_blocks=3,
        dequantization="variational", seed=1,
    )
    deep.deepen_from(shallow)
    images = np.random.default_rng(0).uniform(-1, 1, (6, *IMAGE_SHAPE)).astype("float32")
    np.testing.assert_allclose(
        deep.log_likelihood(images), shallow.log_likelihood(images), rtol=1e-5
    )
    np.testing.assert_allclose(
        deep.generate(3, seed=0), shallow.generate(3, seed=0), atol=1e-5
    )
    # The extra blocks' first convolutions keep a random start (so their
    # second convolutions get gradients), their second ones are zero.
    for network in [*deep.network.coupling_networks, deep.dequantizer]:
        for first, second in zip(network.block_convs[2::2], network.block_convs[3::2]):
            assert np.abs(first.kernel.numpy()).sum() > 0
            assert not np.any(second.kernel.numpy()) and not np.any(second.bias.numpy())
    # Training moves the extra blocks.
    before = deep.network.coupling_networks[0].block_convs[3].kernel.numpy().copy()
    deep.compile(optimizer=keras.optimizers.Adam(1e-3))
    deep.fit(images, batch_size=3, epochs=1, verbose=0)
    assert np.any(deep.network.coupling_networks[0].block_convs[3].kernel.numpy() != before)


@pytest.mark.parametrize("change, message", [
    (dict(num_blocks=3), "the source has 3 residual blocks, this network 2"),
    (dict(filters=8), "same filters: this one has 4, the source 8"),
    (dict(alpha=0.1), "same alpha: this one has 1e-06, the source 0.1"),
    (dict(normalization="batch"), "same normalization"),
])
def test_deepen_from_refuses_a_flow_it_cannot_grow(change, message):
    settings = dict(image_shape=IMAGE_SHAPE, num_scales=1, filters=4, num_blocks=2)
    deep = models.RealNVP(**settings)
    with pytest.raises(ValueError, match=message):
        deep.deepen_from(models.RealNVP(**{**settings, **change}))
    with pytest.raises(ValueError, match="takes a RealNVP, received PixelCNN"):
        deep.deepen_from(models.PixelCNN(image_shape=IMAGE_SHAPE, filters=4, num_layers=2))
    batch_normalized = CouplingNetwork(1, filters=4, num_blocks=2, normalization="batch")
    batch_normalized.build((None, 8, 8, 2))
    with pytest.raises(ValueError, match="batch normalization is not supported"):
        batch_normalized.deepen_from(batch_normalized)
