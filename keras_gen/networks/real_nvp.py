"""Real NVP's flow: affine couplings on Keras networks, squeeze, multi-scale.

The flow is a `tfp.bijectors` bijector built from three small bijectors
written here (TFP's `tfb.RealNVP` splits flat vectors along their last
axis, with no checkerboard masks on images, and TFP has no squeeze or
factor-out):

- `AffineCoupling`: y = x where the mask is 1, and
  y = x * exp(s(x_m)) + t(x_m) where it is 0, with s, t from a Keras
  `CouplingNetwork` that sees only the masked part x_m = x * mask
  (Dinh et al. 2017, sec. 3.2-3.4: checkerboard or channel-wise masks).
  Its log-determinant is sum(s) over the unmasked entries.
- `Squeeze`: (H, W, C) -> (H/2, W/2, 4C), each 2x2 block of pixels into
  channels (`tf.nn.space_to_depth`); a permutation, log-determinant 0.
- `FactorOut`: applies a bijector to the first channels and passes the
  others through unchanged. Under a standard normal base the passed-through
  half is exactly the paper's factored-out half (it goes straight to the
  latent).

`RealNVPNetwork` owns one `CouplingNetwork` per coupling layer (so Keras
tracks, trains and saves their weights) and `bijector()` assembles them
into the paper's multi-scale architecture with `tfb.Chain`.
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

# The greedy cache stores a coupling's log-determinant when its forward or
# inverse runs, so the shift-and-scale network runs once per direction (as
# TFP's own FFJORD and HighwayFlow bijectors do).
from tensorflow_probability.python.internal import cache_util

tfb = tfp.bijectors

_EVENT_NDIMS = 3  # (height, width, channels)
# Per scale but the last: checkerboard couplings, squeeze, channel
# couplings; the last scale: checkerboard couplings only (paper, sec. 4.1).
CHECKERBOARD_COUPLINGS = 3
CHANNEL_COUPLINGS = 3
LAST_SCALE_COUPLINGS = 4
# The coupling networks' normalization: none, or batch normalization.
NORMALIZATIONS = (None, "batch")


def checkerboard_mask(height, width, channels, parity):
    """A float32 `(height, width, channels)` mask: 1 where (row + col) % 2 == parity."""
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    mask = ((rows + columns) % 2 == parity).astype("float32")
    return np.repeat(mask[:, :, None], channels, axis=2)


def channel_mask(height, width, channels, parity):
    """A float32 `(height, width, channels)` mask: 1 on the first half of the
    channels (parity 0) or on the second half (parity 1)."""
    first = (np.arange(channels) < channels // 2).astype("float32")
    mask = first if parity == 0 else 1.0 - first
    return np.broadcast_to(mask, (height, width, channels)).copy()


def _sum_over_event(values):
    return tf.reduce_sum(values, axis=[-3, -2, -1])


@keras.saving.register_keras_serializable(package="keras_gen")
class CouplingNetwork(keras.layers.Layer):
    """The shift t and log-scale s of one affine coupling: a small ResNet.

    Input: `(batch, H, W, 2C)`, the masked image and the mask itself (so
    the network knows which pixels it conditions on). Layout: a 3x3
    convolution to `filters` channels, `num_blocks` residual blocks
    h + conv(ReLU(conv(ReLU(h)))), ReLU, and a 3x3 convolution to 2C
    channels, initialized to zero, so each coupling starts as the identity.
    The log-scale is `scale * tanh(raw)` with a learned per-channel `scale`
    (initially 1): bounded, so one coupling cannot blow a value up by an
    arbitrary factor early in training.

    With `normalization="batch"` every ReLU is preceded by batch
    normalization, as in the paper's ResNets (sec. 4.1): pre-activation
    blocks h + conv(ReLU(BN(conv(ReLU(BN(h)))))). The networks only
    compute s and t, so the flow stays invertible; in training the
    couplings of one example depend on the batch's statistics, at
    inference (likelihoods, sampling) on the moving averages, and the
    log-determinants are exact.

    Args:
        channels: int, C, the channels of the image being transformed.
        filters: int, the residual blocks' channels. Defaults to 32.
        num_blocks: int >= 0, residual blocks. Defaults to 1.
        normalization: None or `"batch"`. Defaults to None.
        **kwargs: passed to `keras.layers.Layer`.

    Returns (from `call`): `(shift, log_scale)`, each `(batch, H, W, C)`.
    """

    def __init__(
        self, channels, filters=32, num_blocks=1, normalization=None, **kwargs
    ):
        super().__init__(**kwargs)
        for name, value, low in (
            ("channels", channels, 1), ("filters", filters, 1),
            ("num_blocks", num_blocks, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(
                    f"{name} must be an int >= {low}, received {value!r}."
                )
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, received "
                f"{normalization!r}."
            )
        self.channels = channels
        self.filters = filters
        self.num_blocks = num_blocks
        self.normalization = normalization
        # One batch normalization before each ReLU: two per block and one
        # before the output convolution.
        self.norms = [
            keras.layers.BatchNormalization(name=f"norm_{i}")
            for i in range(2 * num_blocks + 1 if normalization else 0)
        ]
        self.input_conv = keras.layers.Conv2D(
            filters, 3, padding="same", name="input_conv"
        )
        self.block_convs = [
            keras.layers.Conv2D(filters, 3, padding="same", name=f"block_{i}_conv_{j}")
            for i in range(num_blocks)
            for j in range(2)
        ]
        self.output_conv = keras.layers.Conv2D(
            2 * channels, 3, padding="same", kernel_initializer="zeros",
            name="output_conv",
        )

    def build(self, input_shape):
        hidden_shape = (*input_shape[:-1], self.filters)
        self.input_conv.build(input_shape)
        for layer in [*self.block_convs, *self.norms]:
            layer.build(hidden_shape)
        self.output_conv.build(hidden_shape)
        self.log_scale_factor = self.add_weight(
            shape=(self.channels,), initializer="ones", name="log_scale_factor"
        )
        self.built = True

    def call(self, inputs, training=None):
        norms = iter(self.norms)

        def activate(h):
            if self.normalization:
                h = next(norms)(h, training=training)
            return ops.relu(h)

        h = self.input_conv(inputs)
        for first, second in zip(self.block_convs[::2], self.block_convs[1::2]):
            h = h + second(activate(first(activate(h))))
        shift, raw_log_scale = ops.split(self.output_conv(activate(h)), 2, axis=-1)
        return shift, self.log_scale_factor * ops.tanh(raw_log_scale)

    def deepen_from(self, source):
        """Takes a trained `CouplingNetwork` with fewer residual blocks.

        Copies `source`'s weights into the same layers of this network (its
        first `source.num_blocks` blocks, the input and output convolutions
        and the log-scale factor) and zeroes the second convolution of each
        extra block, so every extra block adds 0 and this network computes
        exactly what `source` does; the extra blocks' first convolutions
        keep their random initialization, so training grows them from there
        (the zero-initialized residual branch of Fixup and SkipInit).

        Args:
            source: a built `CouplingNetwork` with the same `channels` and
                `filters`, at most `num_blocks` blocks and no normalization.

        Raises:
            ValueError: when `source` cannot be grown into this network.
        """
        for name in ("channels", "filters", "normalization"):
            if getattr(source, name) != getattr(self, name):
                raise ValueError(
                    f"Can only deepen a coupling network with the same {name}: "
                    f"this one has {getattr(self, name)!r}, the source "
                    f"{getattr(source, name)!r}."
                )
        if self.normalization is not None:
            raise ValueError(
                "Deepening a coupling network with batch normalization is not "
                "supported (the extra blocks' statistics would start empty)."
            )
        if source.num_blocks > self.num_blocks:
            raise ValueError(
                f"Can only deepen: the source has {source.num_blocks} residual "
                f"blocks, this network {self.num_blocks}."
            )
        pairs = [(self.input_conv, source.input_conv),
                 (self.output_conv, source.output_conv),
                 *zip(self.block_convs, source.block_convs)]
        for layer, trained in pairs:
            layer.set_weights(trained.get_weights())
        for extra in self.block_convs[len(source.block_convs) + 1 :: 2]:
            extra.set_weights([np.zeros(w.shape, "float32") for w in extra.weights])
        self.log_scale_factor.assign(source.log_scale_factor)

    def compute_output_shape(self, input_shape):
        shape = (*input_shape[:-1], self.channels)
        return shape, shape

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels, filters=self.filters, num_blocks=self.num_blocks,
            normalization=self.normalization,
        )
        return config


class AffineCoupling(tfb.Bijector):
    """Real NVP's affine coupling layer on images (event `(H, W, C)`).

    forward: y = x_m + (1 - m) * (x * exp(s(x_m)) + t(x_m)), x_m = m * x
    inverse: x = y_m + (1 - m) * (y - t(y_m)) * exp(-s(y_m))   (y_m = x_m)
    log|det dy/dx| = sum over the unmasked entries of s(x_m).

    The mask m is 1 on the entries the network conditions on (left
    unchanged). The network's weights belong to the Keras model; the
    bijector only calls it, so build a fresh bijector per use (TFP's cache
    is keyed by tensor identity, not by weight values).

    Args:
        network: a `CouplingNetwork` (or a layer with the same call:
            `(batch, H, W, 2C)` -> `(shift, log_scale)`).
        mask: float array `(H, W, C)` of 0s and 1s.
        name: str.
    """

    _cache = cache_util.BijectorCacheWithGreedyAttrs(
        forward_name="_augmented_forward", inverse_name="_augmented_inverse"
    )

    def __init__(self, network, mask, validate_args=False, name="affine_coupling"):
        parameters = dict(locals())
        self._network = network
        self._mask_values = np.asarray(mask, "float32")
        super().__init__(
            forward_min_event_ndims=_EVENT_NDIMS,
            validate_args=validate_args,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype):
        return {}

    def _shift_and_log_scale(self, conditioning):
        """t and s from the masked input, zero on the masked entries."""
        mask = tf.constant(self._mask_values, conditioning.dtype)
        masked = conditioning * mask
        inputs = tf.concat([masked, tf.zeros_like(masked) + mask], axis=-1)
        # The network may compute in bfloat16 (the `mixed_bfloat16`
        # policy); the flow's arithmetic and log-determinants stay in the
        # data's dtype.
        shift, log_scale = (
            tf.cast(value, conditioning.dtype) for value in self._network(inputs)
        )
        return shift * (1.0 - mask), log_scale * (1.0 - mask)

    def _augmented_forward(self, x):
        shift, log_scale = self._shift_and_log_scale(x)
        # On the masked entries shift = log_scale = 0, so y = x exactly.
        y = x * tf.exp(log_scale) + shift
        fldj = _sum_over_event(log_scale)
        return y, {"fldj": fldj, "ildj": -fldj}

    def _augmented_inverse(self, y):
        shift, log_scale = self._shift_and_log_scale(y)
        x = (y - shift) * tf.exp(-log_scale)
        fldj = _sum_over_event(log_scale)
        return x, {"fldj": fldj, "ildj": -fldj}

    def _forward(self, x):
        return self._augmented_forward(x)[0]

    def _inverse(self, y):
        return self._augmented_inverse(y)[0]

    # The log-determinants come with the values: `forward(x)` (`inverse(y)`)
    # runs through the greedy cache, which stores them, or finds them there.

    def _forward_log_det_jacobian(self, x):
        self.forward(x)
        return self._cache.forward_attributes(x)["fldj"]

    def _inverse_log_det_jacobian(self, y):
        self.inverse(y)
        return self._cache.inverse_attributes(y)["ildj"]


class Squeeze(tfb.Bijector):
    """(H, W, C) -> (H/2, W/2, 4C): each 2x2 block of pixels into channels.

    Channel (2 * dy + dx) * C + c of the output is channel c of the pixel
    at offset (dy, dx) of its block (`tf.nn.space_to_depth`). A
    permutation: log-determinant 0. H and W must be even.

    Args:
        event_shape: tuple `(H, W, C)`, the input's event shape.
        name: str.
    """

    def __init__(self, event_shape, validate_args=False, name="squeeze"):
        parameters = dict(locals())
        height, width, channels = (int(d) for d in event_shape)
        if height % 2 or width % 2:
            raise ValueError(
                f"Squeeze needs an even height and width, received {event_shape}."
            )
        self._in_shape = (height, width, channels)
        self._out_shape = (height // 2, width // 2, 4 * channels)
        super().__init__(
            forward_min_event_ndims=_EVENT_NDIMS,
            is_constant_jacobian=True,
            validate_args=validate_args,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype):
        return {}

    @staticmethod
    def _apply(x, in_shape, out_shape, fn):
        batch_shape = tf.shape(x)[:-_EVENT_NDIMS]
        images = tf.reshape(x, (-1, *in_shape))
        return tf.reshape(fn(images, 2), tf.concat([batch_shape, out_shape], 0))

    def _forward(self, x):
        return self._apply(x, self._in_shape, self._out_shape, tf.nn.space_to_depth)

    def _inverse(self, y):
        return self._apply(y, self._out_shape, self._in_shape, tf.nn.depth_to_space)

    def _forward_log_det_jacobian(self, x):
        return tf.zeros([], x.dtype)

    def _forward_event_shape(self, input_shape):
        return input_shape[:-_EVENT_NDIMS].concatenate(self._out_shape)

    def _forward_event_shape_tensor(self, input_shape):
        return tf.concat([input_shape[:-_EVENT_NDIMS], self._out_shape], 0)

    def _inverse_event_shape(self, output_shape):
        return output_shape[:-_EVENT_NDIMS].concatenate(self._in_shape)

    def _inverse_event_shape_tensor(self, output_shape):
        return tf.concat([output_shape[:-_EVENT_NDIMS], self._in_shape], 0)


class FactorOut(tfb.Bijector):
    """Applies `bijector` to the first `num_kept` channels; the rest pass through.

    forward: [x_kept, x_out] -> [bijector.forward(x_kept), x_out]
    log|det| = bijector's log|det| at x_kept.

    With a standard normal base distribution this is Real NVP's factoring
    out: the passed-through channels are latent variables from here on,
    and only the kept half goes through the next scale.

    Args:
        bijector: a bijector on events `(H, W, num_kept)` that keeps their
            shape.
        num_kept: int, leading channels given to `bijector`.
        name: str.
    """

    _cache = cache_util.BijectorCacheWithGreedyAttrs(
        forward_name="_augmented_forward", inverse_name="_augmented_inverse"
    )

    def __init__(self, bijector, num_kept, validate_args=False, name="factor_out"):
        parameters = dict(locals())
        self._bijector = bijector
        self._num_kept = int(num_kept)
        super().__init__(
            forward_min_event_ndims=_EVENT_NDIMS,
            validate_args=validate_args,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype):
        return {}

    def _augmented(self, x, direction):
        kept, passed = x[..., : self._num_kept], x[..., self._num_kept :]
        if direction == "forward":
            out = self._bijector.forward(kept)
            fldj = self._bijector.forward_log_det_jacobian(kept, _EVENT_NDIMS)
        else:
            out = self._bijector.inverse(kept)
            fldj = -self._bijector.inverse_log_det_jacobian(kept, _EVENT_NDIMS)
        return tf.concat([out, passed], axis=-1), {"fldj": fldj, "ildj": -fldj}

    def _augmented_forward(self, x):
        return self._augmented(x, "forward")

    def _augmented_inverse(self, y):
        return self._augmented(y, "inverse")

    def _forward(self, x):
        return self._augmented_forward(x)[0]

    def _inverse(self, y):
        return self._augmented_inverse(y)[0]

    # The log-determinants come with the values: `forward(x)` (`inverse(y)`)
    # runs through the greedy cache, which stores them, or finds them there.

    def _forward_log_det_jacobian(self, x):
        self.forward(x)
        return self._cache.forward_attributes(x)["fldj"]

    def _inverse_log_det_jacobian(self, y):
        self.inverse(y)
        return self._cache.inverse_attributes(y)["ildj"]


def max_scales(image_shape):
    """The most scales `image_shape` allows: each scale but the last halves H, W."""
    height, width, _ = image_shape
    scales = 1
    while height % 2 == 0 and width % 2 == 0:
        height, width, scales = height // 2, width // 2, scales + 1
    return scales


@keras.saving.register_keras_serializable(package="keras_gen")
class RealNVPNetwork(keras.Model):
    """Real NVP's multi-scale flow (Dinh et al. 2017, sec. 3.6 and 4.1).

    Maps an image-shaped tensor y (the model feeds logits of dequantized
    pixels) to a latent z of the same shape, invertibly. Scale i of
    `num_scales`, on events (h, w, c):

    - not the last: 3 affine couplings with alternating checkerboard masks,
      a squeeze to (h/2, w/2, 4c), 3 couplings with alternating channel
      masks; then the first 2c channels go on to scale i + 1 and the other
      2c are factored out (`FactorOut`); finally the squeeze is undone so
      the output keeps the input's shape;
    - the last: 4 couplings with alternating checkerboard masks.

    Every coupling has its own `CouplingNetwork` (`filters` channels,
    `num_blocks` residual blocks, `normalization`), in
    `coupling_networks`, in the order the data goes through them. The
    couplings start as the identity (zero-initialized last convolutions).
    The paper's batch normalization inside the coupling networks is
    `normalization="batch"`; its batch normalization bijector between
    couplings is not implemented.

    Args:
        image_shape: tuple `(H, W, C)`; H and W must be divisible by
            2 ** (num_scales - 1).
        num_scales: int >= 1. Defaults to 3.
        filters: int, the coupling networks' channels. Defaults to 32.
        num_blocks: int >= 0, residual blocks per coupling network.
            Defaults to 1.
        normalization: None or `"batch"`, in the coupling networks (see
            `CouplingNetwork`). Defaults to None.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    network = RealNVPNetwork((28, 28, 1), num_scales=2, filters=32)
    flow = network.bijector()           # a tfp bijector, y -> z
    z = flow.forward(y)                 # (batch, 28, 28, 1)
    log_det = flow.forward_log_det_jacobian(y, event_ndims=3)  # (batch,)
    ```

    References:
        Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
        ICLR 2017. https://arxiv.org/abs/1605.08803
    """

    def __init__(
        self, image_shape=(28, 28, 1), num_scales=3, filters=32, num_blocks=1,
        normalization=None, **kwargs,
    ):
        kwargs.setdefault("name", "real_nvp_network")
        super().__init__(**kwargs)
        image_shape = tuple(image_shape)
        if len(image_shape) != 3 or not all(
            isinstance(d, int) and d > 0 for d in image_shape
        ):
            raise ValueError(
                "RealNVPNetwork models images: expected image_shape=(height, "
                f"width, channels), received {image_shape}."
            )
        if not isinstance(num_scales, int) or num_scales < 1:
            raise ValueError(
                f"num_scales must be a positive int, received {num_scales!r}."
            )
        if num_scales > max_scales(image_shape):
            raise ValueError(
                f"num_scales={num_scales} is too many for images of shape "
                f"{image_shape}: every scale but the last halves the height and "
                "width, so both must be divisible by 2 ** (num_scales - 1); at "
                f"most {max_scales(image_shape)} scale(s) fit."
            )
        self.image_shape = image_shape
        self.num_scales = num_scales
        self.filters = filters
        self.num_blocks = num_blocks
        self.normalization = normalization
        # (mask kind, event shape) of each coupling, in data order.
        self._couplings = self._coupling_plan()
        self.coupling_networks = [
            CouplingNetwork(
                shape[-1], filters=filters, num_blocks=num_blocks,
                normalization=normalization, name=f"coupling_{index}_{kind}",
            )
            for index, (kind, shape) in enumerate(self._couplings)
        ]
        self.build()

    def _coupling_plan(self):
        plan = []
        height, width, channels = self.image_shape
        for scale in range(self.num_scales):
            if scale == self.num_scales - 1:
                plan += [("checkerboard", (height, width, channels))] * (
                    LAST_SCALE_COUPLINGS
                )
                break
            plan += [("checkerboard", (height, width, channels))] * (
                CHECKERBOARD_COUPLINGS
            )
            height, width = height // 2, width // 2
            plan += [("channel", (height, width, 4 * channels))] * CHANNEL_COUPLINGS
            channels *= 2
        return plan

    def build(self, input_shape=None):
        """Creates every weight (the shapes are fixed by `image_shape`)."""
        for network, (_, (height, width, channels)) in zip(
            self.coupling_networks, self._couplings
        ):
            network.build((None, height, width, 2 * channels))
        self.built = True

    def bijector(self):
        """A new `tfb.Bijector` y -> z on events `image_shape` (see the class doc).

        Built anew on every call: cheap, and it never serves values cached
        under earlier weights.
        """
        networks = iter(self.coupling_networks)

        def couplings(kind, count, shape):
            make_mask = checkerboard_mask if kind == "checkerboard" else channel_mask
            return [
                AffineCoupling(
                    next(networks), make_mask(*shape, parity=index % 2),
                    name=f"{kind}_coupling",
                )
                for index in range(count)
            ]

        def scale(index, shape):
            """The bijectors of scale `index` and beyond, in data order."""
            height, width, channels = shape
            if index == self.num_scales - 1:
                return couplings("checkerboard", LAST_SCALE_COUPLINGS, shape)
            squeezed = (height // 2, width // 2, 4 * channels)
            steps = couplings("checkerboard", CHECKERBOARD_COUPLINGS, shape)
            steps.append(Squeeze(shape))
            steps += couplings("channel", CHANNEL_COUPLINGS, squeezed)
            kept = (height // 2, width // 2, 2 * channels)
            steps.append(FactorOut(_chain(scale(index + 1, kept)), kept[-1]))
            steps.append(tfb.Invert(Squeeze(shape)))
            return steps

        return _chain(scale(0, self.image_shape))

    def call(self, inputs):
        """z = f(y), the flow applied to a batch of image-shaped tensors."""
        return self.bijector().forward(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            num_scales=self.num_scales,
            filters=self.filters,
            num_blocks=self.num_blocks,
            normalization=self.normalization,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _chain(bijectors_in_data_order):
    """`tfb.Chain` applies its list last to first; ours read first to last."""
    return tfb.Chain(list(reversed(bijectors_in_data_order)))
