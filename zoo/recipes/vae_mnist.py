"""Recipe: a VAE on dynamically binarized MNIST, scored by test NLL in nats.

Protocol (the standard one for binarized MNIST likelihoods):
- train on the 60,000 training images, binarized anew every epoch (each
  pixel ~ Bernoulli(intensity), "dynamic binarization");
- evaluate on the 10,000 test images binarized once with seed 0;
- report the test NLL = -mean log p(x) estimated with the importance-weighted
  bound, K = 1000 samples per image (Burda et al. 2015), and the test ELBO.

    python zoo/recipes/vae_mnist.py --out runs/vae_mnist --epochs 60
    python zoo/recipes/vae_mnist.py --out runs/vae_mnist --epochs 60 --resume
    python zoo/recipes/vae_mnist.py --out runs/vae_mnist --evaluate-only
    python zoo/recipes/vae_mnist.py --out runs/vae_iwae --init-from runs/vae_mnist \
        --objective iwae --num-samples 5 --epochs 20 --learning-rate 3e-4

`--init-from DIR` fine-tunes the networks of the run in DIR with a fresh
optimizer and this run's objective and learning-rate schedule (the way the
`vae_mnist` entry was made: 60 ELBO epochs, then IWAE fine-tuning).

The model is checkpointed atomically after every epoch (`--resume`
continues, the learning-rate schedule included); results go to
`OUT/results.json`. MNIST is read from `--data-dir` (default
`KERAS_GEN_DATA_DIR`, else `../shared/data` beside the repository).
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
from keras_gen.networks import build_conv_decoder
from keras_gen.networks import build_conv_encoder
from recipe_common import DEFAULT_DATA_DIR
from recipe_common import add_train_seconds
from recipe_common import read_train_seconds

BATCH_SIZE = 100
TRAIN_EXAMPLES = 60_000


def compile_model(model, args, steps_per_epoch):
    """Adam with a cosine-decayed learning rate over this run's epochs."""
    schedule = keras.optimizers.schedules.CosineDecay(
        args.learning_rate, decay_steps=args.epochs * steps_per_epoch, alpha=0.02
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        objective=args.objective,
        num_samples=args.num_samples,
    )
    return model


def build_model(args, steps_per_epoch):
    image_shape = (28, 28, 1)
    model = models.VAE(
        image_shape=image_shape,
        latent_dim=args.latent_dim,
        encoder=build_conv_encoder(
            image_shape, 2 * args.latent_dim, args.encoder_filters,
            hidden_units=args.hidden_units,
        ),
        decoder=build_conv_decoder(
            args.latent_dim, image_shape, args.decoder_filters,
            hidden_units=args.hidden_units,
        ),
        likelihood="bernoulli",
        seed=args.seed,
    )
    return compile_model(model, args, steps_per_epoch)


def train(args):
    steps_per_epoch = TRAIN_EXAMPLES // BATCH_SIZE
    checkpoint = os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
    epochs_done = callbacks.AtomicCheckpoint.epochs_done(args.out)
    if args.resume and os.path.exists(checkpoint):
        model = keras.saving.load_model(checkpoint)
        print(f"resuming after epoch {epochs_done}")
    elif args.init_from:
        epochs_done = 0
        keras.utils.set_random_seed(args.seed)
        model = keras.saving.load_model(
            os.path.join(args.init_from, callbacks.AtomicCheckpoint.MODEL_FILE)
        )
        compile_model(model, args, steps_per_epoch)
        print(f"fine-tuning the networks of {args.init_from}")
    else:
        epochs_done = 0
        keras.utils.set_random_seed(args.seed)
        model = build_model(args, steps_per_epoch)
    train_set = data.load(
        "mnist", batch_size=BATCH_SIZE, data_dir=args.data_dir, seed=args.seed,
        drop_remainder=True,
    ).map(data.binarize, num_parallel_calls=tf.data.AUTOTUNE)
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


def evaluate(model, args):
    test_images = metrics.binarized_test_images(
        "mnist", args.data_dir, args.eval_examples
    )
    start = time.perf_counter()
    log_px = model.log_likelihood(
        test_images, num_samples=args.eval_samples, seed=1
    )
    nll_seconds = time.perf_counter() - start
    elbo = np.concatenate([
        model.elbo(test_images[i : i + 1000]).numpy()
        for i in range(0, len(test_images), 1000)
    ])
    train_seconds = read_train_seconds(args.out)
    results = {
        "test_nll_nats": float(-log_px.mean()),
        "test_nll_stderr": float(log_px.std() / np.sqrt(len(log_px))),
        "test_elbo_nats": float(elbo.mean()),
        "eval_importance_samples": args.eval_samples,
        "eval_examples": len(test_images),
        "eval_seconds": nll_seconds,
        "train_seconds": train_seconds,
        "epochs": callbacks.AtomicCheckpoint.epochs_done(args.out),
        "settings": {
            key: getattr(args, key) for key in (
                "latent_dim", "encoder_filters", "decoder_filters",
                "hidden_units", "objective", "num_samples", "learning_rate",
                "seed", "init_from",
            )
        },
        "parameters": model.count_params(),
        "keras_gen": keras_gen.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    name = f"results_k{args.eval_samples}_n{len(test_images)}.json"
    with open(os.path.join(args.out, name), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--encoder-filters", type=int, default=32)
    parser.add_argument("--decoder-filters", type=int, default=16)
    parser.add_argument("--hidden-units", type=int, default=256)
    parser.add_argument("--objective", choices=["elbo", "iwae"], default="elbo")
    parser.add_argument("--num-samples", type=int, default=1,
                        help="latent samples per example in training (IWAE K)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--init-from", default=None, metavar="DIR",
                        help="fine-tune the model checkpointed in DIR")
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--eval-samples", type=int, default=1000)
    parser.add_argument("--eval-examples", type=int, default=None,
                        help="evaluate on the first N test images (default all)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.evaluate_only:
        model = keras.saving.load_model(
            os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
        )
    else:
        model = train(args)
    return evaluate(model, args)


if __name__ == "__main__":
    main()
