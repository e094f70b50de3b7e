"""Recipe of the `pixelcnn_mnist` zoo entry: a gated PixelCNN on binarized MNIST.

Protocol (the standard one for binarized MNIST likelihoods, as in
`vae_recipe.py`):
- train on the 60,000 training images, binarized anew every epoch (each
  pixel ~ Bernoulli(intensity), "dynamic binarization");
- evaluate on the 10,000 test images binarized once with seed 0
  (`keras_gen.metrics.binarized_test_images`);
- report the test NLL = -mean log p(x), which for a PixelCNN is exact (no
  bound, no importance sampling), in nats and bits per dimension.

The default network is the gated PixelCNN (van den Oord et al. 2016b):
a 7x7 first layer, 11 gated 3x3 layers, 64 channels (about 1M weights),
Adam 1e-3 cosine-decayed over 30 epochs, batch 64. The literature reports
about 81 nats for PixelCNNs on this protocol (81.3 nats, van den Oord et al.
2016a); this configuration is expected to get there, but has not been
trained to the end yet: measured on 2 CPUs shared with other training jobs,
a step takes about 6 s, an epoch (937 steps) about 95 minutes, so the 30
epochs take about two days.

    python zoo/recipes/pixelcnn_mnist.py --out runs/pixelcnn
    python zoo/recipes/pixelcnn_mnist.py --out runs/pixelcnn --resume
    python zoo/recipes/pixelcnn_mnist.py --out runs/pixelcnn --evaluate-only --publish
    # A smoke run: a few steps, a few test images.
    python zoo/recipes/pixelcnn_mnist.py --out /tmp/pcnn --epochs 1 \\
        --steps-per-epoch 3 --eval-examples 200

The model is checkpointed atomically after every epoch (`--resume`
continues, the learning-rate schedule included); results go to
`OUT/results_n<N>.json`. With `--publish` the model is scored on the full
test set (reusing that file when it is of the last epoch) and by
`keras_gen.metrics.evaluate` on `--score-samples` samples (sampling is
sequential: about 6 s per 64 samples here), and saved as the zoo entry
`zoo/<entry>/` without optimizer state. MNIST is read from `--data-dir`
(default `KERAS_GEN_DATA_DIR`, else `../shared/data` beside the repository).
"""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf

import keras_gen
from keras_gen import callbacks
from keras_gen import data
from keras_gen import metrics
from keras_gen import models
from keras_gen import zoo
from keras_gen.utils import images
from recipe_common import DEFAULT_DATA_DIR
from recipe_common import ROOT
from recipe_common import add_train_seconds
from recipe_common import read_train_seconds

TRAIN_EXAMPLES = 60_000
PAPER = (
    "van den Oord et al. 2016, Conditional Image Generation with PixelCNN "
    "Decoders, https://arxiv.org/abs/1606.05328"
)
PRESET = {
    "entry": "pixelcnn_mnist",
    "version": 1,
    "description": (
        "28x28 binarized MNIST digits from a gated PixelCNN; exact test NLL."
    ),
    "filters": 64,
    "num_layers": 12,
    "kernel_size": 7,
    "hidden_kernel_size": 3,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "epochs": 30,
}
SETTINGS = (
    "gated", "filters", "num_layers", "kernel_size", "hidden_kernel_size",
    "batch_size", "learning_rate", "epochs", "seed",
)


