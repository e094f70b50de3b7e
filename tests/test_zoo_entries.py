"""Every shipped zoo entry loads, samples, reloads and exports.

Parametrized over `keras_gen.zoo.list_entries()`, so a new entry is tested
without anyone adding a test.
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_gen import zoo

ENTRIES = zoo.list_entries()


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_loads_samples_reloads_and_exports(name, tmp_path):
    entry = zoo.get_entry(name)  # Verifies every file's sha256.
    assert entry.metrics, f"{name} records no measured metrics"
    model = zoo.load(name)
    assert type(model).__name__ == entry.model_class
    assert list(model.data_shape) == entry.image_shape
    assert entry.parameters == sum(
        network.count_params() for network in model.networks.values()
    )
    labels = np.arange(8) % model.num_classes if model.is_conditional else None
    samples = model.generate(8, seed=0, labels=labels)
    assert samples.shape == (8, *model.data_shape)
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    np.testing.assert_allclose(
        zoo.load(name).generate(8, seed=0, labels=labels), samples, atol=1e-6
    )
    path = zoo.export(name, tmp_path)
    signatures = tf.saved_model.load(path).signatures
    inputs = {"num_samples": tf.constant(8), "seed": tf.constant(0)}
    if model.is_conditional:
        inputs["label"] = tf.constant(labels, tf.int32)
    served = signatures["sample"](**inputs)["images"].numpy()
    np.testing.assert_allclose(served, samples, atol=1e-4)


def test_shipped_weights_stay_under_the_40_mb_budget():
    # Issue 5: all shipped weights together (every entry's files and the
    # metrics' MNIST classifier) under 40 MB.
    import os

    from keras_gen import metrics

    sizes = {}
    for name in ENTRIES:
        directory = zoo.resolve(name)
        sizes[name] = sum(
            os.path.getsize(os.path.join(directory, file_name))
            for file_name in os.listdir(directory)
        )
    total = sum(sizes.values()) + os.path.getsize(metrics.classifier.WEIGHTS_PATH)
    assert total < 40e6, f"{total / 1e6:.1f} MB shipped: {sizes}"


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_has_a_row_in_the_readme_table(name):
    # The README's table of shipped entries is what users read first.
    import os

    readme = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")
    with open(readme) as f:
        rows = [line for line in f if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"README.md has {len(rows)} table rows for {name}"
