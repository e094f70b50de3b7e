"""Regularizers of the discriminator (critic) computed from its gradients."""

import keras
import tensorflow as tf
from keras import ops


def _safe_l2_norm(squared_norm):
    """`sqrt(squared_norm)` whose value and gradient are finite at zero.

    `d sqrt(s) / ds = 1 / (2 sqrt(s))` is infinite at `s = 0`, and the
    backward pass multiplies it by `ds/dg = 2g = 0`, giving NaN. The double
    `where` keeps the zero entries away from `sqrt` altogether, so the norm is
    exactly 0 there and its gradient is 0 (instead of `sqrt(s + eps)`, which
    is off by `sqrt(eps)` and underflows `eps` in float16).
    """
    is_positive = squared_norm > 0.0
    safe_squared_norm = ops.where(
        is_positive, squared_norm, ops.ones_like(squared_norm)
    )
    return ops.where(
        is_positive, ops.sqrt(safe_squared_norm), ops.zeros_like(squared_norm)
    )


def gradient_penalty(
    critic,
    real,
    fake,
    seed_generator=None,
    interpolation_weights=None,
):
    """The WGAN-GP gradient penalty: pushes the critic's gradient norm to 1.

        x_hat   = a * real + (1 - a) * fake,    a ~ U[0, 1], one per example
        penalty = mean over examples of (||grad_x critic(x_hat)||_2 - 1)^2

    where the norm is taken over all non-batch axes of the example. The
    caller multiplies the result by the penalty weight (lambda = 10 in the
    paper) and adds it to `wasserstein_discriminator_loss`.

    The input gradient is computed with a nested `tf.GradientTape`, so when
    this function is called inside the critic's own tape, that outer tape can
    differentiate the penalty with respect to the critic's weights (double
    backpropagation). Where the input gradient is exactly zero the norm is
    computed safely: the penalty is then 1 and its gradient is finite.

    The critic must treat examples independently: the per-example gradients
    are read off the gradient of the summed outputs, which is only right if
    output `i` depends on input `i` alone. Do not use batch normalization in
    the critic (the paper recommends layer normalization or none).

    Args:
        critic: callable `x -> logits`, the critic applied to a batch; the
            models pass `lambda x: discriminator(x, training=True)`.
        real: Tensor of shape `(batch, ...)`, a batch of real data.
        fake: Tensor of the same shape as `real`, a batch of generated data.
        seed_generator: `keras.random.SeedGenerator` (or int seed) used to
            draw the interpolation weights. Pass the model's seed generator
            so runs are reproducible; `None` uses Keras's global one.
        interpolation_weights: optional Tensor of shape `(batch,)` or
            `(batch, 1, ..., 1)` (rank of `real`), the weights `a` of `real`
            in the interpolation. When given, nothing is drawn and
            `seed_generator` is ignored; use it to draw `a` yourself (e.g.
            consistently across replicas) or to test with known values.

    Returns:
        A float32 scalar tensor, the penalty averaged over the batch.

    References:
        - Gulrajani et al., 2017, "Improved Training of Wasserstein GANs",
          Algorithm 1, https://arxiv.org/abs/1704.00028

    Example:

    ```python
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    seed_generator = keras.random.SeedGenerator(1337)
    real = keras.random.normal((8, 2), seed=1)
    fake = keras.random.normal((8, 2), seed=2)
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(
            lambda x: critic(x, training=True), real, fake, seed_generator
        )
    grads = tape.gradient(penalty, critic.trainable_variables)
    ```
    """
    real = ops.convert_to_tensor(real)
    fake = ops.cast(ops.convert_to_tensor(fake), real.dtype)
    if not real.shape.is_compatible_with(fake.shape):
        raise ValueError(
            "`real` and `fake` must have the same shape, since the penalty is "
            "taken at points between paired examples. Received: "
            f"real.shape={real.shape}, fake.shape={fake.shape}."
        )
    rank = len(real.shape)
    if rank < 1:
        raise ValueError(
            "`real` must have a batch axis, i.e. shape (batch, ...). "
            f"Received: real.shape={real.shape}."
        )
    batch_size = ops.shape(real)[0]
    weights_shape = (batch_size,) + (1,) * (rank - 1)

    if interpolation_weights is None:
        weights = keras.random.uniform(
            weights_shape, minval=0.0, maxval=1.0, seed=seed_generator
        )
    else:
        weights = ops.convert_to_tensor(interpolation_weights)
        weights_rank = len(weights.shape)
        if weights_rank == 1:
            weights = ops.reshape(weights, weights_shape)
        elif weights_rank != rank or any(
            dim not in (1, None) for dim in weights.shape[1:]
        ):
            raise ValueError(
                "`interpolation_weights` must have shape (batch,) or "
                f"(batch, {', '.join(['1'] * (rank - 1))}) to give one weight "
                f"per example of `real` (shape {real.shape}). "
                f"Received: interpolation_weights.shape={weights.shape}."
            )
    weights = ops.cast(weights, real.dtype)
    interpolates = weights * real + (1.0 - weights) * fake

    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        critic_output = critic(interpolates)
    # The gradient of the summed outputs; for a critic that treats examples
    # independently, row i is the gradient of output i w.r.t. input i. ZERO
    # (rather than None) covers a critic whose output ignores its input.
    gradients = tape.gradient(
        critic_output,
        interpolates,
        unconnected_gradients=tf.UnconnectedGradients.ZERO,
    )
    gradients = ops.cast(gradients, "float32")
    squared_norms = ops.sum(
        ops.square(gradients), axis=tuple(range(1, rank))
    )
    norms = _safe_l2_norm(squared_norms)
    return ops.mean(ops.square(norms - 1.0))
