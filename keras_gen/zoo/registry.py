"""The zoo: list, describe, load and save pretrained entries.

An entry is a directory holding `model.keras` (the trainable model),
`entry.json` (metadata with the sha256 of every other file), `card.md` (a
model card) and usually `samples.png`. Shipped entries live in the
repository's `zoo/` folder and are installed with the package (as
`keras_gen/pretrained/`); more folders can be listed in the environment
variable `KERAS_GEN_ZOO_PATH` (separated by `os.pathsep`).
"""

import difflib
import io
import os
import shutil
import tempfile
import zipfile

import h5py
import keras
import numpy as np

from keras_gen.utils import files
from keras_gen.version import __version__
from keras_gen.zoo import remote
from keras_gen.zoo.entry import CARD_FILE
from keras_gen.zoo.entry import ENTRY_FILE
from keras_gen.zoo.entry import MODEL_FILE
from keras_gen.zoo.entry import SAMPLES_FILE
from keras_gen.zoo.entry import Entry
from keras_gen.zoo.entry import IntegrityError
from keras_gen.zoo.entry import check_name
from keras_gen.zoo.entry import sha256_of

ZOO_PATH_ENV_VAR = "KERAS_GEN_ZOO_PATH"
# How an entry's weights can be stored (`save(weights_dtype=...)`).
WEIGHTS_DTYPES = ("float32", "float16")
# The file inside a `.keras` archive that holds the variables.
_KERAS_WEIGHTS_FILE = "model.weights.h5"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def zoo_dirs():
    """The folders searched for entries, in order."""
    dirs = [
        d for d in os.environ.get(ZOO_PATH_ENV_VAR, "").split(os.pathsep) if d
    ]
    dirs += [
        os.path.join(_PACKAGE_DIR, "pretrained"),  # Installed with the package.
        os.path.join(os.path.dirname(_PACKAGE_DIR), "zoo"),  # A source checkout.
    ]
    return [d for d in dirs if os.path.isdir(d)]


def _local_entries():
    """name -> entry directory, the first folder of `zoo_dirs` winning."""
    found = {}
    for directory in zoo_dirs():
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if name not in found and os.path.isfile(os.path.join(path, ENTRY_FILE)):
                found[name] = path
    return found


def list_entries():
    """Names of the entries available offline, sorted."""
    return sorted(_local_entries())


def _read_entry(directory):
    with open(os.path.join(directory, ENTRY_FILE), encoding="utf-8") as f:
        return Entry.from_json(f.read(), source=os.path.join(directory, ENTRY_FILE))


def _unknown_name_error(name):
    names = list_entries()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return ValueError(
        f"Unknown zoo entry {name!r}.{hint} Available entries: "
        f"{', '.join(names) or 'none'}."
    )


def resolve(name_or_path, cache_dir=None):
    """The local directory of an entry given by name, path or URI.

    Names are looked up in `zoo_dirs()`; an existing directory is used as
    is; `https://`, `http://`, `gs://` and `file://` URIs are fetched into
    the cache (checked against their sha256) first.
    """
    name_or_path = os.fspath(name_or_path)
    if remote.is_remote(name_or_path):
        return remote.fetch_entry(name_or_path, cache_dir)
    if os.path.isdir(name_or_path):
        if not os.path.isfile(os.path.join(name_or_path, ENTRY_FILE)):
            raise ValueError(
                f"{name_or_path!r} is a directory but not a zoo entry: it has "
                f"no {ENTRY_FILE}."
            )
        return os.path.abspath(name_or_path)
    if os.sep in name_or_path or name_or_path.startswith("."):
        raise ValueError(f"No zoo entry directory at {name_or_path!r}.")
    check_name(name_or_path)
    entries = _local_entries()
    if name_or_path not in entries:
        raise _unknown_name_error(name_or_path)
    return entries[name_or_path]


def verify(directory):
    """Checks every file of an entry against `entry.json`; returns the Entry.

    Raises:
        IntegrityError: if a listed file is missing or its sha256 differs,
            or if `model.keras` is not listed.
    """
    entry = _read_entry(directory)
    if MODEL_FILE not in entry.files:
        raise IntegrityError(f"{directory}: entry.json lists no {MODEL_FILE}.")
    for file_name, expected in entry.files.items():
        path = os.path.join(directory, file_name)
        if not os.path.isfile(path):
            raise IntegrityError(f"{directory}: {file_name} is missing.")
        actual = sha256_of(path)
        if actual != expected:
            raise IntegrityError(
                f"{path} does not match its sha256 in entry.json (expected "
                f"{expected[:12]}..., found {actual[:12]}...): the file is "
                "corrupted or was changed. It was not loaded."
            )
    return entry


