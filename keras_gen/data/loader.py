"""`load`: batched `tf.data` pipelines for image data sets and 2-D toy data.

Image data sets come from local IDX files when present (MNIST and
Fashion-MNIST, no network needed), otherwise from TensorFlow Datasets (TFDS).
Toy data sets are generated in-graph (see `keras_gen.data.toy`).
"""

import functools
import numbers
import os
import socket
import urllib.request

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_gen.data import idx
from keras_gen.data import toy
from keras_gen.data.catalog import get_info

DATA_DIR_ENV_VAR = "KERAS_GEN_DATA_DIR"
SPLITS = ("train", "test")
# Shuffle buffer of streamed examples (TFDS, toy data); examples read from
# IDX files are in memory anyway and are shuffled as a whole.
_SHUFFLE_BUFFER = 10_000
# TFDS downloads prepared data sets (and MNIST) from Google Cloud Storage.
_TFDS_DOWNLOAD_HOST = ("storage.googleapis.com", 443)
_NETWORK_TIMEOUT_SECONDS = 3.0
_MAX_REASON_LENGTH = 200


class DatasetNotFoundError(FileNotFoundError):
    """Raised by `load` when a data set is neither in local files nor in TFDS.

    The message names the folders and files searched, says in one line why
    TFDS could not provide the data set, and says how to provide it.

    Example:

    >>> try:  # doctest: +SKIP
    ...     load("cifar10", data_dir="/empty")
    ... except DatasetNotFoundError as error:
    ...     print(error)
    """


class _TFDSUnavailable(Exception):
    """TFDS cannot provide a data set; the message says why, in one line."""


def load(
    name,
    split="train",
    batch_size=64,
    with_labels=False,
    data_dir=None,
    shuffle=None,
    seed=None,
    drop_remainder=False,
    num_examples=None,
):
    """Returns a batched, prefetched `tf.data.Dataset` of a data set.

    Image data sets yield float32 images scaled from uint8 to [-1, 1]
    (x / 127.5 - 1), of shape `(batch,) + get_info(name).shape`. MNIST and
    Fashion-MNIST are read from the standard IDX files when a local folder
    holds them (`<dir>/` or `<dir>/<name>/`, with `<dir>` the `data_dir`
    argument or else the `KERAS_GEN_DATA_DIR` environment variable; files
    `train-*` for "train", `t10k-*` for "test", gzip-compressed or raw), and
    kept in memory as uint8. Otherwise, and for CIFAR-10, they come from TFDS
    (`tfds.load(name, data_dir=<dir>)`): a prepared copy is read directly, and
    a download is tried only if the TFDS download host can be reached, because
    offline TFDS retries for minutes before failing.

    Toy data sets yield float32 points of shape `(batch, 2)`, generated
    in-graph; `num_examples` sets the epoch length and `seed` the points.

    Args:
        name: str, a name from `keras_gen.data.list_datasets()`.
        split: str, `"train"` or `"test"`. Defaults to `"train"`.
        batch_size: int, examples per batch. Defaults to 64.
        with_labels: bool, if True yield `(examples, labels)` with int32
            labels of shape `(batch,)` (class, or mixture component for toy
            mixtures). Defaults to False.
        data_dir: str or path, folder with local IDX files or a TFDS data
            dir; None uses `KERAS_GEN_DATA_DIR`, then TFDS's default. Ignored
            for toy data. Defaults to None.
        shuffle: bool or None, whether to shuffle (each epoch anew). None
            shuffles the train split only. Defaults to None.
        seed: int or None, makes shuffling (and toy examples) reproducible.
            Defaults to None.
        drop_remainder: bool, drop a last batch smaller than `batch_size`.
            Defaults to False.
        num_examples: int or None, examples per epoch of toy data sets
            (None: 100_000). Must be None for image data sets.

    Returns:
        A `tf.data.Dataset` of batches.

    Raises:
        ValueError: for an unknown name (close matches are listed), a bad
            argument, or a corrupted or truncated IDX file.
        DatasetNotFoundError: if the data set is neither in local files nor
            available from TFDS.

    Example:

    >>> points = load("gaussian_mixture_8", batch_size=256, seed=0)
    >>> next(iter(points)).shape
    TensorShape([256, 2])
    >>> images = load("mnist", data_dir="~/data")  # doctest: +SKIP
    """
    info = get_info(name)
    _check_arguments(
        info, split, batch_size, with_labels, shuffle, seed, drop_remainder,
        num_examples,
    )
    if shuffle is None:
        shuffle = split == "train"
    if info.kind == "toy":
        examples = toy.toy_examples(
            name, split, num_examples or toy.DEFAULT_NUM_EXAMPLES, seed
        )
        buffer_size = _SHUFFLE_BUFFER
    else:
        examples, buffer_size = _image_examples(
            info, split, _resolve_data_dir(data_dir), shuffle, seed
        )
    if shuffle:
        examples = examples.shuffle(buffer_size, seed=seed)
    batches = examples.batch(batch_size, drop_remainder=drop_remainder)
    prepare = functools.partial(_prepare_batch, with_labels=with_labels)
    batches = batches.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def load_arrays(name, split="test", with_labels=False, data_dir=None):
    """A whole split of an image data set as numpy arrays, in file order.

    What scoring code needs (a test set to compare with, images to compute
    a likelihood on): the same examples as `load(name, split,
    shuffle=False)`, scaled the same way, concatenated.

    Args:
        name: str, an image data set from `keras_gen.data.list_datasets()`.
        split: str, `"train"` or `"test"`. Defaults to `"test"`.
        with_labels: bool, also return the int32 labels. Defaults to False.
        data_dir: as for `load`.

    Returns:
        float32 images `(num_examples,) + get_info(name).shape` in [-1, 1],
        or `(images, labels)` with `with_labels=True`.

    Raises:
        ValueError: for a toy data set (its examples are generated: use
            `load`), or any argument `load` refuses.
        DatasetNotFoundError: as for `load`.

    Example:

    >>> images, labels = load_arrays(  # doctest: +SKIP
    ...     "mnist", with_labels=True, data_dir="~/data")
    >>> images.shape, labels.shape  # doctest: +SKIP
    ((10000, 28, 28, 1), (10000,))
    """
    if get_info(name).kind == "toy":
        raise ValueError(
            f"load_arrays reads image data sets; {name!r} is a toy data set "
            "generated in-graph without a fixed size: use load(name, "
            "num_examples=...) instead."
        )
    batches = load(
        name, split=split, batch_size=10_000, with_labels=with_labels,
        data_dir=data_dir, shuffle=False,
    )
    if not with_labels:
        return np.concatenate([batch.numpy() for batch in batches])
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in batches))
    return np.concatenate(images), np.concatenate(labels)


