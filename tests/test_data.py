"""Tests of keras_gen.data: IDX files, TFDS (mocked), errors and toy data."""

import gzip
import pathlib

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_gen import data
from keras_gen.data import loader

# The project's ../shared/data/mnist, when this machine has it.
REAL_MNIST_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared/data/mnist"
MIXTURES = ("gaussian_mixture_8", "gaussian_mixture_25")
TOYS = MIXTURES + ("swiss_roll",)


@pytest.fixture(autouse=True)
def no_data_dir_env(monkeypatch):
    """Keeps a KERAS_GEN_DATA_DIR set outside the tests from changing them."""
    monkeypatch.delenv(loader.DATA_DIR_ENV_VAR, raising=False)


@pytest.fixture
def offline_tfds(monkeypatch):
    """Makes TFDS act as on a machine with no prepared data and no network.

    Returns the list of keyword arguments `tfds.load` was called with.
    """
    calls = []

    def fake_load(name, **kwargs):
        calls.append(kwargs)
        raise AssertionError(f"Dataset {name}: could not find data in somewhere.")

    monkeypatch.setattr(tfds, "load", fake_load)
    monkeypatch.setattr(loader, "_network_available", lambda: False)
    return calls


# IDX files written by the tests.


def write_idx(path, array):
    """Writes a uint8 array as an IDX file, gzip-compressed if `path` ends in .gz."""
    array = np.asarray(array, np.uint8)
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(size.to_bytes(4, "big") for size in array.shape)
    content = header + array.tobytes()
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)


def fake_split(num_examples, offset=0):
    """Returns 28x28 uint8 images whose first pixel is 0 and last pixel 255."""
    images = np.full((num_examples, 28, 28), 128, np.uint8)
    images[:, 0, 0] = 0
    images[:, -1, -1] = 255
    images[:, 1, 1] = np.arange(num_examples) + offset  # Identifies the example.
    labels = (np.arange(num_examples) + offset) % 10
    return images, labels


