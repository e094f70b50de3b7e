"""keras-gen: a Keras 3 / TensorFlow model zoo for generative models."""

import os

# TensorFlow's C++ start-up chatter says nothing a keras-gen user can act on.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_gen import callbacks  # noqa: E402
from keras_gen import data  # noqa: E402
from keras_gen import losses  # noqa: E402
from keras_gen import metrics  # noqa: E402
from keras_gen import models  # noqa: E402
from keras_gen import networks  # noqa: E402
from keras_gen import serving  # noqa: E402
from keras_gen import zoo  # noqa: E402
from keras_gen.version import __version__  # noqa: E402
