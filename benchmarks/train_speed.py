"""Training speed of the GAN family on MNIST: images per second with `fit`.

Measures DCGAN and WGAN-GP (and any other model named on the command line)
at batch 64 on real MNIST, read from the IDX files in `../shared/data/mnist`
(or `KERAS_GEN_DATA_DIR`). The first epoch (tracing, warm-up) is not timed;
the next ones are. Prints a table and writes JSON.

    python benchmarks/train_speed.py [--models dcgan wgan_gp] [--steps 100]
"""

import argparse
import os
import time

import keras

import keras_gen
from keras_gen import models

import results_file  # benchmarks/results_file.py

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA_DIR = os.path.join(HERE, "..", "..", "shared", "data")

MODELS = {
    "gan": lambda: models.GAN(data_shape=(28, 28, 1)),
    "dcgan": lambda: models.DCGAN(),
    "wgan": lambda: models.WGAN(),
    "wgan_gp": lambda: models.WGANGP(),
    "conditional_gan": lambda: models.ConditionalGAN(),
}


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = getattr(self, "seconds", []) + [time.perf_counter() - self.start]


def measure(name, data_dir, batch_size, steps, epochs):
    model = MODELS[name]()
    model.compile()
    dataset = keras_gen.data.load(
        "mnist", batch_size=batch_size, data_dir=data_dir,
        with_labels=model.is_conditional, drop_remainder=True,
    ).take(steps).cache()
    timer = EpochTimer()
    model.fit(dataset, epochs=epochs + 1, callbacks=[timer], verbose=0)
    timed = timer.seconds[1:]
    seconds_per_step = min(timed) / steps
    return {
        "model": name,
        "batch_size": batch_size,
        "d_steps": model.d_steps,
        "parameters": model.generator.count_params()
        + model.discriminator.count_params(),
        "train_steps_per_second": 1 / seconds_per_step,
        "images_per_second": batch_size / seconds_per_step,
        "warmup_epoch_seconds": timer.seconds[0],
        "timed_epoch_seconds": timed,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["dcgan", "wgan_gp"],
                        choices=sorted(MODELS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100,
                        help="train steps per timed epoch")
    parser.add_argument("--epochs", type=int, default=2,
                        help="timed epochs (the fastest is reported)")
    parser.add_argument("--data-dir", default=os.environ.get(
        "KERAS_GEN_DATA_DIR", DEFAULT_DATA_DIR))
    parser.add_argument("--out", default=os.path.join(
        HERE, "results", "train_speed.json"))
    args = parser.parse_args()

    results = [
        measure(name, args.data_dir, args.batch_size, args.steps, args.epochs)
        for name in args.models
    ]
    print(f"{'model':<16}{'d_steps':>8}{'params':>12}{'steps/s':>10}{'images/s':>10}")
    for r in results:
        print(f"{r['model']:<16}{r['d_steps']:>8}{r['parameters']:>12,}"
              f"{r['train_steps_per_second']:>10.1f}{r['images_per_second']:>10.0f}")
    results_file.write(args.out, "train_speed", dataset="mnist", results=results)


if __name__ == "__main__":
    main()
