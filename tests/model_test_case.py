"""The contract every keras-gen model keeps, as reusable checks.

A model's test file gives a tiny config and calls these, so every model is
held to the same bar: it trains, generates, saves and reloads with its
optimizer state, trains identically under `tf.distribute`, and rejects bad
input with a clear error.
"""

import functools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf


def _network_weights(model):
    """Each network's weights (generator and discriminator, encoder and ...)."""
    return {
        name: [w.numpy().copy() for w in network.weights]
        for name, network in model.networks.items()
    }


def _optimizers(model):
    if hasattr(model, "g_optimizer"):
        return {"g_optimizer": model.g_optimizer, "d_optimizer": model.d_optimizer}
    return {"optimizer": model.optimizer}


def _compile_with_sgd(model, learning_rate):
    if hasattr(model, "g_optimizer"):
        model.compile(
            g_optimizer=keras.optimizers.SGD(learning_rate),
            d_optimizer=keras.optimizers.SGD(learning_rate),
        )
    else:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate))


def _fit_one_epoch(model, data):
    images, labels = data
    return model.fit(
        images, labels, batch_size=len(images), epochs=1, shuffle=False, verbose=0
    )


def run_train_test(model, data, expected_metrics):
    """`fit` runs, reports finite epoch means, and changes every network."""
    before = _network_weights(model)
    history = _fit_one_epoch(model, data).history
    assert set(expected_metrics) <= set(history), history
    for name in expected_metrics:
        assert np.isfinite(history[name][-1]), (name, history)
    after = _network_weights(model)
    for network in model.networks:
        changed = [
            not np.array_equal(b, a)
            for b, a in zip(before[network], after[network])
        ]
        assert any(changed), f"the {network} did not change"
    return history


def run_generate_test(model, labels=None):
    """`generate` gives float32 data of the right shape; seeds repeat."""
    samples = model.generate(5, seed=3, labels=labels)
    assert samples.dtype == np.float32
    assert samples.shape == (5, *model.data_shape)
    if model.is_image_model:
        assert samples.min() >= -1.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.generate(5, seed=3, labels=labels))
    assert not np.array_equal(samples, model.generate(5, seed=4, labels=labels))
    # Unseeded draws come from the model's generator and differ call to call.
    assert not np.array_equal(
        model.generate(5, labels=labels), model.generate(5, labels=labels)
    )


def run_saving_test(model, data, tmp_path, labels=None):
    """Saved and reloaded, the model is the same and trains on identically.

    The reloaded model's samples, compile settings and both optimizers' state
    equal the original's, and its next training step gives the same weights
    as the next step of the model that was never saved.
    """
    _fit_one_epoch(model, data)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    assert restored.get_compile_config() == model.get_compile_config()
    np.testing.assert_allclose(
        restored.generate(4, seed=0, labels=labels),
        model.generate(4, seed=0, labels=labels),
        atol=1e-6,
    )
    for name, original in _optimizers(model).items():
        reloaded = _optimizers(restored)[name]
        assert int(original.iterations.numpy()) > 0
        assert len(original.variables) == len(reloaded.variables)
        for a, b in zip(original.variables, reloaded.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    _fit_one_epoch(model, data)
    _fit_one_epoch(restored, data)
    for name, network in model.networks.items():
        for a, b in zip(network.weights, restored.networks[name].weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


@functools.lru_cache(maxsize=None)
def _strategies():
    """One-device and two-replica strategies, made once per process.

    TensorFlow's collective ops key their instances per strategy; several
    MirroredStrategy objects in one process can collide ("Shape mismatch in
    the collective instance"), so every test shares these.
    """
    devices = tf.config.list_logical_devices("CPU")
    return (
        tf.distribute.OneDeviceStrategy("/cpu:0"),
        tf.distribute.MirroredStrategy([d.name for d in devices[:2]]),
    )


def run_distribute_test(make_model, data):
    """One step on a global batch: same update with 1 and 2 replicas.

    `make_model()` must build the model; it is called inside each strategy's
    scope, gets the same initial weights and seed, and is compiled with SGD:
    an SGD update is proportional to the gradient, so a loss scaled wrongly
    for the number of replicas shows (Adam's update would hide it, and its
    sign-like first step turns float noise in near-zero gradients into
    lr-sized differences).
    """
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (see tests/conftest.py)")
    images, labels = data
    results = []
    initial = None
    for strategy in _strategies():
        with strategy.scope():
            model = make_model()
            _compile_with_sgd(model, 0.01)
        if initial is None:
            initial = model.get_weights(), _network_weights(model)
        model.set_weights(initial[0])
        dataset = tf.data.Dataset.from_tensor_slices(
            images if labels is None else (images, labels)
        ).batch(len(images))
        history = model.fit(dataset, epochs=1, verbose=0).history
        results.append((history, _network_weights(model)))
    (history_1, weights_1), (history_2, weights_2) = results
    for name in history_1:
        np.testing.assert_allclose(
            history_1[name], history_2[name], rtol=1e-4, atol=1e-6
        )
    # Compare the updates, not the weights: a wrong scale changes them all.
    for network, start in initial[1].items():
        for w0, w1, w2 in zip(start, weights_1[network], weights_2[network]):
            update_1, update_2 = w1 - w0, w2 - w0
            np.testing.assert_allclose(
                update_2, update_1, rtol=1e-3,
                atol=1e-3 * np.abs(update_1).max() + 1e-7,
            )


def run_bad_input_test(model, data):
    """Bad data is refused before training with a clear `ValueError`."""
    images, labels = data
    wrong_shape = np.zeros((4, *[d + 1 for d in model.data_shape]), "float32")
    with pytest.raises(ValueError, match="shape"):
        model.fit(wrong_shape, labels, epochs=1, verbose=0)
    # The inputs of call() for a conditional model, [images, labels], are
    # not fit()'s x.
    with pytest.raises(ValueError, match=r"takes the data alone as x.*received x as a list"):
        model.fit([images, labels if labels is not None else images], epochs=1, verbose=0)
    if model.is_image_model:
        with pytest.raises(ValueError, match=r"\[-1, 1\]"):
            model.fit(images * 127.5 + 127.5, labels, epochs=1, verbose=0)
    if model.is_conditional:
        with pytest.raises(ValueError, match="labels"):
            model.fit(images, epochs=1, verbose=0)
        with pytest.raises(ValueError, match="labels"):
            dataset = tf.data.Dataset.from_tensor_slices(images).batch(4)
            model.fit(dataset, epochs=1, verbose=0)
        bad = np.full_like(labels, model.num_classes)
        with pytest.raises(ValueError, match="num_classes"):
            model.fit(images, bad, epochs=1, verbose=0)
        with pytest.raises(ValueError, match="labels"):
            model.generate(2)
        with pytest.raises(ValueError, match="num_classes"):
            model.generate(2, labels=[0, model.num_classes])
    else:
        with pytest.raises(ValueError, match="unconditional"):
            model.generate(2, labels=[0, 1])
    with pytest.raises(ValueError, match="num_samples"):
        model.generate(0)
