"""Shared recipe for the VAE zoo entries on binarized MNIST: train, score, publish.

Protocol (the standard one for binarized MNIST likelihoods):
- train on the 60,000 training images, binarized anew every epoch (each
  pixel ~ Bernoulli(intensity), "dynamic binarization");
- evaluate on the 10,000 test images binarized once with seed 0;
- report the test NLL = -mean log p(x) (log p(x | y) for the CVAE)
  estimated with the importance-weighted bound, K = 1000 samples per image
  (Burda et al. 2015), and the test ELBO.

Each entry's recipe (`vae_mnist.py`, `cvae_mnist.py`) calls `main()` with
its preset; every setting can also be given on the command line:

    python zoo/recipes/vae_mnist.py --out runs/vae --epochs 60
    python zoo/recipes/vae_mnist.py --out runs/vae --epochs 60 --resume
    python zoo/recipes/vae_mnist.py --out runs/vae_iwae --init-from runs/vae \\
        --objective iwae --num-samples 5 --epochs 20 --learning-rate 3e-4
    python zoo/recipes/vae_mnist.py --out runs/vae_iwae --evaluate-only --publish

`--init-from DIR` fine-tunes the model checkpointed in DIR with a fresh
optimizer and this run's objective and learning-rate schedule (how the
`vae_mnist` entry was made: 60 ELBO epochs, then IWAE fine-tuning); the
training time of DIR is added to this run's. The model is checkpointed
atomically after every epoch (`--resume` continues, the learning-rate
schedule included); results go to `OUT/results_k<K>_n<N>.json`. With
`--publish` the model is scored on the full test set (reusing that file
when it exists) and by `keras_gen.metrics.evaluate` on 10,000 samples, and
saved as the zoo entry `zoo/<entry>/`. MNIST is read from `--data-dir`
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
from keras_gen.networks import build_conv_decoder
from keras_gen.networks import build_conv_encoder
from keras_gen.utils import images
from recipe_common import CALIBRATION_NOTE
from recipe_common import DEFAULT_DATA_DIR
from recipe_common import card_notes
from recipe_common import cosine_adam
from recipe_common import fit_checkpointed
from recipe_common import ROOT
from recipe_common import add_train_seconds
from recipe_common import read_train_seconds
from recipe_common import resume_or_build
from recipe_common import trained_model

BATCH_SIZE = 100
TRAIN_EXAMPLES = 60_000
NUM_CLASSES = 10
PAPERS = {
    "vae": "Kingma & Welling 2013, https://arxiv.org/abs/1312.6114",
    "cvae": "Sohn et al. 2015, https://papers.nips.cc/paper/5775",
}
SETTINGS = (
    "model", "latent_dim", "encoder_filters", "decoder_filters", "hidden_units",
    "objective", "num_samples", "learning_rate", "epochs", "seed", "init_from",
)


def compile_model(model, args, steps_per_epoch):
    """Adam with a cosine-decayed learning rate over this run's epochs."""
    model.compile(
        optimizer=cosine_adam(args, steps_per_epoch),
        objective=args.objective,
        num_samples=args.num_samples,
    )
    return model


def build_model(args, steps_per_epoch):
    image_shape = (28, 28, 1)
    num_classes = NUM_CLASSES if args.model == "cvae" else None
    model_class = models.CVAE if num_classes else models.VAE
    extra = {"num_classes": num_classes} if num_classes else {}
    model = model_class(
        image_shape=image_shape,
        latent_dim=args.latent_dim,
        encoder=build_conv_encoder(
            image_shape, 2 * args.latent_dim, args.encoder_filters,
            hidden_units=args.hidden_units, num_classes=num_classes,
        ),
        decoder=build_conv_decoder(
            args.latent_dim, image_shape, args.decoder_filters,
            hidden_units=args.hidden_units, num_classes=num_classes,
        ),
        likelihood="bernoulli",
        seed=args.seed,
        **extra,
    )
    return compile_model(model, args, steps_per_epoch)


def _binarize_images(images, *labels):
    return (data.binarize(images), *labels)


def train(args):
    steps_per_epoch = TRAIN_EXAMPLES // BATCH_SIZE

    def build():
        if not args.init_from:
            return build_model(args, steps_per_epoch)
        model = keras.saving.load_model(
            os.path.join(args.init_from, callbacks.AtomicCheckpoint.MODEL_FILE)
        )
        compile_model(model, args, steps_per_epoch)
        # The earlier run's training time counts towards this model's.
        add_train_seconds(args.out, read_train_seconds(args.init_from) or 0.0)
        print(f"fine-tuning the networks of {args.init_from}")
        return model

    model, epochs_done = resume_or_build(args.out, args.resume, args.seed, build)
    train_set = data.load(
        "mnist", batch_size=BATCH_SIZE, data_dir=args.data_dir, seed=args.seed,
        drop_remainder=True, with_labels=model.is_conditional,
    ).map(_binarize_images, num_parallel_calls=tf.data.AUTOTUNE)
    if args.steps_per_epoch:
        train_set = train_set.take(args.steps_per_epoch)
    fit_checkpointed(model, train_set, args.out, args.epochs, epochs_done)
    return model


def _results_path(args, num_examples):
    return os.path.join(
        args.out, f"results_k{args.eval_samples}_n{num_examples}.json"
    )