def _prepare_batch(features, *labels, with_labels):
    """Scales uint8 images to float32 in [-1, 1]; keeps int32 labels if asked."""
    if features.dtype == tf.uint8:
        features = tf.cast(features, tf.float32) / 127.5 - 1.0
    if with_labels:
        return features, tf.cast(labels[0], tf.int32)
    return features


def _resolve_data_dir(data_dir):
    """Returns `data_dir`, else `KERAS_GEN_DATA_DIR`, else None; `~` expanded."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV_VAR) or None
    return None if data_dir is None else os.path.expanduser(os.fspath(data_dir))


def _image_examples(info, split, data_dir, shuffle, seed):
    """Returns unbatched `(uint8 image, label)` examples and a shuffle buffer size."""
    if data_dir is not None and info.name in idx.IDX_DATASETS:
        files = idx.find_idx_files(data_dir, info.name, split)
        if files:
            images, labels = idx.read_idx_split(*files, info.shape)
            examples = tf.data.Dataset.from_tensor_slices((images, labels))
            return examples, len(images)
    try:
        examples = _tfds_examples(info.name, split, data_dir, shuffle, seed)
        return examples, _SHUFFLE_BUFFER
    except _TFDSUnavailable as reason:
        message = _not_found_message(info.name, split, data_dir, reason)
        raise DatasetNotFoundError(message) from None


def _tfds_examples(name, split, data_dir, shuffle, seed):
    """Loads a split with TFDS, downloading only when the network answers.

    Offline, `tfds.load(download=True)` does not fail fast: its downloader
    retries each URL 10 times with exponential backoff (urllib3), about 3.5
    minutes before it gives up (measured with TFDS 4.9.10). So a prepared
    copy is first read with `download=False`, which fails in well under a
    second when there is none, and a download is tried only if the TFDS
    download host accepts a connection within a few seconds.
    """
    load_split = functools.partial(
        tfds.load,
        name,
        split=split,
        data_dir=data_dir,
        as_supervised=True,
        shuffle_files=shuffle,
        read_config=tfds.ReadConfig(shuffle_seed=seed),
    )
    try:
        return load_split(download=False)
    except AssertionError:  # TFDS's way to say: no prepared copy in data_dir.
        pass
    except Exception as error:
        raise _TFDSUnavailable(f"reading its prepared copy failed: {_summary(error)}")
    where = data_dir or "$TFDS_DATA_DIR or ~/tensorflow_datasets"
    if not _network_available():
        host, port = _TFDS_DOWNLOAD_HOST
        raise _TFDSUnavailable(
            f"no prepared copy in {where}, and no network to download one "
            f"({host}:{port} unreachable)"
        )
    try:
        return load_split(download=True)
    except Exception as error:
        raise _TFDSUnavailable(
            f"no prepared copy in {where}, and the download failed: {_summary(error)}"
        )


def _network_available():
    """Whether the TFDS download host accepts a connection (or a proxy is set)."""
    if urllib.request.getproxies():
        return True  # Only the proxy can tell; let TFDS try.
    try:
        socket.create_connection(
            _TFDS_DOWNLOAD_HOST, timeout=_NETWORK_TIMEOUT_SECONDS
        ).close()
    except OSError:
        return False
    return True


def _summary(error):
    """Returns `Type: first line of the message`, shortened."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    if len(text) > _MAX_REASON_LENGTH:
        text = text[: _MAX_REASON_LENGTH - 3] + "..."
    return text


