"""The `keras-gen` command line.

    keras-gen train MODEL --dataset NAME --out DIR [--epochs N] [--batch-size B]
    keras-gen evaluate MODEL.keras [--num-samples N] [--json OUT]
"""

import argparse
import os
import sys


def _build_model(model_name, info, latent_dim, seed):
    from keras_gen import models

    shape = tuple(info.shape)
    common = {"latent_dim": latent_dim, "seed": seed}
    if model_name == "gan":
        return models.GAN(data_shape=shape, **common)
    if model_name == "conditional_gan":
        if not info.num_classes:
            raise ValueError(
                f"conditional_gan needs a labelled data set; {info.name!r} has "
                "no labels."
            )
        return models.ConditionalGAN(
            image_shape=shape, num_classes=info.num_classes, **common
        )
    model_class = {
        "dcgan": models.DCGAN, "wgan": models.WGAN, "wgan_gp": models.WGANGP,
    }[model_name]
    return model_class(image_shape=shape, **common)


MODEL_NAMES = ("gan", "dcgan", "wgan", "wgan_gp", "conditional_gan")


def train(args):
    """Trains a model with `fit`, checkpointing and drawing every epoch."""
    import keras

    from keras_gen import callbacks
    from keras_gen import data

    info = data.get_info(args.dataset)
    conditional = args.model == "conditional_gan"
    checkpoint = os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
    epochs_done = callbacks.AtomicCheckpoint.epochs_done(args.out)
    if os.path.exists(checkpoint) and not args.resume:
        raise ValueError(
            f"{args.out} already holds a trained model; pass --resume to "
            "continue its training or choose another --out."
        )
    load_kwargs = {}
    if info.kind == "toy":
        load_kwargs["num_examples"] = args.num_examples
    dataset = data.load(
        args.dataset,
        batch_size=args.batch_size,
        with_labels=conditional,
        data_dir=args.data_dir,
        seed=args.seed,
        **load_kwargs,
    )
    if args.resume and os.path.exists(checkpoint):
        model = keras.saving.load_model(checkpoint)
        print(f"Resuming {checkpoint} after epoch {epochs_done}.")
    else:
        epochs_done = 0
        latent_dim = args.latent_dim or (100 if info.kind == "image" else 2)
        model = _build_model(args.model, info, latent_dim, args.seed)
        model.compile()
    reference = None
    if info.kind == "toy":
        reference = data.load(
            args.dataset, batch_size=2000, num_examples=2000, seed=1
        ).get_single_element()
    model.fit(
        dataset,
        epochs=args.epochs,
        initial_epoch=epochs_done,
        callbacks=[
            callbacks.AtomicCheckpoint(args.out),
            callbacks.SampleGrid(
                args.out,
                num_samples=64 if info.kind == "image" else 1000,
                seed=0,
                reference=reference,
            ),
        ],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    print(f"Saved {checkpoint} and sample pictures in {args.out}.")


def evaluate(args):
    """Scores a saved model's samples (and likelihood) against MNIST."""
    import json

    import keras

    from keras_gen import metrics
    from keras_gen import models  # noqa: F401  (registers the classes)

    if not os.path.exists(args.model):
        raise ValueError(f"No model at {args.model!r}: give a .keras file.")
    model = keras.saving.load_model(args.model)
    results = metrics.evaluate(
        model,
        dataset=args.dataset,
        num_samples=args.num_samples,
        data_dir=args.data_dir,
        seed=args.seed,
        nll_importance_samples=args.nll_samples,
        nll_examples=args.nll_examples,
    )
    width = max(map(len, results))
    for name, value in results.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{name:<{width}}  {shown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, **results}, f, indent=2)
        print(f"wrote {args.json}")


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-gen",
        description="Train, sample and export generative models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser(
        "train",
        help="train a model with model.fit",
        description="Train a model with model.fit; saves DIR/model.keras and "
        "a PNG of samples after every epoch.",
    )
    train_parser.add_argument("model", choices=MODEL_NAMES)
    train_parser.add_argument(
        "--dataset", required=True,
        help="mnist, fashion_mnist, cifar10, gaussian_mixture_8, "
        "gaussian_mixture_25 or swiss_roll",
    )
    train_parser.add_argument(
        "--data-dir", default=None,
        help="folder with the IDX files of mnist/fashion_mnist (or set "
        "KERAS_GEN_DATA_DIR)",
    )
    train_parser.add_argument("--epochs", type=int, default=1)
    train_parser.add_argument("--batch-size", type=int, default=64)
    train_parser.add_argument(
        "--latent-dim", type=int, default=None,
        help="latent size (default: 100 for images, 2 for 2-D toy data)",
    )
    train_parser.add_argument(
        "--num-examples", type=int, default=100_000,
        help="examples per epoch of a 2-D toy data set",
    )
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--out", required=True, help="output folder")
    train_parser.add_argument(
        "--resume", action="store_true",
        help="continue the training saved in --out",
    )
    train_parser.set_defaults(handler=train)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="score a model's samples: FID, KID, classifier score, ...",
        description="Score a saved model against the MNIST test split with "
        "the shipped MNIST classifier: MNIST FID, KID, classifier score, "
        "precision and recall, label accuracy (conditional models), test "
        "NLL (likelihood models).",
    )
    evaluate_parser.add_argument("model", help="a .keras file")
    evaluate_parser.add_argument("--dataset", default="mnist")
    evaluate_parser.add_argument("--data-dir", default=None)
    evaluate_parser.add_argument("--num-samples", type=int, default=10_000)
    evaluate_parser.add_argument("--seed", type=int, default=0)
    evaluate_parser.add_argument(
        "--nll-samples", type=int, default=1000,
        help="importance samples per image for the NLL",
    )
    evaluate_parser.add_argument(
        "--nll-examples", type=int, default=None,
        help="test images for the NLL (default: all)",
    )
    evaluate_parser.add_argument("--json", default=None, help="write JSON here")
    evaluate_parser.set_defaults(handler=evaluate)
    return parser


def main(argv=None):
    """Entry point of the `keras-gen` console script."""
    args = _parser().parse_args(argv)
    from keras_gen import data

    try:
        args.handler(args)
    except (ValueError, data.DatasetNotFoundError) as error:
        print(f"keras-gen: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