def evaluate(model, args, num_examples=None):
    """Test NLL (K = `--eval-samples`) and ELBO on the binarized test set."""
    test_images, test_labels = metrics.binarized_test_images(
        "mnist", args.data_dir, num_examples, with_labels=True
    )
    test_labels = test_labels if model.is_conditional else None
    start = time.perf_counter()
    log_px = model.log_likelihood(
        test_images, test_labels, num_samples=args.eval_samples, seed=1
    )
    nll_seconds = time.perf_counter() - start
    elbo = np.concatenate([
        model.elbo(
            test_images[i : i + 1000],
            None if test_labels is None else test_labels[i : i + 1000],
        ).numpy()
        for i in range(0, len(test_images), 1000)
    ])
    results = {
        "test_nll_nats": float(-log_px.mean()),
        "test_nll_stderr": float(log_px.std() / np.sqrt(len(log_px))),
        "test_elbo_nats": float(elbo.mean()),
        "bits_per_dim": metrics.nats_to_bits_per_dim(
            float(-log_px.mean()), test_images[0].size
        ),
        "eval_importance_samples": args.eval_samples,
        "eval_examples": len(test_images),
        "eval_seconds": nll_seconds,
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


def _epochs_text(results):
    """"20", or "60 elbo + 20 iwae" for a fine-tuned run."""
    settings = results["settings"]
    text = f"{results['epochs']} {settings['objective']}"
    init_from = settings.get("init_from")
    if init_from:
        with open(os.path.join(init_from, "log.csv")) as f:
            earlier = sum(1 for _ in f) - 1  # One line per epoch, plus a header.
        text = f"{earlier} elbo + {text}"
    return text


def publish(model, args):
    """Scores on the test set and saves the zoo entry `<zoo-dir>/<entry>/`.

    The likelihood comes from `OUT/results_k<K>_n<N>.json` when an earlier
    `evaluate` wrote it (the full test set takes about 20 CPU-minutes).
    """
    full = _results_path(args, args.eval_examples or 10_000)
    if os.path.exists(full):
        with open(full) as f:
            likelihood = json.load(f)
    else:
        likelihood = evaluate(model, args, args.eval_examples)
    scores = metrics.evaluate(
        model, num_samples=args.score_samples, data_dir=args.data_dir,
        likelihood=False,
    )
    scores.update(
        nll_nats=likelihood["test_nll_nats"],
        nll_stderr=likelihood["test_nll_stderr"],
        elbo_nats=likelihood["test_elbo_nats"],
        bits_per_dim=likelihood["bits_per_dim"],
        nll_importance_samples=likelihood["eval_importance_samples"],
        nll_examples=likelihood["eval_examples"],
        train_seconds=likelihood["train_seconds"],
    )
    print(json.dumps(scores, indent=2))
    labels = [i % NUM_CLASSES for i in range(100)] if model.is_conditional else None
    grid = images.image_grid(model.generate(100, seed=0, labels=labels), columns=10)
    entry = zoo.save(
        model,
        os.path.join(args.zoo_dir, args.entry),
        metadata={
            "version": args.version,
            "dataset": "mnist (dynamically binarized)",
            "paper": PAPERS[args.model],
            "license": "Apache-2.0 (weights); MNIST is CC BY-SA 3.0",
            "metrics": scores,
            "description": args.description,
            "notes": card_notes(
                args.entry, args.out, _epochs_text(likelihood),
                extra=(
                    "Likelihood protocol: test images binarized once with seed 0, "
                    f"{'log p(x | y), the label given,' if model.is_conditional else 'log p(x)'} "
                    "by importance sampling with K = "
                    f"{likelihood['eval_importance_samples']} on "
                    f"{likelihood['eval_examples']} test images; samples are the "
                    "decoder's pixel means.\n\n" + CALIBRATION_NOTE
                ),
            ),
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
    p.add_argument("--model", default=preset.get("model", "vae"), choices=sorted(PAPERS))
    p.add_argument("--entry", default=preset.get("entry", "vae_mnist"))
    p.add_argument("--version", type=int, default=preset.get("version", 1))
    p.add_argument("--description", default=preset.get("description", ""))
    p.add_argument("--epochs", type=int, default=preset.get("epochs", 60))
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--latent-dim", type=int, default=preset.get("latent_dim", 32))
    p.add_argument("--encoder-filters", type=int, default=preset.get("encoder_filters", 32))
    p.add_argument("--decoder-filters", type=int, default=preset.get("decoder_filters", 16))
    p.add_argument("--hidden-units", type=int, default=preset.get("hidden_units", 256))
    p.add_argument("--objective", choices=["elbo", "iwae"],
                   default=preset.get("objective", "elbo"))
    p.add_argument("--num-samples", type=int, default=preset.get("num_samples", 1),
                   help="latent samples per example in training (IWAE K)")
    p.add_argument("--learning-rate", type=float,
                   default=preset.get("learning_rate", 1e-3))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init-from", default=None, metavar="DIR",
                   help="fine-tune the model checkpointed in DIR")
    p.add_argument("--evaluate-only", action="store_true")
    p.add_argument("--eval-samples", type=int, default=1000)
    p.add_argument("--eval-examples", type=int, default=None,
                   help="evaluate on the first N test images (default all)")
    p.add_argument("--score-samples", type=int, default=10_000,
                   help="samples scored by keras_gen.metrics.evaluate on --publish")
    p.add_argument("--publish", action="store_true",
                   help="score on the full test set and save the zoo entry")
    p.add_argument("--zoo-dir", default=os.path.join(ROOT, "zoo"),
                   help="where --publish writes the entry")
    return p


def main(preset, argv=None):
    args = parser(preset).parse_args(argv)
    model = trained_model(args, train)
    if args.publish:
        return publish(model, args)
    return evaluate(model, args, args.eval_examples)
