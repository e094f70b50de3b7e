"""Measuring generative models: sample quality, likelihood, mode coverage."""

from keras_gen.metrics.classifier import MNISTClassifier
from keras_gen.metrics.classifier import classifier_score
from keras_gen.metrics.distances import frechet_distance
from keras_gen.metrics.distances import kernel_inception_distance
from keras_gen.metrics.distances import precision_recall
from keras_gen.metrics.evaluate import binarized_test_images
from keras_gen.metrics.evaluate import evaluate
from keras_gen.metrics.inception import InceptionFeatures
from keras_gen.metrics.inception import frechet_inception_distance
from keras_gen.metrics.matching import matched_accuracy
from keras_gen.metrics.evaluate import nats_to_bits_per_dim
from keras_gen.metrics.modes import mode_coverage
