"""Shared recipe for the GAN zoo entries on MNIST: train, score, publish.

Each entry's recipe (`dcgan_mnist.py`, `wgan_gp_mnist.py`, `cgan_mnist.py`)
calls `main()` with its preset; every setting can also be given on the
command line:

    python zoo/recipes/dcgan_mnist.py --out runs/dcgan_mnist --epochs 30
    python zoo/recipes/dcgan_mnist.py --out runs/dcgan_mnist --epochs 30 --resume
    python zoo/recipes/dcgan_mnist.py --out runs/dcgan_mnist --publish

Training is checkpointed atomically every epoch (`--resume` continues). The
final model is scored with `keras_gen.metrics.evaluate` (10,000 samples
against the MNIST test split) and, with `--publish`, saved as the zoo entry
`zoo/<entry>/` with its card and a sample grid.
"""

import argparse
import json
import os

import keras
import numpy as np

import keras_gen
from keras_gen import callbacks
from keras_gen import data
from keras_gen import metrics
from keras_gen import models
from keras_gen import networks
from recipe_common import CALIBRATION_NOTE
from recipe_common import DEFAULT_DATA_DIR
from recipe_common import add_init_from_argument
from recipe_common import add_weights_dtype_argument
from recipe_common import card_notes
from recipe_common import epochs_text
from recipe_common import ROOT
from recipe_common import fit_checkpointed
from recipe_common import init_from_scores
from recipe_common import load_init_source
from recipe_common import publish_entry
from recipe_common import read_train_seconds
from recipe_common import resume_or_build
from recipe_common import start_from_init_source
from recipe_common import trained_model

QUALITY_BARS = """The zoo's bars for a GAN entry (issue 5): classifier score >= 9.0,
precision >= 0.7, recall >= 0.6 (k = 3), label accuracy >= 95% for
conditional entries; the table above says where this entry stands."""

CODE_NOTE = """InfoGAN's codes: `code_accuracy_test` is the share of the 10,000 test
images whose category under Q is their digit, after the best one-to-one
map of categories to digits (`code_to_digit[c]` is the digit of category
c); the paper reports about 95% (5% error). `code_accuracy_samples`: the
same for 10,000 samples, the category they were generated with against
the shipped classifier's digit. The picture: row c is category c, with one
noise vector for all rows and the first continuous code swept from -2 to 2
along the row."""

TRUNCATION_NOTE = """Samples use Jacobian-based truncation (Tanielian et al. 2020,
`set_jacobian_truncation({keep})`, saved with the entry): of the latent
vectors drawn from N(0, I), only those whose estimated ||J_G(z)||_F^2 is
below the threshold that a share {keep} of prior draws pass are decoded,
in `generate` and in the served `sample` alike; `untruncated_*` are the
same weights sampled from the whole prior (`set_jacobian_truncation(None)`)."""

TRANSPORT_NOTE = """Samples use latent-space discriminator optimal transport (Tanaka
2019, `set_discriminator_transport({steps}, step_size={step_size})`, saved
with the entry): each latent drawn from the prior is moved by {steps} Adam
steps of size {step_size} towards argmin_z ||z - z0|| - D(G(z)) / k_eff,
k_eff {lipschitz:.4g} (the largest |D(G(z)) - D(G(z'))| / ||z - z'|| over
2,000 prior pairs), in `generate` and in the served `sample` alike;
`untransported_*` are the same weights sampled without it
(`set_discriminator_transport(None)`)."""

PAPERS = {
    "dcgan": "Radford et al. 2015, https://arxiv.org/abs/1511.06434",
    "wgan_gp": "Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028",
    "conditional_gan": "Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784",
    "infogan": "Chen et al. 2016, https://arxiv.org/abs/1606.03657",
}


