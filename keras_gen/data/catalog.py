"""The catalog of data sets `keras_gen.data.load` knows: names, shapes, classes."""

import dataclasses
import difflib


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a data set before seeing it.

    Args:
        name: str, the name passed to `keras_gen.data.load`.
        shape: tuple of int, the shape of one example (without the batch
            axis), e.g. `(28, 28, 1)` for MNIST or `(2,)` for 2-D toy data.
        num_classes: int or None, the number of distinct labels (mixture
            components for toy mixtures); None when examples have no label.
        kind: str, `"image"` (uint8 pixels served as float32 in [-1, 1]) or
            `"toy"` (2-D points generated in-graph, not rescaled).

    Example:

    >>> get_info("mnist")
    DatasetInfo(name='mnist', shape=(28, 28, 1), num_classes=10, kind='image')
    """

    name: str
    shape: tuple
    num_classes: int | None
    kind: str


_CATALOG = {
    info.name: info
    for info in (
        DatasetInfo("mnist", (28, 28, 1), 10, "image"),
        DatasetInfo("fashion_mnist", (28, 28, 1), 10, "image"),
        DatasetInfo("cifar10", (32, 32, 3), 10, "image"),
        DatasetInfo("gaussian_mixture_8", (2,), 8, "toy"),
        DatasetInfo("gaussian_mixture_25", (2,), 25, "toy"),
        DatasetInfo("swiss_roll", (2,), None, "toy"),
    )
}


def list_datasets():
    """Returns the names `keras_gen.data.load` accepts, sorted.

    Example:

    >>> "mnist" in list_datasets()
    True
    """
    return sorted(_CATALOG)


def get_info(name):
    """Returns the `DatasetInfo` of a data set, without loading it.

    Args:
        name: str, a name from `list_datasets()`.

    Returns:
        The `DatasetInfo` of `name`.

    Raises:
        ValueError: if `name` is unknown; the message lists close matches and
            the valid names.

    Example:

    >>> get_info("gaussian_mixture_8").num_classes
    8
    """
    if not isinstance(name, str):
        raise TypeError(
            f"The data set name must be a string, got {name!r} "
            f"({type(name).__name__}). Valid names: {', '.join(list_datasets())}."
        )
    if name not in _CATALOG:
        close = difflib.get_close_matches(name, _CATALOG, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown data set {name!r}.{hint} "
            f"Valid names: {', '.join(list_datasets())}."
        )
    return _CATALOG[name]
