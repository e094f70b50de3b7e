"""Recipe of the `ssgan_mnist` zoo entry: MNIST classification from 100 labels.

A semi-supervised GAN (Salimans et al. 2016, section 5) whose discriminator
is a 10-class classifier, trained on all 60,000 training images of which
100 are labeled (10 per digit, chosen with `--seed`; the labeled set is
cycled, 100 labeled + 100 unlabeled images per step, as in the paper).
The generator learns by feature matching.

Measured and written to the card:
- `test_accuracy`: the discriminator's classification accuracy on all
  10,000 MNIST test images (the paper reports 93 +- 6.5 errors, i.e.
  about 99.1%, with weight normalization and many more epochs);
- `baseline_test_accuracy`: a plain classifier of the same architecture
  (the discriminator's MLP with the same Gaussian noise), trained with the
  supervised loss only on the same 100 labels: what the unlabeled images
  and the generator add (and `baseline_best_test_accuracy`, its best test
  accuracy during training, an optimistic bar);
- sample quality of the generator (`keras_gen.metrics.evaluate`, 10,000
  samples against the test split; feature matching is known to give
  worse-looking samples than the usual GAN objective).

The model is checkpointed atomically every epoch (`--resume` continues,
optimizer state included); the test accuracy of every epoch goes to
`OUT/log.csv` (for monitoring only; the published model is the last one).

Version 2 is version 1's network with its weights stored as float16
(`--weights-dtype float16`, the preset: the 8.3 MB file was the zoo's
largest) and re-measured as stored.

    python zoo/recipes/ssgan_mnist.py --out runs/ssgan_mnist --epochs 30
    python zoo/recipes/ssgan_mnist.py --out runs/ssgan_mnist --epochs 30 --resume
    python zoo/recipes/ssgan_mnist.py --out runs/ssgan_mnist --evaluate-only --publish
"""

import argparse
import json
import os

import keras
import numpy as np
import tensorflow as tf

import keras_gen
from keras_gen import callbacks
from keras_gen import data
from keras_gen import metrics
from keras_gen import models
from keras_gen import networks
from recipe_common import CALIBRATION_NOTE
from recipe_common import DEFAULT_DATA_DIR
from recipe_common import add_weights_dtype_argument
from recipe_common import ROOT
from recipe_common import card_notes
from recipe_common import fit_checkpointed
from recipe_common import publish_entry
from recipe_common import read_train_seconds
from recipe_common import resume_or_build
from recipe_common import trained_model

PAPER = "Salimans et al. 2016, https://arxiv.org/abs/1606.03498"
NUM_CLASSES = 10
PRESET = {
    "entry": "ssgan_mnist",
    "version": 2,
    "description": (
        "An MNIST digit classifier trained with 100 labels: the discriminator "
        "of a semi-supervised GAN (its generator draws digits)."
    ),
    "epochs": 30,
    "num_labeled": 100,
    "batch_size": 100,
    "labeled_batch_size": 100,
    "lr": 3e-4,
    "beta_1": 0.5,
    "generator_objective": "feature_matching",
    "baseline_steps": 1000,
    "weights_dtype": "float16",
}
BASELINE_SETTINGS = (
    "num_labeled", "seed", "baseline_steps", "lr", "beta_1",
    "discriminator_units", "input_noise", "hidden_noise",
)


def build_model(args):
    model = models.SemiSupervisedGAN(
        image_shape=(28, 28, 1),
        num_label_classes=NUM_CLASSES,
        latent_dim=args.latent_dim,
        discriminator_units=args.discriminator_units,
        input_noise_stddev=args.input_noise,
        hidden_noise_stddev=args.hidden_noise,
        seed=args.seed,
    )
    model.compile(
        g_optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta_1),
        d_optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta_1),
        generator_objective=args.generator_objective,
    )
    return model