def build_model(args):
    if args.d_hidden_units is not None and args.model == "infogan":
        raise ValueError(
            "--d-hidden-units applies to the DCGAN, WGAN-GP and conditional "
            "GAN discriminators, not to --model infogan (its Q head has one)."
        )
    for flag, value in (("--d-normalization", args.d_normalization),
                        ("--d-hidden-normalization", args.d_hidden_normalization)):
        if args.model == "wgan_gp" and value == "batch":
            raise ValueError(
                f"The WGAN-GP critic cannot use {flag} batch: the gradient "
                "penalty is per example, and batch norm mixes the examples "
                "of a batch. Use 'layer' (the paper's choice) or 'spectral'."
            )
    if args.d_hidden_normalization == "batch" and not args.init_from:
        raise ValueError(
            "--d-hidden-normalization batch is for fine-tuning: trained from "
            "scratch, batch norm on the hidden layer let the generator "
            "collapse (3 of 4 runs, see dcgan_mnist.py). Train with "
            "--d-hidden-normalization layer first, then continue from that "
            "run with --init-from RUN_DIR --d-hidden-normalization batch."
        )
    image_shape = (28, 28, 1)
    common = dict(image_shape=image_shape, latent_dim=args.latent_dim,
                  base_filters=args.base_filters, seed=args.seed,
                  latent_components=args.latent_components,
                  latent_component_stddev=args.latent_stddev)
    if args.model == "infogan":
        del common["latent_dim"]  # noise 62 + 10 categories + 2 codes
        model = models.InfoGAN(**common)
    else:
        num_classes = 10 if args.model == "conditional_gan" else None
        discriminator = networks.build_dcgan_discriminator(
            image_shape, args.base_filters, normalization=args.d_normalization,
            dropout=args.d_dropout, num_classes=num_classes,
            hidden_units=args.d_hidden_units,
            hidden_normalization=(
                None if args.d_hidden_normalization == "none"
                else args.d_hidden_normalization
            ),
        )
        model_class = {"wgan_gp": models.WGANGP, "conditional_gan":
                       models.ConditionalGAN, "dcgan": models.DCGAN}[args.model]
        model = model_class(discriminator=discriminator, **common)
    if args.init_from:
        # Before compile, so the generator's moving average starts from the
        # copied weights.
        copy_gan_networks(load_init_source(args.init_from), model)
    settings = {"generator_ema_decay": args.ema}
    if args.d_steps is not None:
        settings["d_steps"] = args.d_steps
    if args.g_top_k is not None:
        settings["generator_top_k"] = args.g_top_k
    if args.model != "wgan_gp":
        settings.update(loss=args.loss, label_smoothing=args.label_smoothing)
    model.compile(
        g_optimizer=keras.optimizers.Adam(args.g_lr, beta_1=args.beta_1, beta_2=args.beta_2),
        d_optimizer=keras.optimizers.Adam(args.d_lr, beta_1=args.beta_1, beta_2=args.beta_2),
        **settings,
    )
    return model


def copy_gan_networks(source, model):
    """Starts `model`'s networks from a trained GAN's.

    The generator gets the weights `source` samples with (its moving
    average, if it has one: a zoo entry stores only that). The
    discriminator's layers are matched in order; a layer norm's gamma and
    beta go to a batch norm in its place (`--d-hidden-normalization batch`
    on a discriminator trained with layer norm), whose moving statistics
    start afresh. Anything else that differs is an error naming the layer.
    """
    with source.sampling_weights():
        generator_weights = source.generator.get_weights()
    expected = [tuple(w.shape) for w in model.generator.weights]
    if [w.shape for w in generator_weights] != expected:
        raise ValueError(
            "--init-from: the source's generator has weights of shapes "
            f"{[w.shape for w in generator_weights]}, this model's {expected}; "
            "build the source's architecture (--latent-dim, --base-filters)."
        )
    model.generator.set_weights(generator_weights)
    olds, news = (
        [layer for layer in network.layers if layer.weights]
        for network in (source.discriminator, model.discriminator)
    )
    if len(olds) != len(news):
        raise ValueError(
            f"--init-from: the source's discriminator has {len(olds)} layers "
            f"with weights, this model's {len(news)}; build the source's "
            "architecture."
        )
    for old, new in zip(olds, news):
        old_weights, new_weights = old.get_weights(), new.get_weights()
        old_shapes = [w.shape for w in old_weights]
        new_shapes = [w.shape for w in new_weights]
        if old_shapes == new_shapes:
            new.set_weights(old_weights)
        elif (isinstance(old, keras.layers.LayerNormalization)
              and isinstance(new, keras.layers.BatchNormalization)
              and old_shapes == new_shapes[:2]):
            new.set_weights(old_weights + new_weights[2:])
        else:
            raise ValueError(
                f"--init-from: the discriminator's layer {new.name!r} "
                f"({type(new).__name__}, weights {new_shapes}) does not match "
                f"the source's {old.name!r} ({type(old).__name__}, "
                f"{old_shapes}); build the source's architecture."
            )


