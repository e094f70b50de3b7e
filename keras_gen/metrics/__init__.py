"""Measuring generative models."""

from keras_gen.metrics.modes import mode_coverage
