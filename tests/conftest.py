"""Test configuration shared by every test module.

Two logical CPU devices are created before TensorFlow initializes, so the
`tf.distribute.MirroredStrategy` tests can run on a CPU-only machine.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)


import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_dtype_policy():
    """A test (or recipe) that sets the global dtype policy does not leak it."""
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)