def train(args):
    def build():
        model = build_model(args)
        if args.init_from:
            start_from_init_source(args)
        return model

    model, epochs_done = resume_or_build(args.out, args.resume, args.seed, build)
    if args.g_top_k is not None and model.generator_top_k != args.g_top_k:
        model = with_generator_top_k(model, args.g_top_k)
        print(f"epochs {epochs_done + 1}-{args.epochs}: top-k generator "
              f"updates, fraction {args.g_top_k}")
    dataset = data.load(
        "mnist", batch_size=args.batch_size, with_labels=model.is_conditional,
        data_dir=args.data_dir, seed=args.seed, drop_remainder=True,
    )
    if args.steps_per_epoch:
        dataset = dataset.take(args.steps_per_epoch)
    extra_callbacks = [
        callbacks.EvaluationMetrics(
            ["fid", "classifier_score", "precision", "recall"],
            every_n_epochs=args.eval_every, num_samples=2000,
            data_dir=args.data_dir,
        ),
    ]
    if isinstance(model, models.InfoGAN):
        extra_callbacks.append(CodeAccuracyOnTest(args.data_dir, args.eval_every))
    fit_checkpointed(
        model, dataset, args.out, args.epochs, epochs_done,
        extra_callbacks=extra_callbacks,
    )
    return model


def with_generator_top_k(model, fraction):
    """`model` recompiled with `generator_top_k=fraction`, its state kept.

    For a resumed checkpoint (top-k training switched on, or its fraction
    changed, part way): the same optimizer instances (built, so their step
    and moments stay) and the moving average of the generator's weights
    are kept; the other compile settings are the checkpoint's.
    """
    settings = {
        key: value for key, value in model.get_compile_config().items()
        if key not in ("g_optimizer", "d_optimizer")
    }
    settings["generator_top_k"] = fraction
    model.compile(
        g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer, **settings
    )
    return model


class CodeAccuracyOnTest(keras.callbacks.Callback):
    """Adds InfoGAN's `code_accuracy_test` to the logs every N epochs.

    Q reads 10,000 test images in seconds, so a run shows early whether its
    categorical code is becoming the digit (it depends on the seed).
    """

    def __init__(self, data_dir, every_n_epochs):
        super().__init__()
        self.test_set = data.load_arrays("mnist", with_labels=True, data_dir=data_dir)
        self.every_n_epochs = every_n_epochs

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and not (epoch + 1) % self.every_n_epochs:
            logs["code_accuracy_test"] = code_accuracy_on_test(
                self.model, *self.test_set
            )["one_to_one"]


