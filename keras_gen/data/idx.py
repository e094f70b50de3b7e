"""MNIST-style IDX files (gzip-compressed or raw) in a local folder.

The IDX layout (LeCun et al.): a big-endian uint32 magic number
`0x0800 + ndim` (0x08 = unsigned bytes), one big-endian uint32 per dimension,
then the values, row-major. Images are 3-D (magic 2051), labels 1-D (magic
2049). MNIST and Fashion-MNIST share the file names below.
"""

import gzip
import math
import pathlib
import struct
import zlib

import numpy as np

IDX_DATASETS = ("mnist", "fashion_mnist")
_FILE_PREFIXES = {"train": "train", "test": "t10k"}
_UNSIGNED_BYTE = 0x0800


def idx_file_names(split):
    """Returns the image and label file names of a split, without `.gz`.

    Args:
        split: str, `"train"` or `"test"`.

    Example:

    >>> idx_file_names("test")
    ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
    """
    prefix = _FILE_PREFIXES[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def idx_search_dirs(root, name):
    """Returns the folders searched for a data set's files, most specific first.

    Args:
        root: str or path, the folder given as `data_dir` (or in
            `KERAS_GEN_DATA_DIR`).
        name: str, the data set name, also the name of an optional subfolder.

    Example:

    >>> [str(d) for d in idx_search_dirs("/data", "mnist")]
    ['/data/mnist', '/data']
    """
    root = pathlib.Path(root).expanduser()
    return [root / name, root]


def find_idx_files(root, name, split):
    """Finds the image and label files of a split under `root`.

    `root/name/` is searched before `root/`, so one folder can hold a
    subfolder per data set. Each file may be gzip-compressed (`.gz`, preferred)
    or raw.

    Args:
        root: str or path, the folder to search.
        name: str, the data set name (`"mnist"` or `"fashion_mnist"`).
        split: str, `"train"` or `"test"`.

    Returns:
        `(images_path, labels_path)` from the first folder holding both, or
        None if no folder does.

    Example:

    >>> find_idx_files("/nowhere", "mnist", "train") is None
    True
    """
    for folder in idx_search_dirs(root, name):
        paths = [_find_file(folder / stem) for stem in idx_file_names(split)]
        if all(paths):
            return tuple(paths)
    return None


def _find_file(stem):
    """Returns `stem.gz` or `stem`, whichever exists first, else None."""
    for path in (stem.with_name(stem.name + ".gz"), stem):
        if path.is_file():
            return path
    return None


def read_idx(path, ndim):
    """Reads an IDX file of unsigned bytes into a numpy array, checking it.

    Args:
        path: str or path, the file; read through gzip if it ends in `.gz`.
        ndim: int, the expected number of dimensions (3 for images, 1 for
            labels), i.e. the expected magic number is `2048 + ndim`.

    Returns:
        A read-only uint8 numpy array of the shape given in the header.

    Raises:
        ValueError: naming the file, if it is not valid gzip, has another
            magic number, or its length does not match its header
            (truncated or corrupted).

    Example:

    >>> labels = read_idx("train-labels-idx1-ubyte.gz", ndim=1)  # doctest: +SKIP
    >>> labels.shape  # doctest: +SKIP
    (60000,)
    """
    path = pathlib.Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                data = file.read()
        else:
            data = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(
            f"IDX file {path} is not valid gzip data ({error}); the file is "
            "corrupted or truncated: download it again."
        ) from None
    header_size = 4 * (1 + ndim)
    if len(data) < header_size:
        raise ValueError(
            f"IDX file {path} is truncated: {len(data)} bytes, shorter than "
            f"its {header_size}-byte header."
        )
    magic = int.from_bytes(data[:4], "big")
    expected_magic = _UNSIGNED_BYTE + ndim
    if magic != expected_magic:
        raise ValueError(
            f"IDX file {path} starts with magic number {magic}, expected "
            f"{expected_magic} (unsigned bytes, {ndim} dimensions); the file is "
            "corrupted or not the file its name says."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected_size = header_size + math.prod(shape)
    if len(data) != expected_size:
        raise ValueError(
            f"IDX file {path} has {len(data)} bytes but its header declares "
            f"shape {shape}, i.e. {expected_size} bytes; the file is "
            "truncated or corrupted."
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape)


def read_idx_split(images_path, labels_path, image_shape):
    """Reads matching IDX image and label files, checking them against each other.

    Args:
        images_path: str or path, the 3-D IDX file of images.
        labels_path: str or path, the 1-D IDX file of labels.
        image_shape: tuple of int, the expected `(height, width, 1)`.

    Returns:
        `(images, labels)`: uint8 arrays of shape `(n,) + image_shape` and
        `(n,)`.

    Raises:
        ValueError: if a file is invalid (see `read_idx`), the image size is
            not `image_shape`, or the counts of images and labels differ.

    Example:

    >>> images, labels = read_idx_split(  # doctest: +SKIP
    ...     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", (28, 28, 1))
    """
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[1:] + (1,) != tuple(image_shape):
        raise ValueError(
            f"IDX file {images_path} holds images of size {images.shape[1:]}, "
            f"expected {tuple(image_shape[:2])}; is it from another data set?"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"IDX files do not match: {images_path} holds {len(images)} images "
            f"but {labels_path} holds {len(labels)} labels."
        )
    return images[..., np.newaxis], labels
