"""Losses of the semi-supervised GAN (Salimans et al. 2016, section 5).

The discriminator is a K-class classifier with logits `l_1 .. l_K`; the
"generated" class K+1 has its logit fixed at 0 (the paper's
parametrization: adding the same function to every logit changes nothing,
so one logit can be pinned). With `Z(x) = sum_k exp(l_k(x))`:

    p(y = k | x, real)  = softmax(l(x))_k
    D(x) = p(real | x)  = Z(x) / (Z(x) + 1) = sigmoid(logsumexp(l(x)))

so, with `softplus(x) = log(1 + exp(x))` and `lse = logsumexp`:

    -log D(x)       = softplus(-lse(l(x)))
    -log(1 - D(x))  = softplus(lse(l(x)))

both finite for any logits (no `log(exp(...))` that overflows).

Every function returns a float32 scalar. Scaling for distributed training
is left to the model, except where an argument says otherwise.
"""

from keras import ops


def _as_float32(values):
    return ops.cast(ops.convert_to_tensor(values), "float32")


def _log_partition(class_logits):
    """`lse(l) = log Z(x)`, shape `(batch,)`: the logit of D(x) being real."""
    return ops.logsumexp(_as_float32(class_logits), axis=-1)


def semi_supervised_discriminator_loss(real_class_logits, fake_class_logits):
    """The unsupervised loss of the K+1-class discriminator.

        loss = -mean(log D(x)) - mean(log(1 - D(G(z))))
             = mean(softplus(-lse(l(x)))) + mean(softplus(lse(l(G(z)))))

    where `D(x) = Z(x) / (Z(x) + 1)`. It is the GAN's cross-entropy with
    `lse(l)` in the place of the binary discriminator's logit. At all-zero
    logits (Z = K) it equals `softplus(-log K) + softplus(log K)`, i.e.
    `log(1 + 1/K) + log(1 + K)`.

    Args:
        real_class_logits: `(batch, K)` logits on real (labeled or not) data.
        fake_class_logits: `(batch, K)` logits on generated data.

    Returns:
        float32 scalar.
    """
    real = _log_partition(real_class_logits)
    fake = _log_partition(fake_class_logits)
    return ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake))


def semi_supervised_generator_loss(fake_class_logits):
    """Non-saturating generator loss of the K+1-class discriminator.

        loss = -mean(log D(G(z))) = mean(softplus(-lse(l(G(z)))))

    Args:
        fake_class_logits: `(batch, K)` logits on generated data.

    Returns:
        float32 scalar.
    """
    return ops.mean(ops.softplus(-_log_partition(fake_class_logits)))


def feature_matching_generator_loss(real_features, fake_features, batch_mean=None):
    """Feature matching: `|| E f(x) - E f(G(z)) ||^2` (Salimans et al. 2016).

    The squared Euclidean distance between the mean features of a real and
    a generated batch, `f` an intermediate layer of the discriminator:

        loss = sum_j (mean_i f_ij(x) - mean_i f_ij(G(z)))^2

    Args:
        real_features: `(batch, F)` features of real data.
        fake_features: `(batch, F)` features of generated data.
        batch_mean: function mapping `(batch, F)` to its mean `(F,)` over
            the batch; None takes `mean(axis=0)`. Under `tf.distribute` the
            model passes `keras_gen.utils.distribution.global_batch_mean`,
            so the expectations are those of the global batch.

    Returns:
        float32 scalar.
    """
    if batch_mean is None:
        batch_mean = lambda features: ops.mean(features, axis=0)  # noqa: E731
    difference = batch_mean(_as_float32(real_features)) - batch_mean(
        _as_float32(fake_features)
    )
    return ops.sum(ops.square(difference))


def supervised_classification_loss(class_logits, labels, num_labeled=None):
    """Cross-entropy on the labeled examples of a partly labeled batch.

        loss = sum_{i: y_i >= 0} -log softmax(l(x_i))_{y_i} / num_labeled

    `-log p(y | x, y < K + 1)`: the K+1-th logit cancels in the conditional,
    so it is the plain softmax cross-entropy of the K logits. Examples with
    label -1 are unlabeled and contribute nothing; with no labeled example
    the loss is 0 (and so is its gradient).

    Args:
        class_logits: `(batch, K)` logits.
        labels: int `(batch,)` (or `(batch, 1)`), a class in `[0, K)` or -1
            for unlabeled examples.
        num_labeled: the divisor; None uses the number of labeled examples
            in the batch (their mean cross-entropy). Under `tf.distribute`
            the model passes the global count divided by the number of
            replicas, so the replicas' losses average to the global mean.

    Returns:
        float32 scalar.
    """
    class_logits = _as_float32(class_logits)
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    is_labeled = labels >= 0
    safe_labels = ops.where(is_labeled, labels, ops.zeros_like(labels))
    true_logits = ops.take_along_axis(
        class_logits, ops.expand_dims(safe_labels, -1), axis=-1
    )[:, 0]
    cross_entropy = ops.logsumexp(class_logits, axis=-1) - true_logits
    mask = ops.cast(is_labeled, "float32")
    if num_labeled is None:
        num_labeled = ops.sum(mask)
    num_labeled = ops.cast(num_labeled, "float32")
    return ops.divide_no_nan(ops.sum(cross_entropy * mask), num_labeled)
