"""What the recipes share: where the data is, the training-time ledger, and
the checkpointed training loop and publishing of an entry."""

import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Real MNIST: KERAS_GEN_DATA_DIR, else ../shared/data beside the repository.
DEFAULT_DATA_DIR = os.environ.get(
    "KERAS_GEN_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")
)
_LEDGER = "train_seconds.json"
_INIT_SOURCE = "init_source.json"  # What a fine-tuning run started from.
MNIST_TRAIN_EXAMPLES = 60_000

# docs/metrics.md: the same protocol (10,000 images vs the MNIST test split,
# the shipped classifier's features) applied to reference image sets.
CALIBRATION_NOTE = """Reference rows (docs/metrics.md, same protocol: 10,000 images against the
MNIST test split): training images FID 0.967, classifier score 9.78,
precision 0.866, recall 0.880; training images + N(0, 0.1) noise FID 2.09;
3x3-blurred training images FID 65.3, recall 0.091; uniform noise FID 673,
classifier score 1.00."""


def card_notes(entry, out, epochs, extra=""):
    """The card's notes: how to reproduce the entry and what it cost.

    `epochs` is an int or a description (e.g. "60 ELBO + 20 IWAE").
    """
    seconds = read_train_seconds(out)
    cost = f", {seconds / 60:.0f} minutes of training" if seconds else ""
    return (
        f"Reproduce with the commands in `zoo/recipes/{entry}.py` ({epochs} "
        f"epochs{cost} on a 2-CPU machine shared with other jobs).\n\n" + extra
    )


def epochs_text(epochs, scores):
    """"10", or "21 (dcgan_mnist version 4) + 10 fine-tuning" for a run
    started `--init-from` (`scores["init_from"]`, `scores["init_from_epochs"]`,
    from `init_source_record`); "pixelcnn_mnist version 2's + 4
    fine-tuning" when the source entry did not record its epochs."""
    if not scores.get("init_from"):
        return epochs
    if scores.get("init_from_epochs") is None:
        return f"{scores['init_from']}'s + {epochs} fine-tuning"
    return (f"{scores['init_from_epochs']} ({scores['init_from']}) + {epochs} "
            "fine-tuning")


def add_train_seconds(out, seconds):
    """Adds a run's training time to `out`'s total (runs resume); returns it."""
    from keras_gen.utils import files

    total = seconds + (read_train_seconds(out) or 0.0)
    files.atomic_write_bytes(
        os.path.join(out, _LEDGER), json.dumps({"train_seconds": total}).encode()
    )
    return total


def read_train_seconds(out):
    """Total training time recorded in `out`, or None."""
    path = os.path.join(out, _LEDGER)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["train_seconds"]


def resume_or_build(out, resume, seed, build_model):
    """`(model, epochs_done)`: the checkpoint in `out`, or a new model.

    With `resume` and a checkpoint (`AtomicCheckpoint`'s `model.keras`) in
    `out`, the checkpoint with its optimizer state; else `build_model()`
    after seeding Keras's global random state with `seed`. A checkpoint
    trained under another dtype policy than the global one (a float32 run
    resumed with `--mixed-precision`, or the reverse) continues under the
    global policy (`under_global_policy`).
    """
    import keras

    from keras_gen import callbacks

    checkpoint = os.path.join(out, callbacks.AtomicCheckpoint.MODEL_FILE)
    if resume and os.path.exists(checkpoint):
        epochs_done = callbacks.AtomicCheckpoint.epochs_done(out)
        print(f"resuming {checkpoint} after epoch {epochs_done}")
        model = keras.saving.load_model(checkpoint)
        return under_global_policy(model, build_model), epochs_done
    keras.utils.set_random_seed(seed)
    return build_model(), 0


