"""Recipe: the MNIST classifier whose features score generated digits.

Trains `keras_gen.metrics.classifier.build_mnist_classifier` on the 60,000
MNIST training images (small random shifts as augmentation), reports test
accuracy, and writes the weights into the package
(`keras_gen/metrics/weights/mnist_classifier.weights.h5`).

    python zoo/recipes/mnist_classifier.py [--epochs 4] [--data-dir DIR]
"""

import argparse
import json
import os
import time

import keras
import numpy as np

from keras_gen import data
from keras_gen.metrics import classifier
from keras_gen.utils import files
from recipe_common import DEFAULT_DATA_DIR



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", default=classifier.WEIGHTS_PATH)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    augment = keras.Sequential([keras.layers.RandomTranslation(0.08, 0.08, fill_value=-1.0)])
    train = data.load(
        "mnist", batch_size=128, with_labels=True, data_dir=args.data_dir,
        seed=args.seed,
    ).map(lambda x, y: (augment(x, training=True), y))
    test = data.load(
        "mnist", split="test", batch_size=1000, with_labels=True,
        data_dir=args.data_dir,
    )
    model = classifier.build_mnist_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(1e-3, args.epochs * 469)
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(train, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(test, verbose=0)
    print(json.dumps({"test_accuracy": accuracy, "train_seconds": seconds,
                      "parameters": model.count_params()}))
    # A fresh, uncompiled copy: save_weights of a compiled model also writes
    # the optimizer's state, three times the size of what is needed.
    shipped = classifier.build_mnist_classifier()
    shipped.set_weights(model.get_weights())
    with files.atomic_path(args.out, suffix=".weights.h5") as temporary:
        shipped.save_weights(temporary)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")
    return accuracy


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