class TestAccuracy(keras.callbacks.Callback):
    """Adds the classifier's accuracy on the test images to the epoch logs."""

    def __init__(self, images, labels):
        super().__init__()
        self.images, self.labels = images, labels

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["test_accuracy"] = accuracy(self.model, self.images, self.labels)


def accuracy(model, images, labels):
    return float((model.predict_labels(images) == labels).mean())


def train(args, test_images, test_labels):
    model, epochs_done = resume_or_build(
        args.out, args.resume, args.seed, lambda: build_model(args)
    )
    dataset = data.semi_supervised(
        "mnist", num_labeled=args.num_labeled,
        unlabeled_batch_size=args.batch_size,
        labeled_batch_size=args.labeled_batch_size,
        seed=args.seed, data_dir=args.data_dir,
    )
    if args.steps_per_epoch:
        dataset = dataset.take(args.steps_per_epoch)
    fit_checkpointed(
        model, dataset, args.out, args.epochs, epochs_done,
        extra_callbacks=[TestAccuracy(test_images, test_labels)],
    )
    return model


def baseline_accuracy(args, test_images, test_labels):
    """Test accuracy of the same discriminator trained on the labels alone.

    The discriminator's network (same widths, same Gaussian noise) with
    its class logits as output, trained with softmax cross-entropy on the
    `num_labeled` labeled images only (all of them in every step, Adam
    with the GAN's learning rate) for `baseline_steps` steps. It fits the
    100 labels within a few hundred steps and then drifts (overfits), so
    besides the final accuracy this also returns the best of the ten
    evaluated every `baseline_steps // 10` steps: chosen on the test set,
    an optimistic figure for the baseline, the bar to beat. Cached in
    `OUT/baseline.json` for the same settings.

    Returns:
        dict: `baseline_test_accuracy` (after `baseline_steps`) and
        `baseline_best_test_accuracy`.
    """
    settings = {key: getattr(args, key) for key in BASELINE_SETTINGS}
    settings["discriminator_units"] = list(settings["discriminator_units"])
    path = os.path.join(args.out, "baseline.json")
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        if saved["settings"] == settings:
            return saved["results"]
    keras.utils.set_random_seed(args.seed)
    images, labels = data.labeled_subset(
        "mnist", args.num_labeled, seed=args.seed, data_dir=args.data_dir
    )
    network = networks.build_semi_supervised_discriminator(
        (28, 28, 1), NUM_CLASSES, args.discriminator_units,
        input_noise_stddev=args.input_noise,
        hidden_noise_stddev=args.hidden_noise,
    )
    classifier = keras.Model(network.inputs, network.outputs[0])
    classifier.compile(
        optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta_1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    chunk = max(args.baseline_steps // 10, 1)
    labeled = tf.data.Dataset.from_tensors((images, labels)).repeat(chunk)
    accuracies = []
    for _ in range(0, args.baseline_steps, chunk):
        classifier.fit(labeled, epochs=1, verbose=0, shuffle=False)
        logits = classifier.predict(test_images, batch_size=1000, verbose=0)
        accuracies.append(float((logits.argmax(axis=1) == test_labels).mean()))
    results = {
        "baseline_test_accuracy": accuracies[-1],
        "baseline_best_test_accuracy": max(accuracies),
    }
    with open(path, "w") as f:
        json.dump({"settings": settings, "results": results,
                   "accuracies": accuracies}, f, indent=2)
    return results


def score_and_publish(model, args, test_images, test_labels):
    epochs = callbacks.AtomicCheckpoint.epochs_done(args.out)
    path = os.path.join(args.out, "scores.json")
    scores = None
    if os.path.exists(path):
        with open(path) as f:
            scores = json.load(f)
        measured = (scores.get("epochs"), scores.get("num_samples"),
                    scores.get("weights_dtype", "float32"))
        if measured != (epochs, args.eval_samples, args.weights_dtype):
            scores = None
    if scores is None:
        scores = metrics.evaluate(
            model, num_samples=args.eval_samples, data_dir=args.data_dir
        )
        scores.update(
            test_accuracy=accuracy(model, test_images, test_labels),
            **baseline_accuracy(args, test_images, test_labels),
            num_labeled=args.num_labeled,
            train_seconds=read_train_seconds(args.out),
            epochs=epochs,
            weights_dtype=args.weights_dtype,
        )
        with open(path, "w") as f:
            json.dump(scores, f, indent=2)
    print(json.dumps(scores, indent=2))
    if args.publish:
        protocol = (
            f"Classification: `test_accuracy` is the discriminator's accuracy "
            f"(argmax of its 10 class logits) on all 10,000 MNIST test images, "
            f"after training with {args.num_labeled} labels "
            f"({args.num_labeled // NUM_CLASSES} per digit, seed {args.seed}) "
            f"and the 60,000 training images unlabeled; "
            f"`baseline_test_accuracy` is the same network trained on the "
            f"{args.num_labeled} labels alone ({args.baseline_steps} steps; "
            "`baseline_best_test_accuracy` is its best of ten evaluations "
            "during those steps, chosen on the test set, so optimistic). "
            "Salimans et al. (Table 1) report 93 +- 6.5 test errors with 100 "
            "labels, with weight normalization and much longer training. "
            "Classify with `model.classify(images)` / `predict_labels(images)` "
            "or the serving signature `classify`."
        )
        publish_entry(
            model, os.path.join(args.zoo_dir, args.entry),
            metadata={
                "version": args.version,
                "dataset": "mnist",
                "paper": PAPER,
                "metrics": scores,
                "description": args.description,
                "notes": card_notes(
                    args.entry, args.out, epochs,
                    extra=protocol + "\n\n" + CALIBRATION_NOTE,
                ),
            },
            samples=model.generate(100, seed=0),
            weights_dtype=args.weights_dtype,
        )
    return scores


def parser(preset):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--entry", default=preset["entry"])
    p.add_argument("--version", type=int, default=preset["version"])
    p.add_argument("--description", default=preset["description"])
    p.add_argument("--epochs", type=int, default=preset["epochs"])
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="shorter epochs (default: one pass over the 60,000 images)")
    p.add_argument("--num-labeled", type=int, default=preset["num_labeled"])
    p.add_argument("--batch-size", type=int, default=preset["batch_size"],
                   help="unlabeled images per step")
    p.add_argument("--labeled-batch-size", type=int,
                   default=preset["labeled_batch_size"],
                   help="labeled images per step")
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--discriminator-units", type=int, nargs="+",
                   default=[1000, 500, 250, 250, 250])
    p.add_argument("--input-noise", type=float, default=0.3)
    p.add_argument("--hidden-noise", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=preset["lr"])
    p.add_argument("--beta-1", type=float, default=preset["beta_1"])
    p.add_argument("--generator-objective", default=preset["generator_objective"],
                   choices=models.SemiSupervisedGAN.GENERATOR_OBJECTIVES)
    p.add_argument("--baseline-steps", type=int, default=preset["baseline_steps"])
    p.add_argument("--seed", type=int, default=0,
                   help="chooses the labels and seeds everything else")
    p.add_argument("--eval-samples", type=int, default=10_000)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--evaluate-only", action="store_true")
    p.add_argument("--publish", action="store_true",
                   help="save the scored model as the zoo entry")
    p.add_argument("--zoo-dir", default=os.path.join(ROOT, "zoo"),
                   help="where --publish writes the entry")
    return add_weights_dtype_argument(p, preset)


def main(preset=PRESET, argv=None):
    args = parser(preset).parse_args(argv)
    args.discriminator_units = tuple(args.discriminator_units)
    test_images, test_labels = data.load_arrays("mnist", with_labels=True, data_dir=args.data_dir)
    model = trained_model(
        args, lambda args: train(args, test_images, test_labels)
    )
    print(f"keras-gen {keras_gen.__version__}")
    return score_and_publish(model, args, test_images, test_labels)


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