def get_entry(name_or_path, cache_dir=None):
    """The metadata (`Entry`) of an entry, its files verified."""
    return verify(resolve(name_or_path, cache_dir))


def load(name_or_path, compile=True, cache_dir=None):
    """Loads an entry's trainable Keras model, after checking its files.

    The `.keras` file is loaded with `safe_mode=True` (no arbitrary code),
    and only once every file matches the sha256 recorded in `entry.json`.

    Args:
        name_or_path: an entry name (`"dcgan_mnist"`), an entry directory,
            or a URI (`https://...`, `gs://...`, `file://...`) of one.
        compile: bool, restore the compile state (optimizers included), so
            the model is ready for more `fit`.
        cache_dir: where remote entries are cached (default
            `~/.cache/keras_gen`).

    Returns:
        The keras-gen model.

    Example:

    >>> gan = keras_gen.zoo.load("dcgan_mnist")  # doctest: +SKIP
    >>> images = gan.generate(16, seed=0)  # doctest: +SKIP
    """
    from keras_gen import models  # noqa: F401  (registers the classes)

    directory = resolve(name_or_path, cache_dir)
    verify(directory)
    return keras.saving.load_model(
        os.path.join(directory, MODEL_FILE), compile=compile, safe_mode=True
    )


def _card_text(entry):
    metrics = "\n".join(
        f"| {name} | {value:.4g} |" if isinstance(value, float)
        else f"| {name} | {value} |"
        for name, value in sorted(entry.metrics.items())
    ) or "| (none recorded) | |"
    storage = "" if entry.weights_dtype == "float32" else (
        f"\n- Weights: stored as {entry.weights_dtype} (the trained float32 "
        "weights rounded; loaded and run in float32; measured as stored)."
    )
    return f"""# {entry.name} (version {entry.version})

{entry.description or f"A {entry.model_class} trained on {entry.dataset}."}

- Model: `keras_gen.models.{entry.model_class}`, {entry.parameters:,} parameters,
  latent size {entry.latent_dim}, samples of shape {tuple(entry.image_shape)}.
- Data: {entry.dataset}.
- Paper: {entry.paper or "-"}
- License: {entry.license}{storage}

## Measured

| metric | value |
| --- | --- |
{metrics}

![samples]({SAMPLES_FILE})
""" + (f"\n## Notes\n\n{entry.notes.strip()}\n" if entry.notes else "")


def _parameter_count(model):
    """Weights of the model's networks (not moving averages or trackers)."""
    networks = getattr(model, "networks", {})
    if not networks:
        return int(model.count_params())
    return int(sum(network.count_params() for network in networks.values()))


def _optimizers(model):
    """The optimizers a compiled keras-gen model holds (one, or G and D)."""
    found = [getattr(model, "optimizer", None)]
    found += [value for value in vars(model).values()
              if isinstance(value, keras.optimizers.Optimizer)]
    unique = []
    for optimizer in found:
        if optimizer is not None and all(optimizer is not o for o in unique):
            unique.append(optimizer)
    return unique


def _average_as_generator(model):
    """A copy of a GAN whose generator weights are its moving average.

    What `generate` and the serving export of `model` use, without storing
    the generator twice: the copy is built from the model's config, gets
    the average as its generator, the discriminator and the noise state,
    and is compiled with the model's settings but no moving average (an
    entry's file is a third smaller). Fine-tuning it starts from the
    averaged generator; `compile(generator_ema_decay=...)` starts a new
    average.
    """
    copy = type(model).from_config(model.get_config())
    copy.generator.set_weights([average.numpy() for average in model.generator_average])
    copy.discriminator.set_weights(model.discriminator.get_weights())
    copy.seed_generator.state.assign(model.seed_generator.state)
    config = dict(model.get_compile_config())
    config["generator_ema_decay"] = None
    copy.compile_from_config(config)
    return copy


def _check_weights_dtype(weights_dtype):
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ValueError(
            f"weights_dtype must be one of {WEIGHTS_DTYPES}, received {weights_dtype!r}."
        )


def round_weights(model, weights_dtype):
    """Rounds `model`'s float32 weights in place to `weights_dtype` values.

    What `save(..., weights_dtype="float16")` stores: round a model with
    this before measuring it, and the numbers are those of the entry it
    saves (storing rounded values as float16 loses nothing more). Weights
    of other dtypes (the seed state, integer counters) are left alone; the
    model still computes in float32.

    Args:
        model: a Keras model.
        weights_dtype: one of `WEIGHTS_DTYPES`; `"float32"` changes nothing.

    Raises:
        ValueError: for an unknown dtype, or a weight whose values `weights_dtype`
            cannot hold (beyond float16's largest finite value, 65504), named.
    """
    _check_weights_dtype(weights_dtype)
    if weights_dtype == "float32":
        return
    largest = float(np.finfo(weights_dtype).max)
    for variable in model.weights:
        if variable.dtype != "float32":
            continue
        value = variable.numpy()
        if value.size and np.abs(value).max() > largest:
            raise ValueError(
                f"Cannot store the weight {variable.path!r} as {weights_dtype}: "
                f"its largest magnitude {np.abs(value).max():.4g} is beyond "
                f"{weights_dtype}'s {largest:g}. Save it with weights_dtype='float32'."
            )
        variable.assign(value.astype(weights_dtype).astype("float32"))


