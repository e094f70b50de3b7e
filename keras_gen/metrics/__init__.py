"""Measuring generative models: distances between feature sets, mode coverage."""

from keras_gen.metrics.distances import frechet_distance
from keras_gen.metrics.distances import kernel_inception_distance
from keras_gen.metrics.distances import precision_recall
from keras_gen.metrics.modes import mode_coverage