def under_global_policy(model, build_model):
    """`model`, or a copy built under the global dtype policy if it has another.

    Keras reloads a layer with the policy it was saved with, but the layers
    a subclassed layer creates take the global one, so a checkpoint
    reloaded under another policy would compute partly in each. The copy
    (`build_model()`, same architecture, compiled) gets the weights and the
    optimizer's state (its step, hence the learning-rate schedule, and its
    moments); both are float32 under either policy.
    """
    import keras

    policy = keras.config.dtype_policy().name
    if model.dtype_policy.name == policy:
        return model
    if build_model is None or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"The checkpoint was trained under the {model.dtype_policy.name!r} "
            f"dtype policy and this run asks for {policy!r}; only models with "
            "one optimizer can change policy on resume. Resume with the "
            "policy the run started with."
        )
    print(f"continuing the {model.dtype_policy.name} checkpoint under {policy}")
    copy = build_model()
    copy.set_weights(model.get_weights())
    if not copy.optimizer.built:
        copy.optimizer.build(copy.trainable_variables)
    sources, targets = model.optimizer.variables, copy.optimizer.variables
    if [v.shape for v in sources] != [v.shape for v in targets]:
        raise ValueError(
            "build_model() made an optimizer whose state does not match the "
            "checkpoint's; it must build the checkpoint's architecture."
        )
    for source, target in zip(sources, targets):
        target.assign(source)
    return copy


def cosine_adam(args, steps_per_epoch):
    """Adam whose learning rate (`args.learning_rate`) decays on a cosine
    over this run's `args.epochs`, to 2% of its start.

    With `args.warmup_steps` (`--warmup-steps`) the rate first rises
    linearly from 0 over that many steps, and the cosine takes the rest of
    the run: a fresh Adam's first steps move every weight by the full rate
    (its update is about rate * sign(gradient)), which can throw a trained
    model far off (`zoo/recipes/realnvp_mnist.py` measures it).
    """
    import keras

    total = args.epochs * steps_per_epoch
    warmup = getattr(args, "warmup_steps", 0) or 0
    if not 0 <= warmup < total:
        raise ValueError(
            f"--warmup-steps must be in [0, {total}) (the run's steps), "
            f"received {warmup}."
        )
    if warmup:
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - warmup, alpha=0.02,
            warmup_target=args.learning_rate, warmup_steps=warmup,
        )
    else:
        schedule = keras.optimizers.schedules.CosineDecay(
            args.learning_rate, decay_steps=total, alpha=0.02
        )
    return keras.optimizers.Adam(schedule)


def trained_model(args, train, build_model=None):
    """The model a recipe scores: `train(args)`, or with `--evaluate-only`
    the checkpoint in `--out` as it is.

    With `--mixed-precision` (`add_common_arguments`), the model is built
    or reloaded under the `mixed_bfloat16` policy (float32 weights,
    bfloat16 compute) and, given `build_model` (a function returning a new
    model of the same architecture), returned as a float32 copy of its
    weights (`in_float32`): exact likelihoods, and an entry that computes
    in float32 everywhere.
    """
    import keras

    from keras_gen import callbacks
    from keras_gen import zoo

    if getattr(args, "mixed_precision", False):
        # Before the model is built or reloaded: Keras does not pass a
        # policy on to the layers a subclassed layer creates.
        keras.config.set_dtype_policy("mixed_bfloat16")
    os.makedirs(args.out, exist_ok=True)
    if args.evaluate_only:
        model = under_global_policy(
            keras.saving.load_model(
                os.path.join(args.out, callbacks.AtomicCheckpoint.MODEL_FILE)
            ),
            build_model,
        )
    else:
        model = train(args)
    if build_model is not None:
        model = in_float32(model, build_model)
    zoo.round_weights(model, getattr(args, "weights_dtype", "float32"))
    return model


def in_float32(model, build_model):
    """`model`'s weights in a float32 copy built by `build_model()`.

    Returns `model` itself when it already computes in float32; otherwise
    sets the global dtype policy to float32 (for what the recipe builds
    next) and returns `under_global_policy(model, build_model)`.
    """
    import keras

    if model.compute_dtype == "float32":
        return model
    keras.config.set_dtype_policy("float32")
    return under_global_policy(model, build_model)


def mnist_steps_per_epoch(args):
    """`--steps-per-epoch`, else one pass over MNIST's training images."""
    return args.steps_per_epoch or MNIST_TRAIN_EXAMPLES // args.batch_size