def build_model(args, steps_per_epoch):
    model = models.PixelCNN(
        image_shape=(28, 28, 1),
        gated=args.gated,
        filters=args.filters,
        num_layers=args.num_layers,
        kernel_size=args.kernel_size,
        hidden_kernel_size=args.hidden_kernel_size,
        seed=args.seed,
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        args.learning_rate, decay_steps=args.epochs * steps_per_epoch, alpha=0.02
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    return model


def _binarize_images(batch):
    return data.binarize(batch)


def train(args):
    steps_per_epoch = args.steps_per_epoch or TRAIN_EXAMPLES // args.batch_size
    checkpoint = os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
    epochs_done = callbacks.AtomicCheckpoint.epochs_done(args.out)
    if args.resume and os.path.exists(checkpoint):
        model = keras.saving.load_model(checkpoint)
        print(f"resuming after epoch {epochs_done}")
    else:
        epochs_done = 0
        keras.utils.set_random_seed(args.seed)
        model = build_model(args, steps_per_epoch)
    train_set = data.load(
        "mnist", batch_size=args.batch_size, data_dir=args.data_dir,
        seed=args.seed, drop_remainder=True,
    ).map(_binarize_images, num_parallel_calls=tf.data.AUTOTUNE)
    if args.steps_per_epoch:
        train_set = train_set.take(args.steps_per_epoch)
    start = time.perf_counter()
    model.fit(
        train_set,
        epochs=args.epochs,
        initial_epoch=epochs_done,
        callbacks=[
            callbacks.AtomicCheckpoint(args.out),
            keras.callbacks.CSVLogger(os.path.join(args.out, "log.csv"), append=True),
        ],
        verbose=2,
    )
    add_train_seconds(args.out, time.perf_counter() - start)
    return model


def _results_path(args, num_examples):
    return os.path.join(args.out, f"results_n{num_examples}.json")


def evaluate(model, args, num_examples=None):
    """The exact test NLL on the binarized test set (first N images if set)."""
    test_images = metrics.binarized_test_images("mnist", args.data_dir, num_examples)
    start = time.perf_counter()
    log_px = model.log_likelihood(test_images)
    results = {
        "test_nll_nats": float(-log_px.mean()),
        "test_nll_stderr": float(log_px.std() / np.sqrt(len(log_px))),
        "bits_per_dim": metrics.nats_to_bits_per_dim(
            float(-log_px.mean()), test_images[0].size
        ),
        "eval_examples": len(test_images),
        "eval_seconds": time.perf_counter() - start,
        "train_seconds": read_train_seconds(args.out),
        "epochs": callbacks.AtomicCheckpoint.epochs_done(args.out),
        "settings": {key: getattr(args, key) for key in SETTINGS},
        "parameters": model.count_params(),
        "keras_gen": keras_gen.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    with open(_results_path(args, len(test_images)), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))
    return results


def publish(model, args):
    """Scores on the test set and saves the zoo entry `<zoo-dir>/<entry>/`.

    The likelihood comes from `OUT/results_n<N>.json` when `evaluate` wrote
    it after the last epoch (the full test set takes a few CPU-minutes).
    """
    full = _results_path(args, args.eval_examples or 10_000)
    likelihood = None
    if os.path.exists(full):
        with open(full) as f:
            likelihood = json.load(f)
        # Stale if the model trained on after it was written.
        if likelihood["epochs"] != callbacks.AtomicCheckpoint.epochs_done(args.out):
            likelihood = None
    if likelihood is None:
        likelihood = evaluate(model, args, args.eval_examples)
    scores = metrics.evaluate(
        model, num_samples=args.score_samples, data_dir=args.data_dir,
        likelihood=False,
    )
    scores.update(
        nll_nats=likelihood["test_nll_nats"],
        nll_stderr=likelihood["test_nll_stderr"],
        bits_per_dim=likelihood["bits_per_dim"],
        nll_exact=True,
        train_seconds=likelihood["train_seconds"],
    )
    print(json.dumps(scores, indent=2))
    grid = images.image_grid(model.generate(100, seed=0), columns=10)
    entry = zoo.save(
        model,
        os.path.join(args.zoo_dir, args.entry),
        metadata={
            "version": args.version,
            "dataset": "mnist (dynamically binarized)",
            "paper": PAPER,
            "license": "Apache-2.0 (weights); MNIST is CC BY-SA 3.0",
            "metrics": scores,
            "description": args.description,
        },
        samples_png=tf.io.encode_png(grid).numpy(),
        overwrite=True,
        optimizer_state=False,
    )
    print(f"published zoo/{entry.name} (version {entry.version})")
    return scores


def parser(preset):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--entry", default=preset["entry"])
    p.add_argument("--version", type=int, default=preset["version"])
    p.add_argument("--description", default=preset["description"])
    p.add_argument("--epochs", type=int, default=preset["epochs"])
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=preset["batch_size"])
    p.add_argument("--masked", dest="gated", action="store_false",
                   help="the masked PixelCNN (with its blind spot), not the gated one")
    p.add_argument("--filters", type=int, default=preset["filters"])
    p.add_argument("--num-layers", type=int, default=preset["num_layers"])
    p.add_argument("--kernel-size", type=int, default=preset["kernel_size"])
    p.add_argument("--hidden-kernel-size", type=int,
                   default=preset["hidden_kernel_size"])
    p.add_argument("--learning-rate", type=float, default=preset["learning_rate"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--evaluate-only", action="store_true")
    p.add_argument("--eval-examples", type=int, default=None,
                   help="evaluate on the first N test images (default all)")
    p.add_argument("--score-samples", type=int, default=10_000,
                   help="samples scored by keras_gen.metrics.evaluate on --publish")
    p.add_argument("--publish", action="store_true",
                   help="score on the full test set and save the zoo entry")
    p.add_argument("--zoo-dir", default=os.path.join(ROOT, "zoo"),
                   help="where --publish writes the entry")
    return p


def main(preset=PRESET, argv=None):
    args = parser(preset).parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.evaluate_only:
        model = keras.saving.load_model(
            os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
        )
    else:
        model = train(args)
    if args.publish:
        return publish(model, args)
    return evaluate(model, args, args.eval_examples)


if __name__ == "__main__":
    main()