def _weights_stored_as(weights_file, weights_dtype, skip_groups):
    """The bytes of a Keras weights file with its float32 arrays as `weights_dtype`.

    Keras casts a stored array to its variable's dtype when it loads one,
    so the archive loads with `keras.saving.load_model` as it is, into a
    float32 model. Arrays under the top-level groups `skip_groups` (the
    optimizers: their learning rate stays exact, and their zeroed state
    costs nothing compressed) are copied as they are. The file is written
    anew: HDF5 does not give back the space of a deleted array.
    """
    def copy(source, target):
        target.attrs.update(dict(source.attrs))
        for key, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(key))
                continue
            value = item[()]
            top = item.name.strip("/").split("/")[0]
            if value.dtype == np.float32 and top not in skip_groups:
                value = value.astype(weights_dtype)
            target.create_dataset(key, data=value)
            target[key].attrs.update(dict(item.attrs))

    rewritten = io.BytesIO()
    with h5py.File(io.BytesIO(weights_file), "r") as source, h5py.File(
        rewritten, "w"
    ) as target:
        copy(source, target)
    return rewritten.getvalue()


def _save_without_optimizer_state(model, path, scratch_dir, weights_dtype="float32"):
    """Saves `model` to `path` with its optimizers reset, compressed.

    The model is saved, reloaded as a copy (the caller's model is not
    touched), the copy's optimizer state (step counts and moments; not a
    constant learning rate, which Keras also keeps as an optimizer
    variable) is zeroed, which is exactly a fresh optimizer, and the archive
    is rewritten with deflate compression, which stores those zeros in
    almost no space. The compile configuration is kept: the entry loads
    ready for `fit`. A GAN with a moving average of its generator is
    shipped with the average as its generator (`_average_as_generator`).
    With `weights_dtype="float16"`, the copy's weights are rounded
    (`round_weights`) and stored as float16: half the size.
    """
    full = os.path.join(scratch_dir, "full.keras")
    model.save(full)
    copy = keras.saving.load_model(full, safe_mode=True)
    if getattr(copy, "generator_average", None) is not None:
        copy = _average_as_generator(copy)
    optimizers = _optimizers(copy)
    for optimizer in optimizers:
        for variable in optimizer.variables:
            if variable.name == "learning_rate":
                continue
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
    round_weights(copy, weights_dtype)
    optimizer_groups = {
        name for name, value in vars(copy).items()
        if any(value is optimizer for optimizer in optimizers)
    } | {"optimizer"}
    copy.save(full)
    with zipfile.ZipFile(full) as source, zipfile.ZipFile(
        path, "w", compression=zipfile.ZIP_DEFLATED
    ) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == _KERAS_WEIGHTS_FILE and weights_dtype != "float32":
                content = _weights_stored_as(content, weights_dtype, optimizer_groups)
            target.writestr(info.filename, content)
    os.remove(full)


