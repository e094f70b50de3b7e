"""PixelCNN networks: masked convolutions and the gated two-stack variant.

Both networks map a binary image in {-1, 1} to one Bernoulli logit per
pixel, and the logit of pixel i (raster order: row by row, left to right)
sees only pixels j < i:

- `gated=False` is the PixelCNN of van den Oord et al. 2016a: a first
  convolution with mask A (the centre pixel excluded), then residual layers
  of mask B convolutions (centre included). Its receptive field has a blind
  spot (pixels up and to the right are never seen).
- `gated=True` (the default) is the gated PixelCNN of van den Oord et al.
  2016b: a vertical stack sees the rows above, a horizontal stack the
  pixels to the left in the current row and the vertical stack through a
  1x1 link; gates tanh(a) * sigmoid(b). No blind spot. Its causality comes
  from padding and shifting (no masks), so no weight is spent on zeros.

Both can condition on a class label (an embedding added to every layer's
pre-activation). Besides `call` (all logits in one pass, for training and
likelihoods), the networks have `sample(draw, batch_size, labels)`, the
pixel-by-pixel loop that reuses work between pixels (TensorFlow control
flow, so it runs inside a `tf.function` or a SavedModel). The model
(`keras_gen.models.PixelCNN`) decides how a pixel is drawn from its logit.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def _check_odd_kernel(name, value):
    if not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ValueError(f"{name} must be an odd positive int, received {value!r}.")


def _zero_padded_array(size, padding, batch_size, element_shape, dtype):
    """A `tf.TensorArray` of `size` elements `(batch, *element_shape)`.

    The first `padding` elements are written as zeros; the others are
    written once each as sampling goes. `dtype` is the network's compute
    dtype (bfloat16 under the `mixed_bfloat16` policy).
    """
    array = tf.TensorArray(
        dtype, size=size, element_shape=(None, *element_shape),
        clear_after_read=False,
    )
    zeros = tf.zeros((padding, batch_size, *element_shape), dtype)
    return array.scatter(tf.range(padding), zeros)


def _computed(layer, variable):
    """`layer`'s `variable` in its compute dtype, for the sampling methods.

    They run outside `__call__`, so Keras does not cast the float32
    variables of a `mixed_bfloat16` layer to its bfloat16 compute dtype.
    """
    return ops.cast(variable, layer.compute_dtype)


def _gate(x):
    """tanh(a) * sigmoid(b) of the two halves of the channels."""
    a, b = ops.split(x, 2, axis=-1)
    return ops.tanh(a) * ops.sigmoid(b)


@keras.saving.register_keras_serializable(package="keras_gen")
class MaskedConv2D(keras.layers.Layer):
    """A k x k convolution that sees only the pixels before the centre.

    The kernel is multiplied by a fixed mask: rows below the centre and
    pixels right of it in the centre row are zeroed; mask `"A"` also zeroes
    the centre (the first layer: a pixel must not see itself), mask `"B"`
    keeps it (later layers: the centre feature already excludes its pixel).
    Zero "same" padding. Hidden channels are not split into colour groups:
    this is the one-channel (binary image) case.

    Args:
        filters: int, output channels.
        kernel_size: odd int, the side of the square kernel.
        mask_type: `"A"` or `"B"`.
        **kwargs: passed to `keras.layers.Layer`.

    Example:

    ```python
    layer = MaskedConv2D(32, 7, "A")
    features = layer(images)  # (batch, H, W, 32)
    ```
    """

    def __init__(self, filters, kernel_size, mask_type, **kwargs):
        super().__init__(**kwargs)
        _check_odd_kernel("kernel_size", kernel_size)
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', received {mask_type!r}.")
        self.filters = filters
        self.kernel_size = kernel_size
        self.mask_type = mask_type

    def build(self, input_shape):
        k = self.kernel_size
        self.kernel = self.add_weight(
            shape=(k, k, input_shape[-1], self.filters),
            initializer="glorot_uniform", name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.filters,), initializer="zeros", name="bias"
        )
        centre = k // 2
        rows = np.arange(k)[:, None]
        columns = np.arange(k)[None, :]
        last = centre if self.mask_type == "B" else centre - 1
        visible = (rows < centre) | ((rows == centre) & (columns <= last))
        # A constant, not a weight: it follows from the config.
        self.mask = visible.astype("float32")[:, :, None, None]

    def call(self, inputs):
        kernel = self.kernel * ops.cast(self.mask, self.kernel.dtype)
        return ops.conv(inputs, kernel, padding="same") + self.bias

    @property
    def visible_in_row(self):
        """How many pixels of the current row the centre sees (itself for B)."""
        return self.kernel_size // 2 + (self.mask_type == "B")

    def call_on_rows_above(self, rows):
        """The part of one output row that comes from the rows above it.

        For sampling. `rows` `(batch, kernel_size // 2, W, C)` are the
        input rows above the output row (zeros above the image); returns
        `(batch, 1, W, filters)`, without the bias.
        """
        half = self.kernel_size // 2
        rows = ops.pad(rows, [[0, 0], [0, 0], [half, half], [0, 0]])
        return ops.conv(rows, _computed(self, self.kernel)[:half], padding="valid")

    def call_on_row_prefix(self, pixels):
        """The part of one output pixel that comes from its own row, plus bias.

        For sampling. `pixels` `(batch, 1, visible_in_row, C)` are the
        input pixels left of the output pixel (and the pixel itself for
        mask B), zeros left of the image; returns `(batch, 1, 1, filters)`.
        """
        half = self.kernel_size // 2
        kernel = _computed(self, self.kernel)[half : half + 1, : self.visible_in_row]
        return ops.conv(pixels, kernel, padding="valid") + _computed(self, self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size,
            mask_type=self.mask_type,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_gen")
class CausalConv2D(keras.layers.Layer):
    """A convolution over a causal neighbourhood, by padding (no mask).

    - `"vertical"`: output (r, c) sees rows r - k//2 .. r and columns
      c - k//2 .. c + k//2 (a (k//2 + 1) x k kernel);
    - `"horizontal"`: output (r, c) sees row r, columns c - k//2 .. c (a
      1 x (k//2 + 1) kernel).

    With `shift=True` the input is first shifted by one row down
    (vertical) or one column right (horizontal), so the current row
    (pixel) is excluded: the first layer of the gated PixelCNN. Zero
    padding, output of the input's spatial size.

    Args:
        filters: int, output channels.
        kernel_size: odd int, k.
        direction: `"vertical"` or `"horizontal"`.
        shift: bool, exclude the current row (vertical) or pixel
            (horizontal).
        **kwargs: passed to `keras.layers.Layer`.

    Example:

    ```python
    above = CausalConv2D(64, 7, "vertical", shift=True)(images)
    ```
    """

    def __init__(self, filters, kernel_size, direction, shift=False, **kwargs):
        super().__init__(**kwargs)
        _check_odd_kernel("kernel_size", kernel_size)
        if direction not in ("vertical", "horizontal"):
            raise ValueError(
                "direction must be 'vertical' or 'horizontal', received "
                f"{direction!r}."
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.direction = direction
        self.shift = bool(shift)

    def _kernel_shape(self):
        half = self.kernel_size // 2
        if self.direction == "vertical":
            return (half + 1, self.kernel_size)
        return (1, half + 1)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(*self._kernel_shape(), input_shape[-1], self.filters),
            initializer="glorot_uniform", name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.filters,), initializer="zeros", name="bias"
        )

    def call(self, inputs):
        half, shift = self.kernel_size // 2, int(self.shift)
        if self.direction == "vertical":
            x = ops.pad(inputs, [[0, 0], [half + shift, 0], [half, half], [0, 0]])
            if shift:
                x = x[:, :-1]
        else:
            x = ops.pad(inputs, [[0, 0], [0, 0], [half + shift, 0], [0, 0]])
            if shift:
                x = x[:, :, :-1]
        return ops.conv(x, self.kernel, padding="valid") + self.bias

    @property
    def window_size(self):
        """Input rows (vertical) or columns (horizontal) one output sees."""
        return self._kernel_shape()[0 if self.direction == "vertical" else 1]

    def call_on_window(self, window):
        """The output at one causal position, from the input it sees.

        For sampling. Vertical: `window` `(batch, window_size, W, C)` holds
        the input rows the output row sees (for `shift=True`, the rows above
        it); returns that output row `(batch, 1, W, filters)`. Horizontal:
        `window` `(batch, 1, window_size, C)` holds the input columns one
        output pixel sees; returns `(batch, 1, 1, filters)`. Positions
        outside the image must be zeros, as `call`'s padding makes them.
        """
        if self.direction == "vertical":
            half = self.kernel_size // 2
            window = ops.pad(window, [[0, 0], [0, 0], [half, half], [0, 0]])
        kernel, bias = _computed(self, self.kernel), _computed(self, self.bias)
        return ops.conv(window, kernel, padding="valid") + bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size,
            direction=self.direction, shift=self.shift,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_gen")
class GatedPixelCNNBlock(keras.layers.Layer):
    """One layer of the gated PixelCNN: a vertical and a horizontal stack.

        v_pre = vertical_conv(v) (+ label embedding)
        v_out = tanh * sigmoid gate of v_pre
        h_pre = horizontal_conv(h) + link(v_pre) (+ label embedding)
        h_out = h + residual(gate of h_pre)   (no skip in the first block)

    The vertical features at row r depend only on the image rows above r,
    so linking them into the horizontal stack at the same row keeps
    causality. `vertical` and `horizontal` are exposed separately for
    row-by-row sampling.

    Args:
        filters: int, channels of both stacks (the convolutions give
            2 * filters before the gate).
        kernel_size: odd int, k (see `CausalConv2D`).
        first: bool, the first block (shifted convolutions, no residual).
        num_classes: int or None, for a label embedding.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, filters, kernel_size, first=False, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.first = bool(first)
        self.num_classes = num_classes
        self.vertical_conv = CausalConv2D(
            2 * filters, kernel_size, "vertical", shift=first, name="vertical_conv"
        )
        self.horizontal_conv = CausalConv2D(
            2 * filters, kernel_size, "horizontal", shift=first,
            name="horizontal_conv",
        )
        self.link = keras.layers.Conv2D(2 * filters, 1, name="link")
        self.residual = keras.layers.Conv2D(filters, 1, name="residual")
        if num_classes is not None:
            self.vertical_label = keras.layers.Embedding(
                num_classes, 2 * filters, name="vertical_label"
            )
            self.horizontal_label = keras.layers.Embedding(
                num_classes, 2 * filters, name="horizontal_label"
            )

    def build(self, input_shape):
        vertical_shape, horizontal_shape = input_shape[:2]
        self.vertical_conv.build(vertical_shape)
        self.horizontal_conv.build(horizontal_shape)
        pre_shape = (*vertical_shape[:-1], 2 * self.filters)
        self.link.build(pre_shape)
        self.residual.build((*horizontal_shape[:-1], self.filters))
        if self.num_classes is not None:
            self.vertical_label.build((None,))
            self.horizontal_label.build((None,))

    def label_terms(self, labels=None):
        """`(vertical, horizontal)` label biases `(batch, 1, 1, 2 * filters)`."""
        if labels is None:
            return 0.0, 0.0
        return (
            self.vertical_label(labels)[:, None, None, :],
            self.horizontal_label(labels)[:, None, None, :],
        )

    def vertical_from_preactivation(self, pre, label_terms):
        """`(v_out, to_horizontal)` from the vertical convolution's output."""
        vertical_label, horizontal_label = label_terms
        pre = pre + vertical_label
        return _gate(pre), self.link(pre) + horizontal_label

    def vertical(self, v, labels=None):
        """`(v_out, to_horizontal)`: the next vertical features and the link."""
        return self.vertical_from_preactivation(
            self.vertical_conv(v), self.label_terms(labels)
        )

    def horizontal_from_preactivation(self, h, pre, to_horizontal):
        """The next horizontal features from the horizontal convolution's output."""
        out = self.residual(_gate(pre + to_horizontal))
        return out if self.first else h + out

    def horizontal(self, h, to_horizontal):
        """The next horizontal features, given the vertical link of the row(s)."""
        return self.horizontal_from_preactivation(
            h, self.horizontal_conv(h), to_horizontal
        )

    def call(self, inputs):
        v, h = inputs[:2]
        labels = inputs[2] if len(inputs) > 2 else None
        v, to_horizontal = self.vertical(v, labels)
        return v, self.horizontal(h, to_horizontal)

    def compute_output_shape(self, input_shape):
        vertical_shape, horizontal_shape = input_shape[:2]
        return (
            (*vertical_shape[:-1], self.filters),
            (*horizontal_shape[:-1], self.filters),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, first=self.first,
            num_classes=self.num_classes,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_gen")
class PixelCNNNetwork(keras.Model):
    """A PixelCNN: binary image -> one Bernoulli logit per pixel.

    The logit of pixel (r, c) depends only on the pixels before it in raster
    order (and on the label, if conditional). Layout for `gated=True`:
    a first `GatedPixelCNNBlock` with shifted convolutions of kernel size
    k, then `num_layers - 1` blocks with `hidden_kernel_size`, then a head
    ReLU -> 1x1 conv (`filters`) -> ReLU -> 1x1 conv (1 logit). For
    `gated=False`: a k x k mask A convolution, `num_layers - 1` residual
    layers h + MaskedConv2D_B(ReLU(h)), then the same head.

    Args:
        image_shape: tuple `(height, width, 1)`: binary images, one channel.
        filters: int, feature channels. Defaults to 64.
        num_layers: int >= 1, the first layer included. Defaults to 12.
        kernel_size: odd int, the first layer's kernel. Defaults to 7.
        hidden_kernel_size: odd int, the later layers' kernel. Defaults to 3.
        gated: bool, the gated two-stack network (default) or the masked
            one.
        num_classes: int or None. If set, the network takes
            `[images, labels]` (int labels of shape `(batch,)`).
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    network = PixelCNNNetwork((28, 28, 1), filters=32, num_layers=8)
    logits = network(binary_images)  # (batch, 28, 28, 1)
    ```

    References:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016.
        https://arxiv.org/abs/1601.06759
        van den Oord et al., "Conditional Image Generation with PixelCNN
        Decoders", NeurIPS 2016. https://arxiv.org/abs/1606.05328
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        filters=64,
        num_layers=12,
        kernel_size=7,
        hidden_kernel_size=3,
        gated=True,
        num_classes=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "pixelcnn_network")
        super().__init__(**kwargs)
        image_shape = tuple(image_shape)
        if len(image_shape) != 3 or image_shape[-1] != 1:
            raise ValueError(
                "PixelCNNNetwork models binary images with one channel: "
                f"expected image_shape=(height, width, 1), received {image_shape}."
            )
        for name, value in (("filters", filters), ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, received {value!r}.")
        _check_odd_kernel("kernel_size", kernel_size)
        _check_odd_kernel("hidden_kernel_size", hidden_kernel_size)
        self.image_shape = image_shape
        self.filters = filters
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.hidden_kernel_size = hidden_kernel_size
        self.gated = bool(gated)
        self.num_classes = num_classes
        if self.gated:
            self.blocks = [
                GatedPixelCNNBlock(
                    filters,
                    kernel_size if index == 0 else hidden_kernel_size,
                    first=index == 0,
                    num_classes=num_classes,
                    name=f"gated_block_{index}",
                )
                for index in range(num_layers)
            ]
        else:
            self.convolutions = [
                MaskedConv2D(
                    filters,
                    kernel_size if index == 0 else hidden_kernel_size,
                    "A" if index == 0 else "B",
                    name=f"masked_conv_{index}",
                )
                for index in range(num_layers)
            ]
            if num_classes is not None:
                self.label_embeddings = [
                    keras.layers.Embedding(
                        num_classes, filters, name=f"label_embedding_{index}"
                    )
                    for index in range(num_layers)
                ]
        self.head_hidden = keras.layers.Conv2D(filters, 1, name="head_hidden")
        self.head_logits = keras.layers.Conv2D(image_shape[-1], 1, name="logits")
        self.build()

    def build(self, input_shape=None):
        """Creates every weight (the input shape is fixed by `image_shape`)."""
        if self.gated:  # Blocks are run through their methods, not called.
            depth = self.image_shape[-1]
            for block in self.blocks:
                shape = (None, *self.image_shape[:-1], depth)
                block.build([shape, shape])
                depth = self.filters
        images = ops.zeros((1, *self.image_shape))
        self.call(images if self.num_classes is None else [
            images, ops.zeros((1,), "int32")
        ])
        self.built = True

    # ------------------------------------------------------------------
    # The full forward pass.
    # ------------------------------------------------------------------

    def _split(self, inputs):
        if self.num_classes is None:
            return inputs, None
        images, labels = inputs
        return images, ops.cast(ops.reshape(labels, (-1,)), "int32")

    def _head(self, h):
        h = self.head_hidden(ops.relu(h))
        return self.head_logits(ops.relu(h))

    def _masked_features(self, images, labels):
        h = None
        for index, conv in enumerate(self.convolutions):
            out = conv(images if index == 0 else ops.relu(h))
            if labels is not None:
                out = out + self.label_embeddings[index](labels)[:, None, None, :]
            h = out if index == 0 else h + out
        return h

    def call(self, inputs, training=False):
        """Bernoulli logits `(batch, H, W, 1)` for images in {-1, 1}."""
        images, labels = self._split(inputs)
        if not self.gated:
            return self._head(self._masked_features(images, labels))
        v = h = images
        for block in self.blocks:
            v, to_horizontal = block.vertical(v, labels)
            h = block.horizontal(h, to_horizontal)
        return self._head(h)

    def compute_output_shape(self, input_shape):
        if self.num_classes is not None:
            input_shape = input_shape[0]
        return (*input_shape[:-1], self.image_shape[-1])

    # ------------------------------------------------------------------
    # Autoregressive sampling.
    # ------------------------------------------------------------------

    def sample(self, draw, batch_size, labels=None):
        """Draws images pixel by pixel in raster order (traceable TF code).

        For each pixel (r, c), computes its logits `(batch, 1)` from the
        pixels drawn so far and calls `draw(logits, r, c)`, which returns
        the pixel's values `(batch, 1)` in {-1, 1}. Work is reused: the
        gated network caches every layer's features (the vertical stacks of
        the rows above, the horizontal stacks of the current row), so each
        layer computes one new row per row and one new pixel per pixel, in
        total about one forward pass over the image. The masked network
        does the same with its layers' inputs: once per row, the part of
        each masked convolution that sees the rows above; per pixel, the
        part that sees the current row.

        Args:
            draw: callable `(logits, row, column) -> pixels`, rows and
                columns as scalar int32 tensors.
            batch_size: int or scalar int32 tensor.
            labels: int32 tensor `(batch,)` if conditional, else None.

        Returns:
            float32 tensor `(batch, H, W, 1)` of the drawn pixels.
        """
        # The caches hold features in the compute dtype (bfloat16 under the
        # `mixed_bfloat16` policy); logits reach `draw` in float32.
        dtype = self.compute_dtype

        def draw_cached(logits, row, column):
            return ops.cast(draw(ops.cast(logits, "float32"), row, column), dtype)

        sample = self._sample_gated if self.gated else self._sample_masked
        return ops.cast(sample(draw_cached, batch_size, labels, dtype), "float32")

    def _sample_masked(self, draw, batch_size, labels, dtype):
        height, width, channels = self.image_shape
        convolutions = self.convolutions
        halves = [conv.kernel_size // 2 for conv in convolutions]
        label_terms = (
            [0.0] * len(convolutions) if labels is None
            else [e(labels)[:, None, None, :] for e in self.label_embeddings]
        )
        # Each layer's input (the image, then the residual stream h before
        # its ReLU) is cached as rows (complete rows above) and as pixels
        # (the current row); zeros above and left of the image stand for
        # the zero padding of the full pass. A mask sees the rows above
        # (computed once per row) and the row's pixels up to the centre
        # (computed per pixel).
        top = left = max(max(halves), 1)
        depths = [channels] + [self.filters] * (len(convolutions) - 1)

        def row_step(row, row_caches):
            row_caches = list(row_caches)
            above = []
            for index, conv in enumerate(convolutions):
                half = halves[index]
                if half == 0:
                    above.append(0.0)
                    continue
                rows = tf.transpose(
                    row_caches[index].gather(top + row - half + tf.range(half)),
                    (1, 0, 2, 3),
                )
                rows = rows if index == 0 else ops.relu(rows)
                above.append(conv.call_on_rows_above(rows))

            def pixel_step(column, pixel_caches):
                pixel_caches = list(pixel_caches)
                h = None
                for index, conv in enumerate(convolutions):
                    visible = conv.visible_in_row
                    end = left + column + (conv.mask_type == "B")
                    pixels = tf.transpose(
                        pixel_caches[index].gather(end - visible + tf.range(visible)),
                        (1, 0, 2),
                    )[:, None]
                    pixels = pixels if index == 0 else ops.relu(pixels)
                    out = conv.call_on_row_prefix(pixels) + label_terms[index]
                    if halves[index]:
                        out = out + tf.gather(above[index], column[None], axis=2)
                    h = out if index == 0 else h + out
                    if index + 1 < len(convolutions):
                        pixel_caches[index + 1] = pixel_caches[index + 1].write(
                            left + column, h[:, 0, 0]
                        )
                logits = self._head(h)[:, 0, 0, :]
                pixel_caches[0] = pixel_caches[0].write(
                    left + column, draw(logits, row, column)
                )
                return column + 1, pixel_caches

            _, pixel_caches = tf.while_loop(
                lambda column, _: column < width,
                pixel_step,
                (tf.constant(0), [
                    _zero_padded_array(left + width, left, batch_size, (depth,), dtype)
                    for depth in depths
                ]),
            )
            for index, pixels in enumerate(pixel_caches):
                pixels = pixels.gather(left + tf.range(width))  # (W, B, C)
                row_caches[index] = row_caches[index].write(
                    top + row, tf.transpose(pixels, (1, 0, 2))
                )
            return row + 1, row_caches

        _, row_caches = tf.while_loop(
            lambda row, _: row < height,
            row_step,
            (tf.constant(0), [
                _zero_padded_array(top + height, top, batch_size, (width, depth), dtype)
                for depth in depths
            ]),
        )
        images = row_caches[0].gather(top + tf.range(height))  # (H, B, W, C)
        return tf.transpose(images, (1, 0, 2, 3))

    def _sample_gated(self, draw, batch_size, labels, dtype):
        height, width, channels = self.image_shape
        blocks = self.blocks
        label_terms = [block.label_terms(labels) for block in blocks]
        # Each block's input is cached as a `tf.TensorArray` of rows (the
        # vertical stacks) and, for the current row, of pixels (the
        # horizontal stacks): writing one row or pixel is then O(its size).
        # Zero rows above the image and zero pixels left of it stand for the
        # zero padding of the full pass.
        top = left = max(block.kernel_size for block in blocks) // 2 + 1
        depths = [channels] + [self.filters] * (len(blocks) - 1)

        def window(array, end, size):
            """Elements end - size .. end - 1, stacked on axis 0."""
            return array.gather(end - size + tf.range(size))

        def row_step(row, vertical):
            vertical = list(vertical)
            links = []
            for index, block in enumerate(blocks):
                conv = block.vertical_conv
                end = top + row + (0 if block.first else 1)
                rows = tf.transpose(
                    window(vertical[index], end, conv.window_size), (1, 0, 2, 3)
                )
                v_out, to_horizontal = block.vertical_from_preactivation(
                    conv.call_on_window(rows), label_terms[index]
                )
                links.append(to_horizontal)
                if index + 1 < len(blocks):
                    vertical[index + 1] = vertical[index + 1].write(
                        top + row, v_out[:, 0]
                    )

            def pixel_step(column, horizontal):
                horizontal = list(horizontal)
                for index, block in enumerate(blocks):
                    conv = block.horizontal_conv
                    end = left + column + (0 if block.first else 1)
                    pixels = tf.transpose(
                        window(horizontal[index], end, conv.window_size), (1, 0, 2)
                    )[:, None]
                    h = horizontal[index].read(left + column)[:, None, None]
                    link = tf.gather(links[index], column[None], axis=2)
                    h = block.horizontal_from_preactivation(
                        h, conv.call_on_window(pixels), link
                    )
                    if index + 1 < len(blocks):
                        horizontal[index + 1] = horizontal[index + 1].write(
                            left + column, h[:, 0, 0]
                        )
                logits = self._head(h)[:, 0, 0, :]
                horizontal[0] = horizontal[0].write(
                    left + column, draw(logits, row, column)
                )
                return column + 1, horizontal

            _, horizontal = tf.while_loop(
                lambda column, _: column < width,
                pixel_step,
                (tf.constant(0), [
                    _zero_padded_array(left + width, left, batch_size, (depth,), dtype)
                    for depth in depths
                ]),
            )
            pixels = horizontal[0].gather(left + tf.range(width))  # (W, B, C)
            vertical[0] = vertical[0].write(top + row, tf.transpose(pixels, (1, 0, 2)))
            return row + 1, vertical

        _, vertical = tf.while_loop(
            lambda row, _: row < height,
            row_step,
            (tf.constant(0), [
                _zero_padded_array(top + height, top, batch_size, (width, depth), dtype)
                for depth in depths
            ]),
        )
        images = vertical[0].gather(top + tf.range(height))  # (H, B, W, C)
        return tf.transpose(images, (1, 0, 2, 3))

    # ------------------------------------------------------------------
    # Growing a trained network.
    # ------------------------------------------------------------------

    def deepen_from(self, source):
        """Takes a trained `PixelCNNNetwork` with fewer layers.

        Copies `source`'s layers into this network's first
        `source.num_layers` layers and its head, and makes every extra layer
        (appended after them, before the head) add zero to the residual
        stream: the gated blocks' `residual` convolution is zeroed (so
        h + residual(...) = h), the masked layers' convolution and label
        embedding are zeroed. This network then computes exactly what
        `source` does. The extra gated blocks' vertical stacks start from
        the last trained block's vertical features with their random
        initialization, so the zero convolutions get gradients and training
        grows the extra layers from there, each widening the receptive
        field by one row (the zero-initialized residual branch of Fixup
        and SkipInit).

        Args:
            source: a built `PixelCNNNetwork` with the same settings but
                `num_layers`, which must be at most this network's.

        Raises:
            ValueError: when `source` cannot be grown into this network.
        """
        for name in ("image_shape", "filters", "kernel_size",
                     "hidden_kernel_size", "gated", "num_classes"):
            if getattr(source, name) != getattr(self, name):
                raise ValueError(
                    f"Can only deepen a PixelCNN network with the same {name}: "
                    f"this one has {getattr(self, name)!r}, the source "
                    f"{getattr(source, name)!r}."
                )
        if source.num_layers > self.num_layers:
            raise ValueError(
                f"Can only deepen: the source has {source.num_layers} layers, "
                f"this network {self.num_layers}."
            )
        pairs = [(self.head_hidden, source.head_hidden),
                 (self.head_logits, source.head_logits)]
        if self.gated:
            pairs += zip(self.blocks, source.blocks)
        else:
            pairs += zip(self.convolutions, source.convolutions)
            if self.num_classes is not None:
                pairs += zip(self.label_embeddings, source.label_embeddings)
        for layer, trained in pairs:
            layer.set_weights(trained.get_weights())
        extra = range(source.num_layers, self.num_layers)
        if self.gated:
            zeroed = [self.blocks[index].residual for index in extra]
        else:
            zeroed = [self.convolutions[index] for index in extra]
            if self.num_classes is not None:
                zeroed += [self.label_embeddings[index] for index in extra]
        for layer in zeroed:
            layer.set_weights([np.zeros(w.shape, w.dtype) for w in layer.get_weights()])

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            filters=self.filters,
            num_layers=self.num_layers,
            kernel_size=self.kernel_size,
            hidden_kernel_size=self.hidden_kernel_size,
            gated=self.gated,
            num_classes=self.num_classes,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_pixelcnn_network(
    image_shape=(28, 28, 1),
    filters=64,
    num_layers=12,
    kernel_size=7,
    hidden_kernel_size=3,
    gated=True,
    num_classes=None,
    name="pixelcnn_network",
):
    """Builds a `PixelCNNNetwork` (see its docstring for the layout).

    Returns:
        A built `PixelCNNNetwork`, output shape `(batch, H, W, 1)` (logits).

    Example:

    ```python
    network = build_pixelcnn_network((28, 28, 1), filters=32, num_layers=8)
    ```
    """
    return PixelCNNNetwork(
        image_shape=image_shape, filters=filters, num_layers=num_layers,
        kernel_size=kernel_size, hidden_kernel_size=hidden_kernel_size,
        gated=gated, num_classes=num_classes, name=name,
    )