def write_mnist_files(folder, num_train=5, num_test=3, compress=True):
    """Writes the four MNIST IDX files into `folder`; returns the train split."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    splits = {"train": fake_split(num_train), "t10k": fake_split(num_test, offset=100)}
    for prefix, (images, labels) in splits.items():
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return splits["train"]


def collect(dataset):
    """Concatenates the batches of a dataset of (examples, labels) into numpy."""
    batches = list(dataset.as_numpy_iterator())
    return tuple(np.concatenate(part) for part in zip(*batches))


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("in_subfolder", [False, True], ids=["folder", "parent"])
def test_idx_files_are_read_and_scaled(tmp_path, compress, in_subfolder):
    folder = tmp_path / "mnist" if in_subfolder else tmp_path
    images, labels = write_mnist_files(folder, compress=compress)

    dataset = data.load(
        "mnist", batch_size=2, with_labels=True, data_dir=tmp_path, shuffle=False
    )
    x, y = collect(dataset)

    assert [int(b.shape[0]) for b, _ in dataset] == [2, 2, 1]
    assert x.dtype == np.float32 and x.shape == (5, 28, 28, 1)
    assert y.dtype == np.int32 and y.shape == (5,)
    np.testing.assert_array_equal(x[:, 0, 0, 0], -1.0)
    np.testing.assert_array_equal(x[:, -1, -1, 0], 1.0)
    np.testing.assert_allclose(x[..., 0], images / 127.5 - 1.0, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_test_split_reads_t10k_files_unshuffled(tmp_path):
    write_mnist_files(tmp_path, num_test=7)
    dataset = data.load(
        "mnist", "test", batch_size=3, with_labels=True, data_dir=tmp_path
    )
    x, y = collect(dataset)
    np.testing.assert_array_equal(y, (np.arange(7) + 100) % 10)
    assert x.shape == (7, 28, 28, 1)


def test_load_arrays_is_the_whole_split_in_file_order(tmp_path):
    write_mnist_files(tmp_path, num_train=12_345, num_test=7)
    images, labels = data.load_arrays("mnist", with_labels=True, data_dir=tmp_path)
    assert images.dtype == np.float32 and images.shape == (7, 28, 28, 1)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, (np.arange(7) + 100) % 10)
    x, _ = collect(data.load("mnist", "test", with_labels=True, data_dir=tmp_path))
    np.testing.assert_array_equal(images, x)
    # More than one of its internal batches of 10,000, unshuffled.
    train = data.load_arrays("mnist", split="train", data_dir=tmp_path)
    assert isinstance(train, np.ndarray) and train.shape == (12_345, 28, 28, 1)
    x, _ = collect(data.load(
        "mnist", batch_size=5_000, with_labels=True, shuffle=False, data_dir=tmp_path
    ))
    np.testing.assert_array_equal(train, x)
    _, labels = data.load_arrays("mnist", "train", with_labels=True, data_dir=tmp_path)
    np.testing.assert_array_equal(labels, np.arange(12_345) % 10)


def test_load_arrays_refuses_toy_data(tmp_path):
    with pytest.raises(ValueError, match="toy data set.*use load"):
        data.load_arrays("gaussian_mixture_8")


def test_images_only_without_labels(tmp_path):
    write_mnist_files(tmp_path)
    batch = next(iter(data.load("mnist", batch_size=4, data_dir=tmp_path)))
    assert isinstance(batch, tf.Tensor) and batch.shape == (4, 28, 28, 1)


def test_env_var_names_the_data_dir(tmp_path, monkeypatch):
    write_mnist_files(tmp_path / "fashion_mnist")
    monkeypatch.setenv(loader.DATA_DIR_ENV_VAR, str(tmp_path))
    _, y = collect(data.load("fashion_mnist", with_labels=True, shuffle=False))
    np.testing.assert_array_equal(y, np.arange(5))


def test_subfolder_of_the_data_set_wins_over_the_parent(tmp_path):
    write_mnist_files(tmp_path, num_train=5)
    write_mnist_files(tmp_path / "fashion_mnist", num_train=9)
    for name, size in [("fashion_mnist", 9), ("mnist", 5)]:
        images, _ = collect(data.load(name, with_labels=True, data_dir=tmp_path))
        assert len(images) == size


def test_shuffle_is_reproducible_with_a_seed(tmp_path):
    write_mnist_files(tmp_path, num_train=50)

    def train_labels(**kwargs):
        dataset = data.load(
            "mnist", batch_size=50, with_labels=True, data_dir=tmp_path, **kwargs
        )
        return collect(dataset)[1]

    shuffled = train_labels(seed=3)
    np.testing.assert_array_equal(shuffled, train_labels(seed=3))
    assert not np.array_equal(shuffled, train_labels(shuffle=False))
    in_file_order = train_labels(shuffle=False)
    np.testing.assert_array_equal(np.sort(shuffled), np.sort(in_file_order))


def test_drop_remainder(tmp_path):
    write_mnist_files(tmp_path, num_train=5)
    dataset = data.load("mnist", batch_size=2, data_dir=tmp_path, drop_remainder=True)
    assert [int(batch.shape[0]) for batch in dataset] == [2, 2]


def corrupt_wrong_magic(path):
    write_idx(path, np.zeros((3, 28, 28)))
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[3] = 0x01  # 2049, the magic number of a label file.
    path.write_bytes(gzip.compress(bytes(content)))


def corrupt_truncated_content(path):
    write_idx(path, np.zeros((3, 28, 28)))
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))


def corrupt_truncated_header(path):
    path.write_bytes(gzip.compress((2051).to_bytes(4, "big") + b"\0\0"))


def corrupt_truncated_gzip(path):
    write_idx(path, np.zeros((3, 28, 28)))
    path.write_bytes(path.read_bytes()[:-20])


def corrupt_not_gzip(path):
    path.write_bytes(b"this is not gzip data at all")


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (corrupt_wrong_magic, "magic number 2049, expected 2051"),
        (corrupt_truncated_content, "truncated"),
        (corrupt_truncated_header, "truncated"),
        (corrupt_truncated_gzip, "not valid gzip"),
        (corrupt_not_gzip, "not valid gzip"),
    ],
)
def test_corrupted_idx_file_raises_a_clear_error(tmp_path, corrupt, message):
    write_mnist_files(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    corrupt(path)
    with pytest.raises(ValueError, match=message) as raised:
        data.load("mnist", data_dir=tmp_path)
    assert str(path) in str(raised.value)


def test_mismatched_image_and_label_counts_raise_a_clear_error(tmp_path):
    write_mnist_files(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4))
    with pytest.raises(ValueError, match="holds 5 images but .* holds 4 labels"):
        data.load("mnist", data_dir=tmp_path)


def test_images_of_another_size_raise_a_clear_error(tmp_path):
    write_mnist_files(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 32, 32)))
    with pytest.raises(ValueError, match=r"size \(32, 32\), expected \(28, 28\)"):
        data.load("mnist", data_dir=tmp_path)


# TFDS, mocked: no network, no prepared data.


@pytest.mark.parametrize(
    "name, shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]
)
def test_tfds_images_are_scaled_with_int32_labels(name, shape):
    with tfds.testing.mock_data(num_examples=6):
        x, y = collect(data.load(name, batch_size=4, with_labels=True, seed=0))
    assert x.dtype == np.float32 and x.shape == (6,) + shape
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert y.dtype == np.int32 and y.shape == (6,)
    assert ((0 <= y) & (y < 10)).all()


def test_missing_idx_data_set_names_what_was_searched(tmp_path, offline_tfds):
    with pytest.raises(data.DatasetNotFoundError) as raised:
        data.load("mnist", "test", data_dir=tmp_path)
    message = str(raised.value)
    for expected in (
        "t10k-images-idx3-ubyte",
        str(tmp_path / "mnist"),
        "TFDS: no prepared copy",
        "no network",
        "KERAS_GEN_DATA_DIR",
        "data_dir=",
    ):
        assert expected in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert isinstance(raised.value, FileNotFoundError)
    assert [call["download"] for call in offline_tfds] == [False]


def test_missing_data_set_without_any_folder_says_so(offline_tfds):
    with pytest.raises(data.DatasetNotFoundError, match="KERAS_GEN_DATA_DIR not set"):
        data.load("fashion_mnist")


def test_failed_tfds_download_is_summarized_in_one_line(monkeypatch):
    def fake_load(name, download, **kwargs):
        if not download:
            raise AssertionError("not prepared")
        raise ConnectionError("Max retries exceeded\n" + "deep traceback\n" * 50)

    monkeypatch.setattr(tfds, "load", fake_load)
    monkeypatch.setattr(loader, "_network_available", lambda: True)
    with pytest.raises(data.DatasetNotFoundError) as raised:
        data.load("cifar10")
    message = str(raised.value)
    assert "the download failed: ConnectionError: Max retries exceeded." in message
    assert "deep traceback" not in message and "KERAS_GEN_DATA_DIR" in message


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="Did you mean 'mnist'") as raised:
        data.load("mnsit")
    assert "gaussian_mixture_8" in str(raised.value)
    with pytest.raises(ValueError, match="Valid names"):
        data.get_info("imagenet")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
        (dict(batch_size=2.5), "batch_size must be a positive integer, got 2.5"),
        (dict(split="validation"), "split must be one of .* got 'validation'"),
        (dict(shuffle="yes"), "shuffle must be True, False or None"),
        (dict(seed="0"), "seed must be an integer or None"),
        (dict(with_labels=None), "with_labels must be True or False"),
        (dict(num_examples=0), "num_examples must be a positive integer"),
    ],
)
def test_bad_arguments_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load("gaussian_mixture_8", **kwargs)


def test_num_examples_is_only_for_toy_data(tmp_path):
    write_mnist_files(tmp_path)
    with pytest.raises(ValueError, match="toy data sets only"):
        data.load("mnist", data_dir=tmp_path, num_examples=10)


@pytest.mark.skipif(not REAL_MNIST_DIR.is_dir(), reason=f"no MNIST in {REAL_MNIST_DIR}")
@pytest.mark.parametrize("split, size", [("train", 60_000), ("test", 10_000)])
def test_real_mnist(split, size):
    # The parent folder: the loader finds its mnist/ subfolder.
    parent = REAL_MNIST_DIR.parent
    dataset = data.load(
        "mnist", split, batch_size=10_000, with_labels=True, data_dir=parent
    )
    x, y = collect(dataset)
    assert x.shape == (size, 28, 28, 1) and x.min() == -1.0 and x.max() == 1.0
    assert y.min() == 0 and y.max() == 9


# Toy data.


def test_catalog():
    assert data.list_datasets() == sorted(data.list_datasets())
    assert data.get_info("mnist") == data.DatasetInfo("mnist", (28, 28, 1), 10, "image")
    assert data.get_info("cifar10").shape == (32, 32, 3)
    for name in MIXTURES:
        info = data.get_info(name)
        assert (info.kind, info.shape) == ("toy", (2,))
        assert info.num_classes == len(data.mixture_centers(name))
    assert data.get_info("swiss_roll").num_classes is None


def test_mixture_geometry():
    ring = data.mixture_centers("gaussian_mixture_8")
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(ring[0], [2.0, 0.0])
    grid = data.mixture_centers("gaussian_mixture_25")
    assert grid.shape == (25, 2) and sorted(set(grid[:, 0])) == [-2, -1, 0, 1, 2]
    assert data.mixture_stddev("gaussian_mixture_8") == 0.02
    assert data.mixture_stddev("gaussian_mixture_25") == 0.05
    with pytest.raises(ValueError, match="not a Gaussian mixture"):
        data.mixture_centers("swiss_roll")


@pytest.mark.parametrize("name", TOYS)
def test_toy_shapes_and_epoch_length(name):
    dataset = data.load(name, batch_size=300, num_examples=1000, seed=0)
    sizes = [int(batch.shape[0]) for batch in dataset]
    assert sizes == [300, 300, 300, 100] and len(dataset) == 4
    batch = next(iter(dataset))
    assert batch.dtype == tf.float32 and batch.shape == (300, 2)


def test_toy_data_is_deterministic_given_the_seed():
    def points(seed, split="train", batch_size=100):
        dataset = data.load(
            "swiss_roll", split, batch_size=batch_size, seed=seed, num_examples=500,
            shuffle=False,
        )
        return np.concatenate(list(dataset.as_numpy_iterator()))

    np.testing.assert_array_equal(points(0), points(0))
    np.testing.assert_array_equal(points(0), points(0, batch_size=7))
    assert not np.allclose(points(0), points(1))
    assert not np.allclose(points(0), points(0, split="test"))


def test_toy_shuffling_is_reproducible_and_keeps_the_examples():
    def epochs(seed):
        dataset = data.load(
            "gaussian_mixture_8", batch_size=500, seed=seed, num_examples=500
        )
        return [next(iter(dataset)).numpy() for _ in range(2)]

    first, second = epochs(0)
    np.testing.assert_array_equal(epochs(0)[1], second)
    # Each epoch is reshuffled, but holds the same points.
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first, axis=0), np.sort(second, axis=0))


def test_swiss_roll_has_no_labels_and_a_unit_range():
    x = next(iter(data.load("swiss_roll", batch_size=5000, seed=0)))
    assert -1.6 < float(tf.reduce_min(x)) and float(tf.reduce_max(x)) < 2.1
    with pytest.raises(ValueError, match="has no labels"):
        data.load("swiss_roll", with_labels=True)


@pytest.mark.parametrize("name", MIXTURES)
def test_mixture_points_lie_near_their_labeled_center(name):
    dataset = data.load(
        name, batch_size=1000, with_labels=True, num_examples=3000, seed=0
    )
    x, y = collect(dataset)
    assert y.dtype == np.int32
    distances = np.abs(x - data.mixture_centers(name)[y])
    assert distances.max() < 5 * data.mixture_stddev(name)
    assert set(y) == set(range(data.get_info(name).num_classes))


def test_binarize_draws_pixels_with_their_intensity():
    from keras_gen.data import binarize

    images = np.full((200, 28, 28, 1), 0.5, "float32")  # p(white) = 0.75.
    binary = binarize(images, seed=0).numpy()
    assert set(np.unique(binary)) == {-1.0, 1.0}
    assert abs((binary == 1.0).mean() - 0.75) < 0.01
    np.testing.assert_array_equal(binary, binarize(images, seed=0).numpy())
    assert not np.array_equal(binary, binarize(images, seed=1).numpy())
    extremes = binarize(np.array([-1.0, 1.0], "float32")).numpy()
    np.testing.assert_array_equal(extremes, [-1.0, 1.0])
