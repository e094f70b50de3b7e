"""Bounds on the log-likelihood for latent-variable models, and AE losses."""

import math

from keras import ops


def importance_weighted_bound(log_weights, axis=0):
    """The importance-weighted bound log (1/K) sum_k w_k, from log w_k.

        bound = logsumexp_k(log w_k) - log K,   w_k = p(x, z_k) / q(z_k | x)

    With K = 1 it is the (one-sample) ELBO; it grows with K towards log p(x)
    (Burda et al. 2015).

    Args:
        log_weights: Tensor with the K importance samples along `axis`.
        axis: int, the sample axis.

    Returns:
        Tensor with `axis` reduced.

    References:
        Burda et al., "Importance Weighted Autoencoders", 2015.
        https://arxiv.org/abs/1509.00519
    """
    log_weights = ops.convert_to_tensor(log_weights)
    num_samples = log_weights.shape[axis]
    return ops.logsumexp(log_weights, axis=axis) - math.log(num_samples)


def _per_example_mean(values):
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def mean_squared_error_loss(images, reconstructions):
    """Per-example mean of (x - x_hat)^2 over pixels, shape `(batch,)`."""
    return _per_example_mean(ops.square(images - reconstructions))


def mean_absolute_error_loss(images, reconstructions):
    """Per-example mean of |x - x_hat| over pixels, shape `(batch,)`."""
    return _per_example_mean(ops.abs(images - reconstructions))


def binary_crossentropy_loss(images, logits):
    """Per-example mean binary cross-entropy over pixels, shape `(batch,)`.

    Images in [-1, 1] are read as probabilities p = (x + 1) / 2 of a white
    pixel; `logits` are the decoder's pre-sigmoid outputs:
    -[p log s(l) + (1 - p) log(1 - s(l))] = softplus(l) - p * l.
    """
    targets = (images + 1.0) / 2.0
    return _per_example_mean(ops.softplus(logits) - targets * logits)
