"""Pictures and atomic writes."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_gen.utils import files
from keras_gen.utils import images


def test_image_grid_tiles_and_maps_range():
    batch = np.stack([np.full((2, 3, 1), v, "float32") for v in (-1.0, 0.0, 1.0)])
    grid = images.image_grid(batch, columns=2, padding=1)
    # 2 rows x 2 columns of 2x3 tiles with 1 pixel of padding.
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1, 1) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0  # -1 -> 0
    assert grid[1, 5, 0] == 128  # 0 -> 127.5, rounded
    assert grid[4, 1, 0] == 255  # 1 -> 255
    assert grid[0, 0, 0] == 0 and grid[4, 5, 0] == 0  # Padding and empty tile.


def test_scatter_plot_puts_points_where_they_belong():
    picture = images.scatter_plot(
        [np.array([[0.0, 0.0], [1.0, 1.0]])], [(255, 0, 0)],
        bounds=(-1.0, 1.0), size=101, radius=0,
    )
    assert tuple(picture[50, 50]) == (255, 0, 0)
    assert tuple(picture[0, 100]) == (255, 0, 0)  # y grows upwards.
    assert tuple(picture[100, 0]) == (255, 255, 255)


def test_save_png_round_trips(tmp_path):
    picture = np.arange(12, dtype="uint8").reshape(2, 2, 3)
    path = tmp_path / "sub" / "picture.png"
    images.save_png(str(path), picture)
    decoded = tf.io.decode_png(tf.io.read_file(str(path))).numpy()
    np.testing.assert_array_equal(decoded, picture)


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "file.bin"
    files.atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(path) as temporary:
            with open(temporary, "wb") as f:
                f.write(b"half")
            raise RuntimeError("crash mid-save")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_atomic_writes_get_the_permissions_of_any_new_file(tmp_path):
    previous = os.umask(0o022)
    try:
        files.atomic_write_bytes(tmp_path / "a.png", b"png")
        # tempfile alone would leave 0600: unreadable to a server or a group.
        assert os.stat(tmp_path / "a.png").st_mode & 0o777 == 0o644
        assert files.umasked(0o777) == 0o755
    finally:
        os.umask(previous)


def test_save_model_atomically_wants_a_keras_path(tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        files.save_model_atomically(object(), tmp_path / "model.h5")