def _saved_scores(args, epochs):
    """The scores an earlier run wrote for this very checkpoint, or None."""
    path = os.path.join(args.out, "scores.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        scores = json.load(f)
    same = (
        scores.get("epochs") == epochs
        and scores.get("num_samples") == args.eval_samples
        and scores.get("weights_dtype", "float32") == args.weights_dtype
        and scores.get("truncation_keep") == args.truncation_keep
        and scores.get("transport") == _transport_setting(args)
    )
    return scores if same else None


def _transport_setting(args):
    """`[steps, step_size]` of `--transport-steps`, or None."""
    if args.transport_steps is None:
        return None
    return [args.transport_steps, args.transport_step_size]


def score_and_publish(model, args):
    epochs = callbacks.AtomicCheckpoint.epochs_done(args.out)
    scores = _saved_scores(args, epochs)
    plain = {}
    if scores is None and (
        args.truncation_keep is not None or args.transport_steps is not None
    ):
        # The same weights sampled from the whole prior, untransported, for
        # the card.
        results = metrics.evaluate(
            model, num_samples=args.eval_samples, data_dir=args.data_dir
        )
        for prefix, used in (("untruncated", args.truncation_keep),
                             ("untransported", args.transport_steps)):
            if used is not None:
                plain.update({f"{prefix}_{name}": results[name] for name in (
                    "fid", "classifier_score", "precision", "recall")})
    # Both are fitted to the weights as stored (rounded already) and saved
    # with the entry: its `generate` and serving `sample` use them.
    if args.truncation_keep is not None:
        threshold = model.set_jacobian_truncation(args.truncation_keep)
        print(f"Jacobian-based truncation: keep {args.truncation_keep}, "
              f"threshold {threshold:.6g}")
    if args.transport_steps is not None:
        lipschitz = model.set_discriminator_transport(
            args.transport_steps, step_size=args.transport_step_size
        )
        print(f"discriminator optimal transport: {args.transport_steps} steps "
              f"of {args.transport_step_size}, k_eff {lipschitz:.6g}")
    if scores is None:
        scores = metrics.evaluate(
            model, num_samples=args.eval_samples, data_dir=args.data_dir
        )
        scores.update(plain)
        if isinstance(model, models.InfoGAN):
            scores.update(infogan_code_accuracy(model, args))
        scores["train_seconds"] = read_train_seconds(args.out)
        scores["epochs"] = epochs
        scores.update(init_from_scores(args))
        scores["weights_dtype"] = args.weights_dtype
        scores["truncation_keep"] = args.truncation_keep
        scores["transport"] = _transport_setting(args)
        if args.transport_steps is not None:
            scores["transport_lipschitz"] = model.transport_lipschitz
        with open(os.path.join(args.out, "scores.json"), "w") as f:
            json.dump(scores, f, indent=2)
    print(json.dumps(scores, indent=2))
    if args.publish:
        publish_entry(
            model,
            os.path.join(args.zoo_dir, args.entry),
            metadata={
                "version": args.version,
                "dataset": "mnist",
                "paper": PAPERS[args.model],
                "metrics": scores,
                "description": args.description,
                "notes": card_notes(
                    args.entry, args.out, epochs_text(epochs, scores),
                    extra="\n\n".join(
                        ([CODE_NOTE] if isinstance(model, models.InfoGAN) else [])
                        + ([TRUNCATION_NOTE.format(keep=args.truncation_keep)]
                           if args.truncation_keep is not None else [])
                        + ([TRANSPORT_NOTE.format(
                            steps=args.transport_steps,
                            step_size=args.transport_step_size,
                            lipschitz=model.transport_lipschitz)]
                           if args.transport_steps is not None else [])
                        + [CALIBRATION_NOTE, QUALITY_BARS]
                    ),
                ),
            },
            samples=card_samples(model),
            weights_dtype=args.weights_dtype,
        )
    return scores


def infogan_code_accuracy(model, args, num_samples=10_000):
    """How well InfoGAN's categorical code names the digit (Chen et al. 2016).

    Both readings are matched to the digit classes by the best one-to-one
    map (`keras_gen.metrics.matched_accuracy`):
    - `code_accuracy_test`: Q's category of each real test image against its
      label (the paper's "5% error");
    - `code_accuracy_samples`: the category a sample was generated with
      against the class the shipped MNIST classifier gives it.
    """
    on_test = code_accuracy_on_test(model, *data.load_arrays(
        "mnist", with_labels=True, data_dir=args.data_dir
    ))
    categories = np.arange(num_samples) % model.num_categories
    samples = model.generate_with_codes(categories, seed=args.seed)
    _, probabilities = metrics.MNISTClassifier()(samples)
    on_samples = metrics.matched_accuracy(
        categories, probabilities.argmax(axis=1), model.num_categories, 10
    )
    return {
        "code_accuracy_test": on_test["one_to_one"],
        "code_accuracy_samples": on_samples["one_to_one"],
        "code_to_digit": on_test["one_to_one_map"],
    }


def code_accuracy_on_test(model, test_images, test_labels):
    """Q's category of every test image matched to its label
    (`keras_gen.metrics.matched_accuracy`'s dict)."""
    codes = model.predict_codes(test_images)["category"]
    return metrics.matched_accuracy(codes, test_labels, model.num_categories, 10)


def card_samples(model):
    """The 100 samples of the card's 10x10 picture, one class per row.

    For InfoGAN, row i holds category i with one shared noise vector and the
    first continuous code swept from -2 to 2 across the row (the paper's
    Figure 2 picture); conditional models get one class per row.
    """
    if isinstance(model, models.InfoGAN):
        continuous = np.zeros((100, model.num_continuous), "float32")
        if model.num_continuous:
            continuous[:, 0] = np.tile(np.linspace(-2.0, 2.0, 10), 10)
        return model.generate_with_codes(
            np.repeat(np.arange(10) % model.num_categories, 10),
            continuous=continuous, seed=0, shared_noise=True,
        )
    labels = np.arange(100) // 10 if model.is_conditional else None
    return model.generate(100, seed=0, labels=labels)


def _int_or_none(text):
    return None if text.lower() == "none" else int(text)


def parser(preset):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--model", default=preset.get("model", "dcgan"),
                   choices=sorted(PAPERS))
    p.add_argument("--entry", default=preset.get("entry", "dcgan_mnist"))
    p.add_argument("--version", type=int, default=preset.get("version", 1))
    p.add_argument("--description", default=preset.get("description", ""))
    p.add_argument("--epochs", type=int, default=preset.get("epochs", 30))
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=preset.get("batch_size", 64))
    p.add_argument("--latent-dim", type=int, default=preset.get("latent_dim", 100))
    p.add_argument("--latent-components", type=_int_or_none,
                   default=preset.get("latent_components"),
                   help="a Gaussian mixture latent prior of this many "
                        "components (GM-GAN); 'none' (the default unless the "
                        "preset sets it): N(0, I)")
    p.add_argument("--latent-stddev", type=float,
                   default=preset.get("latent_stddev", 1.0),
                   help="the mixture components' standard deviation")
    p.add_argument("--base-filters", type=int, default=preset.get("base_filters", 64))
    p.add_argument("--d-normalization", default=preset.get("d_normalization", "batch"))
    p.add_argument("--d-dropout", type=float, default=preset.get("d_dropout", 0.0))
    p.add_argument("--d-hidden-units", type=int, default=preset.get("d_hidden_units"),
                   help="a dense layer of this width before the discriminator's "
                   "logit (DCGAN, WGAN-GP and conditional GAN)")
    p.add_argument("--d-hidden-normalization",
                   default=preset.get("d_hidden_normalization", "auto"),
                   choices=["auto", "layer", "batch", "none"],
                   help="of the hidden layer (auto: layer norm under batch or "
                        "layer norm); batch is for fine-tuning (--init-from)")
    add_init_from_argument(p, "a trained GAN's networks", preset.get("init_from"))
    p.add_argument("--truncation-keep", type=float,
                   default=preset.get("truncation_keep"),
                   help="score and publish with Jacobian-based truncation "
                        "keeping this share of the prior (set_jacobian_truncation)")
    p.add_argument("--transport-steps", type=_int_or_none,
                   default=preset.get("transport_steps"),
                   help="score and publish with latent-space discriminator "
                        "optimal transport of this many Adam steps "
                        "(set_discriminator_transport); 'none': without")
    p.add_argument("--transport-step-size", type=float,
                   default=preset.get("transport_step_size", 0.01))
    p.add_argument("--loss", default=preset.get("loss", "non_saturating"))
    p.add_argument("--label-smoothing", type=float,
                   default=preset.get("label_smoothing", 0.0))
    p.add_argument("--g-lr", type=float, default=preset.get("g_lr", 2e-4))
    p.add_argument("--d-lr", type=float, default=preset.get("d_lr", 2e-4))
    p.add_argument("--beta-1", type=float, default=preset.get("beta_1", 0.5))
    p.add_argument("--beta-2", type=float, default=preset.get("beta_2", 0.999))
    p.add_argument("--d-steps", type=int, default=preset.get("d_steps"),
                   help="discriminator (critic) updates per generator update; "
                        "default the model's (WGAN-GP 5, the others 1)")
    p.add_argument("--ema", type=float, default=preset.get("ema", 0.999))
    p.add_argument("--g-top-k", type=float, default=preset.get("g_top_k"),
                   help="the generator learns from this share of each batch's "
                        "fakes, those rated most real (top-k training)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--eval-samples", type=int, default=10_000)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--evaluate-only", action="store_true")
    p.add_argument("--publish", action="store_true",
                   help="save the scored model as the zoo entry")
    p.add_argument("--zoo-dir", default=os.path.join(ROOT, "zoo"),
                   help="where --publish writes the entry")
    return add_weights_dtype_argument(p, preset)


def main(preset, argv=None):
    args = parser(preset).parse_args(argv)
    model = trained_model(args, train)
    print(f"keras-gen {keras_gen.__version__}")
    return score_and_publish(model, args)
