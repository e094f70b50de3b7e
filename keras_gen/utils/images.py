"""Turning samples into pictures: image grids and 2-D scatter plots as PNG."""

import math
import os

import numpy as np
import tensorflow as tf

from keras_gen.utils.files import atomic_write_bytes


def to_uint8(images):
    """Maps float images in [-1, 1] to uint8 in [0, 255] (clipping outliers)."""
    images = np.clip((np.asarray(images, "float32") + 1.0) * 127.5, 0, 255)
    return np.round(images).astype("uint8")


def image_grid(images, columns=None, padding=2):
    """Tiles `(n, H, W, C)` images in [-1, 1] into one uint8 image.

    Args:
        images: float array of shape `(n, H, W, C)` with values in [-1, 1].
        columns: int, images per row; defaults to ceil(sqrt(n)).
        padding: int, pixels of black between tiles.

    Returns:
        uint8 array `(rows * (H + padding) + padding, ..., C)`.
    """
    images = to_uint8(images)
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros(
        (
            rows * (height + padding) + padding,
            columns * (width + padding) + padding,
            channels,
        ),
        "uint8",
    )
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def scatter_plot(point_sets, colors, bounds=(-3.0, 3.0), size=400, radius=1):
    """Draws sets of 2-D points as colored dots on a white square.

    Args:
        point_sets: list of float arrays of shape `(n, 2)`.
        colors: list of RGB tuples, one per point set (drawn in order).
        bounds: `(low, high)`, the square of data coordinates shown.
        size: int, side of the picture in pixels.
        radius: int, half-width of each dot in pixels.

    Returns:
        uint8 RGB array `(size, size, 3)`; y grows upwards.
    """
    picture = np.full((size, size, 3), 255, "uint8")
    low, high = bounds
    center = int(round((0 - low) / (high - low) * (size - 1)))
    if 0 <= center < size:  # Light grey axes through the origin.
        picture[center, :] = picture[:, center] = 225
    for points, color in zip(point_sets, colors):
        points = np.asarray(points, "float32")
        pixels = np.round((points - low) / (high - low) * (size - 1)).astype(int)
        cols, rows = pixels[:, 0], size - 1 - pixels[:, 1]
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                r, c = rows + dy, cols + dx
                inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
                picture[r[inside], c[inside]] = color
    return picture


def save_png(path, picture):
    """Writes a uint8 `(H, W, C)` array as a PNG file, atomically."""
    if picture.ndim == 2:
        picture = picture[..., None]
    data = tf.io.encode_png(tf.constant(picture)).numpy()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    atomic_write_bytes(path, data)