def fit_checkpointed(model, dataset, out, epochs, epochs_done, extra_callbacks=()):
    """`model.fit` with the recipes' callbacks and the training-time ledger.

    `extra_callbacks` run first, so the values they add to the epoch logs
    reach the checkpoint's `training_state.json` and `log.csv`. Then, every
    epoch: an atomic checkpoint (for `--resume`), a PNG of 100 samples, a
    CSV row of the logs, and the epoch's seconds added to the ledger (per
    epoch, so a run that is killed keeps the time of its finished epochs).
    """
    import keras

    from keras_gen import callbacks

    class TrainTimeLedger(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            add_train_seconds(out, time.perf_counter() - self.start)

    return model.fit(
        dataset, epochs=epochs, initial_epoch=epochs_done, verbose=2,
        callbacks=[
            *extra_callbacks,
            callbacks.AtomicCheckpoint(out),
            callbacks.SampleGrid(out, num_samples=100),
            callbacks.EpochLog(os.path.join(out, "log.csv")),
            TrainTimeLedger(),
        ],
    )


def _is_run_directory(init_from):
    return os.path.isdir(init_from) and not os.path.exists(
        os.path.join(init_from, "entry.json")
    )


def load_init_source(init_from):
    """The trained model `--init-from` names: a zoo entry (name or
    directory) or a training run's directory (its checkpoint `model.keras`)."""
    import keras

    from keras_gen import callbacks
    from keras_gen import zoo

    if not _is_run_directory(init_from):
        return zoo.load(init_from)
    checkpoint = os.path.join(init_from, callbacks.AtomicCheckpoint.MODEL_FILE)
    if not os.path.exists(checkpoint):
        raise FileNotFoundError(
            f"--init-from {init_from}: expected a zoo entry or a training "
            f"run's directory with {callbacks.AtomicCheckpoint.MODEL_FILE}."
        )
    return keras.saving.load_model(checkpoint)


def init_source_record(init_from):
    """What the card and scores say of the `--init-from` model: where it
    came from, its epochs and training seconds.

    An entry that was itself fine-tuned counts its source's epochs too
    (`init_from_epochs` + `epochs`), or None when its source's are unknown:
    the card never gives a fine-tuning run's epochs as a model's whole.
    """
    from keras_gen import callbacks
    from keras_gen import zoo

    if _is_run_directory(init_from):
        source, epochs = init_from, callbacks.AtomicCheckpoint.epochs_done(init_from)
        lineage = os.path.join(init_from, _INIT_SOURCE)
        if os.path.exists(lineage):  # A run that was itself fine-tuned.
            with open(lineage) as f:
                earlier = json.load(f)
            source = f"{init_from} (fine-tuned from {earlier['source']})"
            epochs = None if earlier["epochs"] is None else earlier["epochs"] + epochs
        return {
            "source": source,
            "epochs": epochs,
            "train_seconds": read_train_seconds(init_from),
        }
    entry = zoo.get_entry(init_from)
    epochs = entry.metrics.get("epochs")
    if entry.metrics.get("init_from") and epochs is not None:
        earlier = entry.metrics.get("init_from_epochs")
        epochs = None if earlier is None else earlier + epochs
    return {
        "source": f"{entry.name} version {entry.version}",
        "epochs": epochs,
        "train_seconds": entry.metrics.get("train_seconds"),
    }


def start_from_init_source(args):
    """`--init-from`'s bookkeeping when a run starts: the source's training
    time counts towards this run's (`OUT/train_seconds.json`), and the
    source and its epochs are kept in `OUT/init_source.json`, so a run
    fine-tuned from this one's directory counts them too."""
    from keras_gen.utils import files

    earlier = init_source_record(args.init_from)
    add_train_seconds(args.out, earlier["train_seconds"] or 0.0)
    files.atomic_write_bytes(
        os.path.join(args.out, _INIT_SOURCE),
        json.dumps({"source": earlier["source"], "epochs": earlier["epochs"]}).encode(),
    )
    print(f"fine-tuning the networks of {earlier['source']}")


def init_from_scores(args):
    """The scores' record of `--init-from` (for `epochs_text` and the
    card): `{"init_from": source, "init_from_epochs": its epochs}`, or {}."""
    if not getattr(args, "init_from", None):
        return {}
    earlier = init_source_record(args.init_from)
    return {"init_from": earlier["source"], "init_from_epochs": earlier["epochs"]}


def copy_network_weights(source, model, hint):
    """Starts `model`'s networks (its class's `_networks`) from a trained
    model's of the same class and architecture.

    Raises ValueError, ending with `hint` (which flags to set), when
    `source` is another class, or its `_network_args` (e.g. RealNVP's
    `alpha`, which no weight shape shows) or any network's weight shapes
    differ.
    """

    def architecture(of):
        settings = {key: getattr(of, key, None) for key in type(model)._network_args}
        for name in type(model)._networks:
            network = getattr(of, name, None)
            settings[name] = None if network is None else [
                tuple(w.shape) for w in network.weights
            ]
        return settings

    def difference(key, expected, found):
        if key not in type(model)._networks:
            return f"{key} {found!r} (expected {expected!r})"
        if found is None or expected is None:
            return f"no {key} (expected one)" if found is None else (
                f"a {key} (expected none)")
        if len(found) != len(expected):
            return f"{key} of {len(found)} weights (expected {len(expected)})"
        index = next(i for i, (a, b) in enumerate(zip(expected, found)) if a != b)
        return (f"{key} weight {index} of shape {found[index]} (expected "
                f"{expected[index]})")

    name = type(model).__name__
    if type(source) is not type(model):
        raise ValueError(
            f"--init-from: expected a {name}, received a "
            f"{type(source).__name__}; {hint}"
        )
    expected, found = architecture(model), architecture(source)
    differ = [key for key in expected if found[key] != expected[key]]
    if differ:
        raise ValueError(
            f"--init-from: expected a {name} of this recipe's architecture, "
            f"received one with another {', '.join(sorted(differ))}: "
            + "; ".join(difference(key, expected[key], found[key]) for key in differ)
            + f". {hint}"
        )
    for network in type(model)._networks:
        if getattr(model, network, None) is not None:
            getattr(model, network).set_weights(getattr(source, network).get_weights())


def publish_entry(model, path, metadata, samples, weights_dtype="float32"):
    """Saves `model` as the zoo entry `path`, without optimizer state.

    Args:
        model: the trained model.
        path: the entry directory (its base name is the entry name).
        metadata: dict of `keras_gen.zoo.Entry` fields (`version`,
            `dataset`, `paper`, `metrics`, `description`, `notes`, ...).
        samples: float array `(100, H, W, C)` in [-1, 1], drawn as the
            card's 10x10 picture.
        weights_dtype: how the entry stores its weights (`--weights-dtype`;
            `trained_model` has rounded them already, so the scores are
            those of the stored weights).

    Returns:
        The `keras_gen.zoo.Entry` written.
    """
    import tensorflow as tf

    from keras_gen import zoo
    from keras_gen.utils import images

    grid = images.image_grid(samples, columns=10)
    entry = zoo.save(
        model, path,
        metadata={
            "license": "Apache-2.0 (weights); MNIST is CC BY-SA 3.0",
            **metadata,
        },
        samples_png=tf.io.encode_png(grid).numpy(),
        overwrite=True,
        optimizer_state=False,
        weights_dtype=weights_dtype,
    )
    print(f"published zoo/{entry.name} (version {entry.version})")
    return entry


def add_weights_dtype_argument(parser, preset):
    """`--weights-dtype`: how `--publish` stores the entry's weights."""
    parser.add_argument(
        "--weights-dtype", choices=["float32", "float16"],
        default=preset.get("weights_dtype", "float32"),
        help="store the entry's weights as float16 (half the size); the "
        "model is rounded to them before it is scored, so the entry's "
        "numbers are those of the stored weights",
    )
    return parser


def add_init_from_argument(parser, what, default=None):
    """`--init-from ENTRY_OR_RUN`: start from `what` (e.g. "a trained
    PixelCNN's network") of a zoo entry or a training run."""
    parser.add_argument(
        "--init-from", default=default, metavar="ENTRY_OR_RUN",
        help=f"start from {what}: a zoo entry (name or directory) or a "
             "training run's directory; a fresh optimizer and learning-rate "
             "schedule",
    )


def add_deepen_argument(parser, what):
    """`--deepen`: with `--init-from` a shallower model, grow it (the
    model's `deepen_from`), `what` (e.g. "the extra layers") starting as
    the identity."""
    parser.add_argument(
        "--deepen", action="store_true",
        help=f"with --init-from a shallower model of this recipe: copy it and "
             f"start {what} as the identity (deepen_from)",
    )


def initialized_model(args, build_model, hint):
    """`build_model(args)`, started from `--init-from`'s model when given:
    its networks copied (`copy_network_weights`, which ends its errors with
    `hint`), or with `--deepen` grown by the model's `deepen_from`."""
    model = build_model(args)
    if args.init_from:
        source = load_init_source(args.init_from)
        if getattr(args, "deepen", False):
            model.deepen_from(source)
        else:
            copy_network_weights(source, model, hint)
        start_from_init_source(args)
    return model


def parse_arguments(parser, argv):
    """`parser.parse_args(argv)`, refusing `--deepen` without `--init-from`."""
    args = parser.parse_args(argv)
    if getattr(args, "deepen", False) and not args.init_from:
        parser.error("--deepen grows the model of --init-from; give one")
    return args


def add_common_arguments(parser, preset):
    """Adds the flags every likelihood recipe has to an `argparse` parser.

    `--out`, `--data-dir`, `--entry`, `--version`, `--description`,
    `--epochs`, `--steps-per-epoch`, `--batch-size`, `--learning-rate`,
    `--warmup-steps`, `--seed`, `--resume`, `--evaluate-only`, `--eval-examples`,
    `--score-samples`, `--publish`, `--zoo-dir`, `--mixed-precision` and
    `--weights-dtype`; defaults from `preset` (keys `entry`, `version`,
    `description`, `epochs`, `batch_size`, `learning_rate`, optionally
    `weights_dtype`).
    """
    p = parser
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--entry", default=preset["entry"])
    p.add_argument("--version", type=int, default=preset["version"])
    p.add_argument("--description", default=preset["description"])
    p.add_argument("--epochs", type=int, default=preset["epochs"])
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=preset["batch_size"])
    p.add_argument("--learning-rate", type=float, default=preset["learning_rate"])
    p.add_argument("--warmup-steps", type=int, default=preset.get("warmup_steps", 0),
                   help="raise the learning rate linearly from 0 over this "
                        "many steps first (for fine-tuning with --init-from)")
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
    p.add_argument("--mixed-precision", action="store_true",
                   help="train under the mixed_bfloat16 policy (float32 "
                   "weights, bfloat16 compute); scored and published in "
                   "float32. With --resume, the run continues under the "
                   "policy this flag gives, whichever the checkpoint had")
    return add_weights_dtype_argument(p, preset)


def run_record(out, model, settings):
    """What a results file records besides the scores: cost, settings, versions."""
    import platform

    import keras_gen
    from keras_gen import callbacks

    return {
        "train_seconds": read_train_seconds(out),
        "epochs": callbacks.AtomicCheckpoint.epochs_done(out),
        "settings": settings,
        "parameters": model.count_params(),
        "keras_gen": keras_gen.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }


def fresh_results(path, out, weights_dtype="float32"):
    """The results JSON at `path`, or None if missing, older than the
    checkpoint in `out` (written before the model trained on), or measured
    on weights stored otherwise (`settings["weights_dtype"]`)."""
    from keras_gen import callbacks

    if not os.path.exists(path):
        return None
    with open(path) as f:
        results = json.load(f)
    if results.get("epochs") != callbacks.AtomicCheckpoint.epochs_done(out):
        return None
    if results.get("settings", {}).get("weights_dtype", "float32") != weights_dtype:
        return None
    return results
