"""PixelCNN: the shared model contract, causality, exact likelihood, serving."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import models
from keras_gen import serving
from keras_gen.networks import PixelCNNNetwork
from tests import model_test_case
from tests.test_serving import run_in_serving_process

IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 3
MODEL_NAMES = ["gated", "masked", "conditional"]


def _make(name, compile=True):
    tiny = dict(
        image_shape=IMAGE_SHAPE, filters=4, num_layers=2, kernel_size=3, seed=1
    )
    model = {
        "gated": lambda: models.PixelCNN(**tiny),
        "masked": lambda: models.PixelCNN(gated=False, **tiny),
        "conditional": lambda: models.PixelCNN(num_classes=NUM_CLASSES, **tiny),
    }[name]()
    if compile:
        model.compile()
    return model


def _data(model, num_examples=8, seed=0):
    rng = np.random.default_rng(seed)
    images = np.where(rng.random((num_examples, *IMAGE_SHAPE)) < 0.3, 1.0, -1.0)
    labels = (
        rng.integers(0, NUM_CLASSES, num_examples).astype("int32")
        if model.is_conditional
        else None
    )
    return images.astype("float32"), labels


def _labels(model, n=5):
    return np.arange(n) % model.num_classes if model.is_conditional else None


def _inputs(model, images, labels):
    return images if labels is None else [images, labels]


# ----------------------------------------------------------------------
# The shared contract.
# ----------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_train(name):
    model = _make(name)
    model_test_case.run_train_test(model, _data(model), ("loss",))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_generate(name):
    model = _make(name)
    model_test_case.run_generate_test(model, labels=_labels(model))
    samples = model.generate(5, seed=3, labels=_labels(model))
    assert set(np.unique(samples)) <= {-1.0, 1.0}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_and_reload(name, tmp_path):
    model = _make(name)
    model_test_case.run_saving_test(
        model, _data(model), tmp_path, labels=_labels(model, 4)
    )
    model.save(tmp_path / "again.keras")
    restored = keras.saving.load_model(tmp_path / "again.keras")
    images, labels = _data(model)
    np.testing.assert_allclose(
        restored.log_likelihood(images, labels),
        model.log_likelihood(images, labels),
        rtol=1e-6,
    )


@pytest.mark.parametrize("name", ["gated", "conditional"])
def test_distribute(name):
    model = _make(name)
    model_test_case.run_distribute_test(lambda: _make(name), _data(model))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_input(name):
    model = _make(name)
    model_test_case.run_bad_input_test(model, _data(model))


def test_non_binary_and_misshapen_images_are_clear_errors():
    model = _make("gated")
    images, _ = _data(model)
    grey = images * 0.5
    with pytest.raises(ValueError, match="binary"):
        model.fit(grey, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="binary"):
        model.log_likelihood(grey)
    with pytest.raises(ValueError, match="shape"):
        model.log_likelihood(images[:, :4])
    with pytest.raises(ValueError, match="shape"):
        model.log_likelihood(images[0])
    with pytest.raises(ValueError, match="unconditional"):
        model.log_likelihood(images, labels=np.zeros(len(images), "int32"))
    conditional = _make("conditional")
    with pytest.raises(ValueError, match="labels"):
        conditional.log_likelihood(images)
    with pytest.raises(ValueError, match="num_classes"):
        conditional.log_likelihood(images, np.full(len(images), NUM_CLASSES))
    with pytest.raises(ValueError, match="one label per image"):
        conditional.log_likelihood(images, np.zeros(3, "int32"))


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="one channel"):
        models.PixelCNN(image_shape=(8, 8, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        models.PixelCNN(image_shape=IMAGE_SHAPE, kernel_size=4)
    with pytest.raises(ValueError, match="num_layers"):
        models.PixelCNN(image_shape=IMAGE_SHAPE, num_layers=0)
    with pytest.raises(TypeError, match="loss"):
        _make("gated", compile=False).compile(loss="mse")


def test_latent_dim_is_the_number_of_pixels_and_config_round_trips():
    model = _make("conditional")
    assert model.latent_dim == math.prod(IMAGE_SHAPE)
    config = model.get_config()
    assert "latent_dim" not in config
    assert config["num_classes"] == NUM_CLASSES and config["gated"] is True
    clone = models.PixelCNN.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.network, PixelCNNNetwork)
    assert clone.count_params() == model.count_params()


# ----------------------------------------------------------------------
# The numbers.
# ----------------------------------------------------------------------


@pytest.mark.parametrize("gated", [True, False])
def test_each_logit_sees_only_earlier_pixels(gated):
    height, width = 5, 6
    keras.utils.set_random_seed(0)
    network = PixelCNNNetwork(
        (height, width, 1), filters=6, num_layers=6, kernel_size=3, gated=gated,
        num_classes=2,
    )
    num_pixels, batch = height * width, 4
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(batch, height, width, 1)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = tf.reshape(network([images, tf.constant([1, 0, 1, 0])]), (batch, -1))
    # jacobian[b, i, j] = d logit_i / d pixel_j of image b, raster order.
    jacobian = tape.jacobian(logits, images).numpy().reshape(
        batch, num_pixels, batch, num_pixels
    )
    np.testing.assert_array_equal(  # Images of a batch do not mix.
        jacobian[0, :, 1:], np.zeros((num_pixels, batch - 1, num_pixels))
    )
    jacobian = jacobian[np.arange(batch), :, np.arange(batch)]
    for example in jacobian:  # j >= i: exactly no influence.
        assert np.all(np.triu(example) == 0.0)
    # Seen by some image (a ReLU of the head may be off for one of them).
    seen = np.any(np.abs(np.tril(jacobian, -1)) > 0, axis=0)
    num_earlier = num_pixels * (num_pixels - 1) // 2
    if gated:  # No blind spot: every earlier pixel is seen.
        assert seen.sum() == num_earlier
    else:  # The masked PixelCNN's blind spot (up and to the right).
        assert 0 < seen.sum() < num_earlier


@pytest.mark.parametrize("name", ["gated", "conditional"])
def test_log_likelihood_is_the_sum_of_bernoulli_log_probs(name):
    model = _make(name)
    images, labels = _data(model, num_examples=5)
    logits = keras.ops.convert_to_numpy(
        model.network(_inputs(model, images, labels))
    ).astype("float64")
    probability_of_one = 1.0 / (1.0 + np.exp(-logits))
    ones = images == 1.0
    expected = np.where(
        ones, np.log(probability_of_one), np.log(1.0 - probability_of_one)
    ).sum(axis=(1, 2, 3))
    result = model.log_likelihood(images, labels, batch_size=2)
    assert result.dtype == np.float64 and result.shape == (5,)
    np.testing.assert_allclose(result, expected, rtol=1e-5)
    # The training loss is the same quantity: -mean log p(x), nats per image.
    loss = model.compute_loss(
        x=_inputs(model, images, labels),
        y_pred=model(_inputs(model, images, labels)),
    )
    np.testing.assert_allclose(float(loss), -expected.mean(), rtol=1e-5)
    # Untrained, each pixel is close to a fair coin: about 64 log 2 nats.
    assert abs(-expected.mean() - 64 * math.log(2.0)) < 5.0


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_samples_follow_the_network_conditionals(name):
    # Sampling reuses work between pixels; this checks that it computes the
    # logits of the one-pass network: pixel i is 1 exactly when
    # Phi(z_i) < sigmoid(logit_i(x_<i)) for the noise z that generate draws.
    model = _make(name)
    for weight in model.network.weights:  # Confident logits, varied samples.
        weight.assign(weight * 3.0)
    labels = _labels(model, 6)
    samples = model.generate(6, seed=7, labels=labels)
    noise = keras.ops.convert_to_numpy(
        keras.random.normal((6, model.latent_dim), seed=7)
    ).astype("float64")
    logits = keras.ops.convert_to_numpy(
        model.network(_inputs(model, samples, labels))
    ).reshape(6, -1).astype("float64")
    uniform = 0.5 * np.vectorize(math.erfc)(-noise / math.sqrt(2.0))
    probability_of_one = 1.0 / (1.0 + np.exp(-logits))
    expected = np.where(uniform < probability_of_one, 1.0, -1.0)
    decided = np.abs(uniform - probability_of_one) > 1e-5  # Not a float tie.
    np.testing.assert_array_equal(samples.reshape(6, -1)[decided], expected[decided])
    assert set(np.unique(samples)) == {-1.0, 1.0}


def test_training_reduces_the_loss():
    keras.utils.set_random_seed(0)
    model = models.PixelCNN(
        image_shape=IMAGE_SHAPE, filters=8, num_layers=2, kernel_size=3, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # Vertical bars at random columns: each row repeats the one above.
    rng = np.random.default_rng(0)
    columns = rng.random((64, 1, 8, 1)) < 0.3
    images = np.where(np.repeat(columns, 8, axis=1), 1.0, -1.0).astype("float32")
    before = -model.log_likelihood(images).mean()
    history = model.fit(images, batch_size=32, epochs=15, verbose=0).history
    after = -model.log_likelihood(images).mean()
    assert history["loss"][-1] < history["loss"][0]
    assert after < 0.6 * before, (before, after)


# ----------------------------------------------------------------------
# TF Serving export, served by a fresh process without keras_gen.
# ----------------------------------------------------------------------


def test_serving_export(tmp_path):
    seed, batch = 5, 4
    exports, built = {}, {}
    for name in ("gated", "conditional"):
        model = _make(name, compile=False)
        built[name] = model
        images, labels = _data(model, num_examples=batch, seed=1)
        conditional = {"label": labels} if model.is_conditional else {}
        sample_label = {"label": np.array([2], "int32")} if model.is_conditional else {}

        def sample(seed, num_samples=batch, **extra):
            return {"num_samples": np.int32(num_samples), "seed": np.int32(seed),
                    **extra}

        calls = {
            "default": ("serving_default", {"images": images, **conditional}),
            "grey": ("serving_default", {"images": images * 0.5, **conditional}),
            "sample": ("sample", sample(seed, **sample_label)),
            "sample_other_seed": ("sample", sample(seed + 1, **sample_label)),
            "bad_num_samples": ("sample", sample(seed, num_samples=0, **sample_label)),
        }
        path = serving.export_model(model, tmp_path / "serving", f"pixelcnn_{name}")
        exports[name] = (path, calls)
    results, imported = run_in_serving_process(tmp_path, exports)
    assert imported == []
    for name, model in built.items():
        outputs, errors = results[name]["outputs"], results[name]["errors"]
        calls = exports[name][1]
        default = calls["default"][1]
        np.testing.assert_allclose(
            outputs["default/log_likelihood"],
            model.log_likelihood(default["images"], default.get("label")),
            rtol=1e-5,
        )
        labels = 2 if model.is_conditional else None
        images = outputs["sample/images"]
        np.testing.assert_array_equal(
            images, model.generate(batch, seed=seed, labels=labels)
        )
        assert not np.array_equal(images, outputs["sample_other_seed/images"])
        assert set(errors) == {"grey", "bad_num_samples"}
        assert "images must be binary" in errors["grey"]
        assert "num_samples must be a positive int" in errors["bad_num_samples"]
        assert "Concrete Functions" in results[name]["cli"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_mixed_bfloat16_policy_trains_and_samples_with_float32_likelihoods(name):
    # Under `mixed_bfloat16` the network computes in bfloat16 (about 2-3x
    # faster on CPUs with AVX512-BF16); loss, likelihood and samples stay
    # float32 and agree with a float32 copy of the same weights.
    keras.config.set_dtype_policy("mixed_bfloat16")
    mixed = _make(name)
    images, labels = _data(mixed)
    inputs = _inputs(mixed, images, labels)
    assert mixed(inputs).dtype == "bfloat16"
    keras.config.set_dtype_policy("float32")
    exact = _make(name)
    exact.set_weights(mixed.get_weights())
    loss = mixed.compute_loss(inputs, y_pred=mixed(inputs))
    assert loss.dtype == "float32"
    np.testing.assert_allclose(
        float(loss), float(exact.compute_loss(inputs, y_pred=exact(inputs))), rtol=1e-2
    )
    np.testing.assert_allclose(
        mixed.log_likelihood(images, labels), exact.log_likelihood(images, labels),
        rtol=1e-2,
    )
    samples = mixed.generate(16, seed=0, labels=_labels(mixed, 16))
    assert samples.dtype == np.float32 and set(np.unique(samples)) <= {-1.0, 1.0}
    # bfloat16 logits flip a pixel now and then, no more.
    same = samples == exact.generate(16, seed=0, labels=_labels(exact, 16))
    assert same.mean() > 0.95
    before = [w.copy() for w in mixed.get_weights()]
    history = mixed.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(
        not np.array_equal(b, a) for b, a in zip(before, mixed.get_weights())
    )


# ----------------------------------------------------------------------
# Growing a trained PixelCNN: extra layers that start as the identity.
# ----------------------------------------------------------------------


def _deepened(name, num_layers=4):
    shallow = _make(name, compile=False)
    for weight in shallow.network.weights:  # Trained-like: no zero weights.
        weight.assign(weight + 0.2 * np.sign(weight.numpy() + 1e-3))
    deep = models.PixelCNN(
        image_shape=IMAGE_SHAPE, filters=4, num_layers=num_layers, kernel_size=3,
        gated=shallow.gated, num_classes=shallow.num_classes, seed=1,
    )
    deep.deepen_from(shallow)
    return shallow, deep


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_deepened_pixelcnn_computes_what_the_shallow_one_does_then_trains_on(name):
    shallow, deep = _deepened(name)
    images, labels = _data(deep, num_examples=6)
    np.testing.assert_allclose(
        deep.log_likelihood(images, labels), shallow.log_likelihood(images, labels),
        rtol=1e-5,
    )
    labels = _labels(deep, 4)
    np.testing.assert_array_equal(
        deep.generate(4, seed=3, labels=labels),
        shallow.generate(4, seed=3, labels=labels),
    )
    # The extra layers add zero through their residual convolution; the rest
    # of them keeps a random start, so that convolution gets gradients.
    network = deep.network
    extra = (
        [block.residual for block in network.blocks[2:]]
        if deep.gated else network.convolutions[2:]
    )
    for layer in extra:
        assert not any(np.any(w) for w in layer.get_weights())
    if deep.gated:
        assert all(np.any(b.vertical_conv.kernel.numpy()) for b in network.blocks[2:])
    before = [layer.get_weights()[0].copy() for layer in extra]
    deep.compile(optimizer=keras.optimizers.Adam(1e-2))
    deep.fit(*_data(deep), batch_size=4, epochs=2, verbose=0)
    for layer, start in zip(extra, before):
        assert np.any(layer.get_weights()[0] != start)


@pytest.mark.parametrize("change, message", [
    (dict(num_layers=3), "the source has 3 layers, this network 2"),
    (dict(filters=8), "same filters: this one has 4, the source 8"),
    (dict(gated=False), "same gated: this one has True, the source False"),
    (dict(num_classes=3), "same num_classes: this one has None, the source 3"),
])
def test_deepen_from_refuses_a_pixelcnn_it_cannot_grow(change, message):
    settings = dict(image_shape=IMAGE_SHAPE, filters=4, num_layers=2, kernel_size=3)
    deep = models.PixelCNN(**settings)
    with pytest.raises(ValueError, match=message):
        deep.deepen_from(models.PixelCNN(**{**settings, **change}))
    with pytest.raises(ValueError, match=message):  # The network checks too.
        deep.network.deepen_from(models.PixelCNN(**{**settings, **change}).network)
    with pytest.raises(ValueError, match="takes a PixelCNN, received RealNVP"):
        deep.deepen_from(models.RealNVP(image_shape=(8, 8, 1), num_scales=1, filters=4))