def save(model, path, metadata, card=None, samples_png=None, overwrite=False,
         optimizer_state=True, weights_dtype="float32"):
    """Saves a model as a zoo entry directory, atomically.

    Everything is written into a temporary directory beside `path`, which
    is then renamed: a crash never leaves a half-written entry.

    Args:
        model: a keras-gen model.
        path: the entry directory to create; its base name is the entry name.
        metadata: dict of `Entry` fields (`version`, `dataset`, `license`,
            `paper`, `metrics`, `description`, ...); the rest is filled in
            from the model.
        card: str, the model card (markdown); generated from the metadata
            when None.
        samples_png: bytes of a PNG sample grid to ship, or None.
        overwrite: bool, replace an existing entry at `path`.
        optimizer_state: bool. True keeps the optimizers' state (moments,
            step counts), so training resumes exactly; False ships fresh
            optimizers with the same configuration, in a file about a third
            the size (what the shipped entries do). Fine-tuning such an
            entry restarts Adam's moments. A GAN with a moving average of
            its generator ships the average as its generator (the weights
            `generate` used) and no average: it samples the same, and
            fine-tuning starts from the averaged generator, without an
            average unless recompiled with `generator_ema_decay`.
        weights_dtype: `"float32"`, or `"float16"` to store the weights
            rounded to float16 (`round_weights`), in half the space; the
            entry still loads and computes in float32. Needs
            `optimizer_state=False` (Adam's second moments underflow in
            float16). Round the model first to measure what is stored.

    Returns:
        The `Entry` written.

    Raises:
        ValueError: for an unknown `weights_dtype`, float16 with optimizer
            state, or a weight float16 cannot hold.
    """
    path = os.path.abspath(os.fspath(path))
    name = check_name(os.path.basename(path))
    _check_weights_dtype(weights_dtype)
    if weights_dtype != "float32" and optimizer_state:
        raise ValueError(
            f"weights_dtype={weights_dtype!r} needs optimizer_state=False: Adam's "
            "moments do not survive float16 (small second moments become 0)."
        )
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"{path} exists; pass overwrite=True to replace it.")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.", dir=parent)
    # mkdtemp makes a private (0700) directory; an entry is as readable as
    # any other directory the user creates.
    os.chmod(staging, files.umasked(0o777))
    try:
        if optimizer_state:
            model.save(os.path.join(staging, MODEL_FILE))
        else:
            scratch = tempfile.mkdtemp(prefix=f".{name}.", dir=parent)
            try:
                _save_without_optimizer_state(
                    model, os.path.join(staging, MODEL_FILE), scratch, weights_dtype
                )
            finally:
                shutil.rmtree(scratch)
        if samples_png is not None:
            with open(os.path.join(staging, SAMPLES_FILE), "wb") as f:
                f.write(samples_png)
        fields = {
            "name": name,
            "model_class": type(model).__name__,
            "image_shape": list(model.data_shape),
            "latent_dim": model.latent_dim,
            "num_classes": model.num_classes,
            "parameters": _parameter_count(model),
            "keras_gen_version": __version__,
            "keras_version": keras.__version__,
            "optimizer_state": bool(optimizer_state),
            "weights_dtype": weights_dtype,
            **metadata,
        }
        entry = Entry(**fields)
        with open(os.path.join(staging, CARD_FILE), "w", encoding="utf-8") as f:
            f.write(card if card is not None else _card_text(entry))
        entry.files = {
            file_name: sha256_of(os.path.join(staging, file_name))
            for file_name in sorted(os.listdir(staging))
        }
        with open(os.path.join(staging, ENTRY_FILE), "w", encoding="utf-8") as f:
            f.write(entry.to_json())
        if os.path.exists(path):
            # Move the old entry aside, the new one in, then drop the old.
            retired = staging + ".old"
            os.replace(path, retired)
            os.replace(staging, path)
            shutil.rmtree(retired)
        else:
            os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
    return entry


def export(model_or_name, base_dir, version=None, name=None, cache_dir=None):
    """Exports an entry (or a model) for TF Serving: `base_dir/<name>/<version>/`.

    Also (re)writes `base_dir/models.config` listing every exported model.
    See `keras_gen.serving.export_model` for the signatures.

    Args:
        model_or_name: an entry name, path or URI, or a keras-gen model.
        base_dir: the TF Serving model base folder.
        version: int or None. For an entry, None uses the entry's version;
            for a model, one more than the newest exported version.
        name: str, the served name; defaults to the entry's name (required
            for a model).
        cache_dir: where remote entries are cached.

    Returns:
        The path of the exported SavedModel.
    """
    from keras_gen import serving

    if isinstance(model_or_name, keras.Model):
        model = model_or_name
        if name is None:
            raise ValueError("Exporting a model needs name= (e.g. 'my_dcgan').")
    else:
        directory = resolve(model_or_name, cache_dir)
        entry = verify(directory)
        model = load(directory, compile=False)
        name = name or entry.name
        version = version if version is not None else entry.version
    return serving.export_model(model, base_dir, check_name(name), version)


def load_serving(name_or_path, cache_dir=None):
    """The SavedModel of an entry, as TF Serving would run it.

    Exports the entry once into the cache (keyed by its `model.keras`
    sha256) and returns `tf.saved_model.load` of it: an object whose
    `signatures` are those TF Serving serves (`serving_default`, `sample`,
    and `encode` for the VAE family).
    """
    import tensorflow as tf

    from keras_gen.zoo.remote import default_cache_dir

    directory = resolve(name_or_path, cache_dir)
    entry = verify(directory)
    base_dir = os.path.join(
        cache_dir or default_cache_dir(), "serving", entry.files[MODEL_FILE][:16]
    )
    path = os.path.join(base_dir, entry.name, str(entry.version))
    if not os.path.isdir(path):
        export(directory, base_dir, cache_dir=cache_dir)
    return tf.saved_model.load(path)
