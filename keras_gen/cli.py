"""The `keras-gen` command line.

    keras-gen train MODEL --dataset NAME --out DIR [--epochs N] [--batch-size B]
        MODEL: gan dcgan wgan wgan_gp conditional_gan infogan
               semi_supervised_gan autoencoder vae cvae pixelcnn realnvp
    keras-gen evaluate MODEL.keras|ENTRY [--num-samples N] [--json OUT]
    keras-gen list | info NAME | sample NAME --out grid.png | export NAME --to DIR
"""

import argparse
import os
import sys


# What `keras-gen train` trains, and how each model wants its batches.
MODEL_NAMES = (
    "gan", "dcgan", "wgan", "wgan_gp", "conditional_gan", "infogan",
    "semi_supervised_gan", "autoencoder", "vae", "cvae", "pixelcnn", "realnvp",
)
# Trained on (images, labels) batches.
_CONDITIONAL = ("conditional_gan", "cvae")
# Bernoulli likelihoods: trained on images binarized anew every epoch.
_BINARY = ("vae", "cvae", "pixelcnn")
# Models of 2-D points as well as images.
_POINT_MODELS = ("gan", "wgan", "wgan_gp")


def _build_model(model_name, info, latent_dim, seed):
    """A new, uncompiled model for data set `info` (a `DatasetInfo`)."""
    from keras_gen import models

    shape = tuple(info.shape)
    if info.kind != "image" and model_name not in _POINT_MODELS:
        raise ValueError(
            f"{model_name} models images; {info.name!r} is a data set of "
            f"{shape[0]}-D points (train one of {', '.join(_POINT_MODELS)} on it)."
        )
    if model_name in (*_CONDITIONAL, "infogan", "semi_supervised_gan") and (
        not info.num_classes
    ):
        raise ValueError(
            f"{model_name} needs a labelled data set; {info.name!r} has no "
            "labels."
        )
    latent = {} if latent_dim is None else {"latent_dim": latent_dim}
    if model_name in ("gan", "dcgan", "wgan", "wgan_gp", "conditional_gan"):
        model_class = {
            "gan": models.GAN, "dcgan": models.DCGAN, "wgan": models.WGAN,
            "wgan_gp": models.WGANGP, "conditional_gan": models.ConditionalGAN,
        }[model_name]
        shape_argument = "data_shape" if model_name == "gan" else "image_shape"
        classes = {"num_classes": info.num_classes} if model_name in _CONDITIONAL else {}
        return model_class(
            **{shape_argument: shape}, seed=seed, **classes,
            latent_dim=latent_dim or (100 if info.kind == "image" else 2),
        )
    if model_name == "infogan":
        noise = {} if latent_dim is None else {"noise_dim": latent_dim}
        return models.InfoGAN(
            image_shape=shape, num_categories=info.num_classes, seed=seed, **noise
        )
    if model_name == "semi_supervised_gan":
        return models.SemiSupervisedGAN(
            image_shape=shape, num_label_classes=info.num_classes, seed=seed,
            **latent,
        )
    if model_name == "cvae":
        return models.CVAE(
            image_shape=shape, num_classes=info.num_classes, seed=seed, **latent
        )
    model_class = {
        "autoencoder": models.Autoencoder, "vae": models.VAE,
        "pixelcnn": models.PixelCNN, "realnvp": models.RealNVP,
    }[model_name]
    if model_name in ("pixelcnn", "realnvp"):
        if latent_dim is not None:
            raise ValueError(f"{model_name} has no latent space; drop --latent-dim.")
        return model_class(image_shape=shape, seed=seed)
    return model_class(image_shape=shape, seed=seed, **latent)