def _not_found_message(name, split, data_dir, tfds_reason):
    """Says what was searched, why TFDS failed, and how to provide the data."""
    lines = [f"Data set {name!r} (split {split!r}) was not found."]
    if name in idx.IDX_DATASETS:
        images, labels = idx.idx_file_names(split)
        if data_dir is None:
            searched = f"no folder given (data_dir=None, {DATA_DIR_ENV_VAR} not set)"
        else:
            dirs = idx.idx_search_dirs(data_dir, name)
            searched = "not in " + " nor ".join(map(str, dirs))
        lines.append(f"IDX files {images}[.gz] and {labels}[.gz]: {searched}.")
        all_files = idx.idx_file_names("train") + idx.idx_file_names("test")
        how = (
            f"set {DATA_DIR_ENV_VAR} or pass data_dir= to a folder holding the "
            f"four IDX files ({', '.join(f + '.gz' for f in all_files)}; raw "
            f"files work too) or to its parent with a {name}/ subfolder"
        )
    else:
        how = (
            f"set {DATA_DIR_ENV_VAR} or pass data_dir= to a TFDS data dir "
            f"holding a prepared {name} (made on a machine with network with "
            f"`tfds build {name} --data_dir DIR`)"
        )
    lines.append(f"TFDS: {tfds_reason}.")
    lines.append(f"To fix: {how}; or run with network access and TFDS downloads it.")
    return "\n  ".join(lines)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_arguments(
    info, split, batch_size, with_labels, shuffle, seed, drop_remainder, num_examples
):
    """Raises a ValueError saying what was given and expected, if anything is off."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    if not _is_integer(batch_size) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    flags = {"with_labels": with_labels, "drop_remainder": drop_remainder}
    for flag_name, flag in flags.items():
        if flag not in (True, False):
            raise ValueError(f"{flag_name} must be True or False, got {flag!r}.")
    if shuffle not in (None, True, False):
        raise ValueError(
            "shuffle must be True, False or None (None shuffles the train "
            f"split only), got {shuffle!r}."
        )
    if seed is not None and not _is_integer(seed):
        raise ValueError(f"seed must be an integer or None, got {seed!r}.")
    if with_labels and info.num_classes is None:
        raise ValueError(
            f"{info.name!r} has no labels (get_info({info.name!r}).num_classes "
            "is None): call load with with_labels=False."
        )
    if num_examples is None:
        return
    if info.kind != "toy":
        raise ValueError(
            f"num_examples sets the epoch length of toy data sets only, got "
            f"num_examples={num_examples!r} for the image data set "
            f"{info.name!r}: leave it None (use dataset.take(num_batches) to "
            "shorten an epoch)."
        )
    if not _is_integer(num_examples) or num_examples <= 0:
        raise ValueError(
            f"num_examples must be a positive integer or None, got {num_examples!r}."
        )
