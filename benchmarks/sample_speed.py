"""Sampling speed: seconds to generate 64 images from every zoo entry, and
what PixelCNN's cached sampler saves over recomputing the network per pixel.

For each entry (loaded offline from the installed zoo), `generate(64)` is
called once to trace it, then timed `--repeats` times; the median is
reported. PixelCNN samples pixel by pixel: its sampler keeps every layer's
state and computes only what one new pixel adds (`PixelCNNNetwork.sample`).
The baseline it is compared with runs the whole network on the whole image
once per pixel (784 passes for MNIST); that baseline is timed on the first
`--naive-rows` rows and scaled to the full image, and its pixels are checked
to equal the cached sampler's for the same noise. Without a `pixelcnn_mnist`
entry the recipe's default network (random weights) is measured instead.

    python benchmarks/sample_speed.py [--entries dcgan_mnist pixelcnn_mnist]
"""

import argparse
import math
import os
import statistics
import time

import numpy as np
import tensorflow as tf

from keras_gen import models
from keras_gen import zoo

import results_file  # benchmarks/results_file.py

HERE = os.path.dirname(os.path.abspath(__file__))
NUM_SAMPLES = 64


def _median_seconds(function, repeats):
    """`(median seconds of repeats calls, the last call's result)`."""
    result = function()  # Traces and warms up.
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def entry_speed(name, repeats):
    model = zoo.load(name, compile=False)
    labels = (
        np.arange(NUM_SAMPLES) % model.num_classes if model.is_conditional else None
    )
    seconds, _ = _median_seconds(
        lambda: model.generate(NUM_SAMPLES, seed=0, labels=labels), repeats
    )
    return {
        "entry": name,
        "model_class": type(model).__name__,
        "parameters": model.count_params(),
        "seconds_for_64": seconds,
        "images_per_second": NUM_SAMPLES / seconds,
    }


def _default_pixelcnn():
    return models.PixelCNN(
        image_shape=(28, 28, 1), gated=True, filters=32, num_layers=12,
        kernel_size=7, hidden_kernel_size=3, seed=0,
    )


def naive_pixelcnn_speed(model, rows, repeats):
    """Whole-network-per-pixel sampling of `rows` rows, against the cached
    sampler on the same noise; seconds scaled to the whole image."""
    if model.is_conditional:
        raise ValueError("the naive baseline is written for unconditional PixelCNNs")
    height, width, channels = model.data_shape
    if channels != 1:
        raise ValueError("the naive baseline is written for one-channel images")
    noise = tf.random.stateless_normal((NUM_SAMPLES, model.latent_dim), (0, 0))
    uniform = 0.5 * tf.math.erfc(-noise / math.sqrt(2.0))
    thresholds = tf.math.log(uniform) - tf.math.log1p(-uniform)
    pixels = rows * width

    @tf.function
    def naive(thresholds):
        images = tf.zeros((NUM_SAMPLES, height * width))
        for index in tf.range(pixels):
            logits = model.network(tf.reshape(images, (-1, height, width, 1)))
            logit = tf.reshape(tf.cast(logits, tf.float32), (NUM_SAMPLES, -1))[:, index]
            pixel = tf.where(thresholds[:, index] < logit, 1.0, -1.0)
            images = tf.tensor_scatter_nd_update(
                tf.transpose(images), [[index]], pixel[None]
            )
            images = tf.transpose(images)
        return images

    seconds, naive_images = _median_seconds(
        lambda: naive(thresholds).numpy(), repeats
    )
    naive_pixels = naive_images[:, :pixels]
    cached = model.sample_from_noise(noise).numpy().reshape(NUM_SAMPLES, -1)
    agreement = float((naive_pixels == cached[:, :pixels]).mean())
    return {
        "naive_rows_timed": rows,
        "naive_seconds_timed": seconds,
        "naive_seconds_for_64_estimated": seconds * height / rows,
        "naive_pixels_equal_cached": agreement,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", nargs="+", default=None,
                        help="zoo entries (default: every installed entry)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=2,
                        help="rows of the naive PixelCNN baseline to time")
    parser.add_argument("--out", default=os.path.join(
        HERE, "results", "sample_speed.json"))
    args = parser.parse_args()

    names = args.entries or zoo.list_entries()
    results = [entry_speed(name, args.repeats) for name in names]
    print(f"{'entry':<18}{'class':<20}{'params':>12}{'s / 64':>10}{'images/s':>10}")
    for r in results:
        print(f"{r['entry']:<18}{r['model_class']:<20}{r['parameters']:>12,}"
              f"{r['seconds_for_64']:>10.3f}{r['images_per_second']:>10.1f}")

    if "pixelcnn_mnist" in zoo.list_entries():
        source, pixelcnn = "pixelcnn_mnist", zoo.load("pixelcnn_mnist", compile=False)
    else:
        source, pixelcnn = "default network, random weights", _default_pixelcnn()
    cached, _ = _median_seconds(
        lambda: pixelcnn.generate(NUM_SAMPLES, seed=0), args.repeats
    )
    naive = naive_pixelcnn_speed(pixelcnn, args.naive_rows, args.repeats)
    pixelcnn_result = {
        "model": source,
        "cached_seconds_for_64": cached,
        **naive,
        "speedup": naive["naive_seconds_for_64_estimated"] / cached,
    }
    print(f"PixelCNN ({source}), 64 images: cached sampler {cached:.2f} s; "
          f"whole network per pixel ~{naive['naive_seconds_for_64_estimated']:.0f} s "
          f"({args.naive_rows} rows timed, pixels equal: "
          f"{naive['naive_pixels_equal_cached']:.4f}); "
          f"{pixelcnn_result['speedup']:.0f}x")

    results_file.write(
        args.out, "sample_speed", num_samples=NUM_SAMPLES, results=results,
        pixelcnn=pixelcnn_result,
    )


if __name__ == "__main__":
    main()