def _training_data(args, info):
    """The `fit` data set of `keras-gen train` for `args.model`."""
    import tensorflow as tf

    from keras_gen import data

    if args.model == "semi_supervised_gan":
        return data.semi_supervised(
            args.dataset, num_labeled=args.num_labeled,
            unlabeled_batch_size=args.batch_size,
            labeled_batch_size=min(args.batch_size, args.num_labeled),
            seed=args.seed, data_dir=args.data_dir,
        )
    load_kwargs = {}
    if info.kind == "toy":
        load_kwargs["num_examples"] = args.num_examples
    dataset = data.load(
        args.dataset,
        batch_size=args.batch_size,
        with_labels=args.model in _CONDITIONAL,
        data_dir=args.data_dir,
        seed=args.seed,
        **load_kwargs,
    )
    if args.model in _BINARY:
        dataset = dataset.map(
            lambda images, *labels: (data.binarize(images), *labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset


def train(args):
    """Trains a model with `fit`, checkpointing and drawing every epoch."""
    import keras

    from keras_gen import callbacks
    from keras_gen import data

    info = data.get_info(args.dataset)
    checkpoint = os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
    epochs_done = callbacks.AtomicCheckpoint.epochs_done(args.out)
    if os.path.exists(checkpoint) and not args.resume:
        raise ValueError(
            f"{args.out} already holds a trained model; pass --resume to "
            "continue its training or choose another --out."
        )
    if args.resume and os.path.exists(checkpoint):
        model = keras.saving.load_model(checkpoint)
        print(f"Resuming {checkpoint} after epoch {epochs_done}.")
    else:
        epochs_done = 0
        model = _build_model(args.model, info, args.latent_dim, args.seed)
        model.compile()
    dataset = _training_data(args, info)
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
            callbacks.EpochLog(os.path.join(args.out, "log.csv")),
        ],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    print(f"Saved {checkpoint}, sample pictures and log.csv in {args.out}.")


def evaluate(args):
    """Scores a saved model's samples (and likelihood) against MNIST."""
    import json

    from keras_gen import metrics

    model = _load_model_or_entry(args.model)
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


def _load_model_or_entry(model):
    """A `.keras` file, or a zoo entry name, directory or URI."""
    import keras

    from keras_gen import models  # noqa: F401  (registers the classes)
    from keras_gen import zoo

    if model.endswith(".keras"):
        if not os.path.isfile(model):
            raise ValueError(f"No model file at {model!r}.")
        return keras.saving.load_model(model, safe_mode=True)
    return zoo.load(model)


def list_entries(args):
    """Prints the zoo entries available offline."""
    from keras_gen import zoo

    names = zoo.list_entries()
    if not names:
        print("No zoo entries found (searched: "
              f"{', '.join(zoo.zoo_dirs()) or 'nothing'}).")
        return
    rows = [("name", "version", "model", "dataset", "parameters")]
    for name in names:
        entry = zoo.get_entry(name)
        rows.append((name, str(entry.version), entry.model_class, entry.dataset,
                     f"{entry.parameters:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))


def info(args):
    """Prints an entry's metadata."""
    import dataclasses
    import json

    from keras_gen import zoo

    print(json.dumps(dataclasses.asdict(zoo.get_entry(args.name)), indent=2))


def _parse_labels(text, num):
    if text is None:
        return None
    try:
        labels = [int(label) for label in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--labels takes comma-separated class numbers, received {text!r}."
        ) from None
    return [labels[i % len(labels)] for i in range(num)]


def sample(args):
    """Draws samples from an entry and saves them as a PNG grid."""
    from keras_gen.utils import images

    model = _load_model_or_entry(args.name)
    if not model.is_image_model:
        raise ValueError("keras-gen sample draws image models only.")
    samples = model.generate(
        args.num, seed=args.seed, labels=_parse_labels(args.labels, args.num)
    )
    images.save_png(args.out, images.image_grid(samples))
    print(f"Saved {args.num} samples of {args.name} to {args.out}.")


def export(args):
    """Exports an entry as a TF Serving SavedModel."""
    from keras_gen import zoo

    path = zoo.export(args.name, args.to, version=args.version)
    print(f"Exported {args.name} to {path}; TF Serving config: "
          f"{os.path.join(args.to, 'models.config')}.")


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
        help="latent size (default: the model's; for GANs 100 for images, 2 "
        "for 2-D toy data; InfoGAN's incompressible noise, besides its codes)",
    )
    train_parser.add_argument(
        "--num-labeled", type=int, default=100,
        help="labeled training images of semi_supervised_gan (a multiple of "
        "the classes); the others are used unlabeled",
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
    evaluate_parser.add_argument(
        "model", help="a .keras file, or a zoo entry name, directory or URI"
    )
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

    commands.add_parser(
        "list", help="list the pretrained zoo entries"
    ).set_defaults(handler=list_entries)
    info_parser = commands.add_parser("info", help="show an entry's metadata")
    info_parser.add_argument("name")
    info_parser.set_defaults(handler=info)

    sample_parser = commands.add_parser(
        "sample", help="draw samples from an entry into a PNG grid"
    )
    sample_parser.add_argument("name", help="entry name, directory, URI or .keras file")
    sample_parser.add_argument("--num", type=int, default=64)
    sample_parser.add_argument("--seed", type=int, default=0)
    sample_parser.add_argument(
        "--labels", default=None,
        help="class labels of a conditional entry, e.g. 7 or 0,1,2 (cycled)",
    )
    sample_parser.add_argument("--out", default="samples.png")
    sample_parser.set_defaults(handler=sample)

    export_parser = commands.add_parser(
        "export", help="export an entry as a TF Serving SavedModel"
    )
    export_parser.add_argument("name")
    export_parser.add_argument("--to", required=True, help="TF Serving base folder")
    export_parser.add_argument("--version", type=int, default=None)
    export_parser.set_defaults(handler=export)
    return parser


def main(argv=None):
    """Entry point of the `keras-gen` console script."""
    args = _parser().parse_args(argv)
    try:
        args.handler(args)
    except (ValueError, OSError) as error:  # DatasetNotFoundError is an OSError.
        print(f"keras-gen: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
