"""Calibration of the MNIST sample-quality metrics: what good and bad score.

Scores, against the MNIST test split (with `keras_gen.metrics.evaluate`):
(a) 10,000 training images (the floor a perfect model reaches),
(b) the same images with Gaussian noise of std 0.1 (in [-1, 1] units) and
    with a 3x3 box blur,
(c) uniform noise in [-1, 1] (the ceiling).
Prints a table and writes JSON; every model number is read against it.

    python benchmarks/calibration.py [--data-dir DIR]
"""

import argparse
import json
import os

import numpy as np
import tensorflow as tf

from keras_gen import data
from keras_gen import metrics

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA_DIR = os.environ.get(
    "KERAS_GEN_DATA_DIR", os.path.join(HERE, "..", "..", "shared", "data")
)
COLUMNS = ("fid", "kid", "classifier_score", "precision", "recall")


def box_blur(images):
    """3x3 mean filter with edge padding."""
    kernel = tf.ones((3, 3, 1, 1)) / 9.0
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    return tf.nn.conv2d(padded, kernel, strides=1, padding="VALID").numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "calibration.json"))
    args = parser.parse_args()

    train = data.load("mnist", batch_size=10_000, data_dir=args.data_dir, seed=0)
    images = next(iter(train)).numpy()
    rng = np.random.default_rng(0)
    rows = {
        "train images (floor)": images,
        "+ Gaussian noise, std 0.1": np.clip(
            images + rng.normal(0, 0.1, images.shape), -1, 1
        ).astype("float32"),
        "3x3 box blur": box_blur(images),
        "uniform noise (ceiling)": rng.uniform(-1, 1, images.shape).astype("float32"),
    }
    classifier = metrics.MNISTClassifier()
    results = {
        name: metrics.evaluate(
            rows_images, data_dir=args.data_dir, classifier=classifier
        )
        for name, rows_images in rows.items()
    }
    print(f"| {'images (10,000)':<28} | " + " | ".join(f"{c:>16}" for c in COLUMNS) + " |")
    print("|" + "---|" * (len(COLUMNS) + 1))
    for name, scores in results.items():
        print(f"| {name:<28} | " + " | ".join(f"{scores[c]:>16.4f}" for c in COLUMNS) + " |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
