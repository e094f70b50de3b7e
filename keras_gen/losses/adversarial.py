"""Adversarial objectives for GANs, as pure functions of discriminator logits.

Every function here takes logits (the raw, unbounded outputs of a
discriminator or critic, of any shape such as `(batch,)` or `(batch, 1)`) and
returns a float32 scalar: the mean over all elements. Scaling for distributed
training (dividing by the global batch size) is left to the models.

Names follow TF-GAN: `<family>_<role>_loss`, where the role is `generator` or
`discriminator`, and each loss is the quantity that role *minimizes*.

Notation in the docstrings: `r` are the logits on real data, `f` the logits
on generated (fake) data, `sigmoid(x) = 1 / (1 + exp(-x))` and
`softplus(x) = log(1 + exp(x))`. Two identities do all the work:

    -log(sigmoid(x))     = softplus(-x)
    -log(1 - sigmoid(x)) = softplus(x)

so cross-entropies are written with `softplus`, which stays finite for any
logit, where `log(sigmoid(x))` underflows to `log(0) = -inf` for large `|x|`.
"""

import dataclasses
import difflib
import numbers
from typing import Callable

from keras import ops


def _as_float32(logits):
    """Converts logits (tensor, array or list) to a float32 tensor."""
    return ops.cast(ops.convert_to_tensor(logits), "float32")


# ---------------------------------------------------------------------------
# Minimax (the original GAN game) and its non-saturating variant.
# ---------------------------------------------------------------------------


def minimax_discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """Binary cross-entropy of the discriminator: real -> 1, fake -> 0.

    With one-sided label smoothing `s`, the target for real data is `1 - s`
    (fake targets stay at 0):

        loss = mean((1 - s) * softplus(-r) + s * softplus(r))
             + mean(softplus(f))

    which is `-mean(log D(x)) - mean(log(1 - D(G(z))))` when `s = 0`, with
    `D = sigmoid(logits)`. At the start of training (all logits 0) it equals
    `2 * log(2)`.

    Args:
        real_logits: Tensor of any shape, discriminator logits on real data.
        fake_logits: Tensor of any shape, discriminator logits on generated
            data.
        label_smoothing: float in `[0, 1)`, amount of one-sided label
            smoothing; real targets become `1 - label_smoothing`. Defaults to
            `0.0` (no smoothing). Salimans et al. use `0.1`.

    Returns:
        A float32 scalar tensor.

    References:
        - Goodfellow et al., 2014, "Generative Adversarial Networks",
          https://arxiv.org/abs/1406.2661
        - Salimans et al., 2016, "Improved Techniques for Training GANs"
          (one-sided label smoothing), https://arxiv.org/abs/1606.03498

    Example:

    ```python
    real_logits = keras.ops.zeros((4, 1))
    fake_logits = keras.ops.zeros((4, 1))
    minimax_discriminator_loss(real_logits, fake_logits)  # 2 * log(2) = 1.386
    ```
    """
    if isinstance(label_smoothing, numbers.Real) and not (
        0.0 <= label_smoothing < 1.0
    ):
        raise ValueError(
            "`label_smoothing` must be a float in [0, 1): real targets become "
            "1 - label_smoothing. "
            f"Received: label_smoothing={label_smoothing}. "
            "Use 0.0 to disable smoothing or a small value such as 0.1."
        )
    real_logits = _as_float32(real_logits)
    fake_logits = _as_float32(fake_logits)
    real_target = 1.0 - label_smoothing
    real_loss = ops.mean(
        real_target * ops.softplus(-real_logits)
        + (1.0 - real_target) * ops.softplus(real_logits)
    )
    fake_loss = ops.mean(ops.softplus(fake_logits))
    return real_loss + fake_loss


def minimax_generator_loss(fake_logits):
    """The saturating generator loss of the original minimax game.

        loss = mean(log(1 - sigmoid(f))) = -mean(softplus(f))

    This is exactly minus the fake term of `minimax_discriminator_loss`, so
    the two losses form a zero-sum game. Its gradient vanishes when the
    discriminator confidently rejects samples (`f -> -inf`), which is why
    `non_saturating_generator_loss` is used in practice.

    Args:
        fake_logits: Tensor of any shape, discriminator logits on generated
            data.

    Returns:
        A float32 scalar tensor (always <= 0).

    References:
        - Goodfellow et al., 2014, "Generative Adversarial Networks",
          https://arxiv.org/abs/1406.2661

    Example:

    ```python
    minimax_generator_loss(keras.ops.zeros((4,)))  # -log(2) = -0.693
    ```
    """
    fake_logits = _as_float32(fake_logits)
    return -ops.mean(ops.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """The non-saturating generator loss: maximize `log D(G(z))`.

        loss = -mean(log(sigmoid(f))) = mean(softplus(-f))

    i.e. binary cross-entropy of the fake logits against the "real" label.
    Same fixed point as the minimax loss, but strong gradients early in
    training, when the discriminator rejects samples easily.

    Args:
        fake_logits: Tensor of any shape, discriminator logits on generated
            data.

    Returns:
        A float32 scalar tensor (always >= 0).

    References:
        - Goodfellow et al., 2014, "Generative Adversarial Networks",
          Section 3, https://arxiv.org/abs/1406.2661

    Example:

    ```python
    non_saturating_generator_loss(keras.ops.zeros((4,)))  # log(2) = 0.693
    ```
    """
    fake_logits = _as_float32(fake_logits)
    return ops.mean(ops.softplus(-fake_logits))


def non_saturating_discriminator_loss(
    real_logits, fake_logits, label_smoothing=0.0
):
    """Discriminator loss of the non-saturating GAN.

    The discriminator plays the same game as in the minimax GAN, so this is
    `minimax_discriminator_loss` (binary cross-entropy, real -> 1 -
    label_smoothing, fake -> 0); it exists so that every family has a
    generator/discriminator pair with matching names.

    Args:
        real_logits: Tensor of any shape, discriminator logits on real data.
        fake_logits: Tensor of any shape, discriminator logits on generated
            data.
        label_smoothing: float in `[0, 1)`, one-sided label smoothing of the
            real targets. Defaults to `0.0`.

    Returns:
        A float32 scalar tensor.

    References:
        - Goodfellow et al., 2014, "Generative Adversarial Networks",
          https://arxiv.org/abs/1406.2661

    Example:

    ```python
    real_logits = keras.ops.zeros((4,))
    fake_logits = keras.ops.zeros((4,))
    non_saturating_discriminator_loss(real_logits, fake_logits)  # 1.386
    ```
    """
    return minimax_discriminator_loss(
        real_logits, fake_logits, label_smoothing=label_smoothing
    )


# ---------------------------------------------------------------------------
# Wasserstein GAN.
# ---------------------------------------------------------------------------


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss of the Wasserstein GAN.

        loss = mean(f) - mean(r)

    Minimizing it maximizes `mean(r) - mean(f)`, the critic's estimate of the
    Wasserstein-1 distance. It only makes sense if the critic is kept
    (approximately) 1-Lipschitz: weight clipping (WGAN), `gradient_penalty`
    (WGAN-GP) or spectral normalization.

    Args:
        real_logits: Tensor of any shape, critic outputs on real data.
        fake_logits: Tensor of any shape, critic outputs on generated data.

    Returns:
        A float32 scalar tensor.

    References:
        - Arjovsky et al., 2017, "Wasserstein GAN",
          https://arxiv.org/abs/1701.07875

    Example:

    ```python
    real_logits = keras.ops.convert_to_tensor([1.0, 3.0])
    fake_logits = keras.ops.convert_to_tensor([0.0, -2.0])
    wasserstein_discriminator_loss(real_logits, fake_logits)  # -1 - 2 = -3
    ```
    """
    real_logits = _as_float32(real_logits)
    fake_logits = _as_float32(fake_logits)
    return ops.mean(fake_logits) - ops.mean(real_logits)


def wasserstein_generator_loss(fake_logits):
    """Generator loss of the Wasserstein GAN.

        loss = -mean(f)

    Args:
        fake_logits: Tensor of any shape, critic outputs on generated data.

    Returns:
        A float32 scalar tensor.

    References:
        - Arjovsky et al., 2017, "Wasserstein GAN",
          https://arxiv.org/abs/1701.07875

    Example:

    ```python
    wasserstein_generator_loss(keras.ops.convert_to_tensor([0.0, -2.0]))  # 1
    ```
    """
    fake_logits = _as_float32(fake_logits)
    return -ops.mean(fake_logits)


# ---------------------------------------------------------------------------
# Hinge loss (geometric GAN / SN-GAN).
# ---------------------------------------------------------------------------


def hinge_discriminator_loss(real_logits, fake_logits):
    """Discriminator loss of the hinge GAN.

        loss = mean(relu(1 - r)) + mean(relu(1 + f))

    Real logits above +1 and fake logits below -1 no longer contribute.

    Args:
        real_logits: Tensor of any shape, discriminator logits on real data.
        fake_logits: Tensor of any shape, discriminator logits on generated
            data.

    Returns:
        A float32 scalar tensor (always >= 0).

    References:
        - Lim & Ye, 2017, "Geometric GAN", https://arxiv.org/abs/1705.02894
        - Miyato et al., 2018, "Spectral Normalization for Generative
          Adversarial Networks", https://arxiv.org/abs/1802.05957

    Example:

    ```python
    real_logits = keras.ops.convert_to_tensor([0.0, 2.0])
    fake_logits = keras.ops.convert_to_tensor([1.0, -3.0])
    hinge_discriminator_loss(real_logits, fake_logits)  # 0.5 + 1.0 = 1.5
    ```
    """
    real_logits = _as_float32(real_logits)
    fake_logits = _as_float32(fake_logits)
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(
        ops.relu(1.0 + fake_logits)
    )


def hinge_generator_loss(fake_logits):
    """Generator loss of the hinge GAN.

        loss = -mean(f)

    The generator side of the hinge GAN is not a hinge: it is the same as
    `wasserstein_generator_loss`, and is computed by it.

    Args:
        fake_logits: Tensor of any shape, discriminator logits on generated
            data.

    Returns:
        A float32 scalar tensor.

    References:
        - Lim & Ye, 2017, "Geometric GAN", https://arxiv.org/abs/1705.02894
        - Miyato et al., 2018, "Spectral Normalization for Generative
          Adversarial Networks", Eq. 17, https://arxiv.org/abs/1802.05957

    Example:

    ```python
    hinge_generator_loss(keras.ops.convert_to_tensor([1.0, -3.0]))  # 1.0
    ```
    """
    return wasserstein_generator_loss(fake_logits)


# ---------------------------------------------------------------------------
# Least squares GAN.
# ---------------------------------------------------------------------------


def least_squares_discriminator_loss(real_logits, fake_logits):
    """Discriminator loss of the least squares GAN (a = 0, b = 1).

        loss = 0.5 * mean((r - 1)^2) + 0.5 * mean(f^2)

    The discriminator regresses real outputs to `b = 1` and fake outputs to
    `a = 0`; the logits are used directly, without a sigmoid.

    Args:
        real_logits: Tensor of any shape, discriminator outputs on real data.
        fake_logits: Tensor of any shape, discriminator outputs on generated
            data.

    Returns:
        A float32 scalar tensor (always >= 0).

    References:
        - Mao et al., 2017, "Least Squares Generative Adversarial Networks",
          Eq. 2 with a = 0, b = 1, c = 1, https://arxiv.org/abs/1611.04076

    Example:

    ```python
    real_logits = keras.ops.convert_to_tensor([0.0, 2.0])
    fake_logits = keras.ops.convert_to_tensor([1.0, -3.0])
    least_squares_discriminator_loss(real_logits, fake_logits)  # 0.5 + 2.5
    ```
    """
    real_logits = _as_float32(real_logits)
    fake_logits = _as_float32(fake_logits)
    return 0.5 * ops.mean(ops.square(real_logits - 1.0)) + 0.5 * ops.mean(
        ops.square(fake_logits)
    )


def least_squares_generator_loss(fake_logits):
    """Generator loss of the least squares GAN (c = 1).

        loss = 0.5 * mean((f - 1)^2)

    Args:
        fake_logits: Tensor of any shape, discriminator outputs on generated
            data.

    Returns:
        A float32 scalar tensor (always >= 0).

    References:
        - Mao et al., 2017, "Least Squares Generative Adversarial Networks",
          Eq. 2 with a = 0, b = 1, c = 1, https://arxiv.org/abs/1611.04076

    Example:

    ```python
    least_squares_generator_loss(keras.ops.convert_to_tensor([1.0, -3.0]))
    # 0.5 * mean([0, 16]) = 4.0
    ```
    """
    fake_logits = _as_float32(fake_logits)
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


# ---------------------------------------------------------------------------
# Lookup by name.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """A matched pair of generator and discriminator losses.

    Args:
        name: str, the name the pair is registered under (e.g. `"hinge"`).
        generator_loss: callable `fake_logits -> scalar`, minimized by the
            generator.
        discriminator_loss: callable `(real_logits, fake_logits) -> scalar`,
            minimized by the discriminator (critic).

    Example:

    ```python
    loss = keras_gen.losses.get("hinge")
    d_loss = loss.discriminator_loss(real_logits, fake_logits)
    g_loss = loss.generator_loss(fake_logits)
    ```
    """

    name: str
    generator_loss: Callable
    discriminator_loss: Callable


_REGISTRY = {
    adversarial_loss.name: adversarial_loss
    for adversarial_loss in (
        AdversarialLoss(
            "minimax", minimax_generator_loss, minimax_discriminator_loss
        ),
        AdversarialLoss(
            "non_saturating",
            non_saturating_generator_loss,
            non_saturating_discriminator_loss,
        ),
        AdversarialLoss(
            "wasserstein",
            wasserstein_generator_loss,
            wasserstein_discriminator_loss,
        ),
        AdversarialLoss(
            "hinge", hinge_generator_loss, hinge_discriminator_loss
        ),
        AdversarialLoss(
            "least_squares",
            least_squares_generator_loss,
            least_squares_discriminator_loss,
        ),
    )
}

ADVERSARIAL_LOSSES = tuple(_REGISTRY)


def get(identifier):
    """Returns the `AdversarialLoss` pair registered under a name.

    Args:
        identifier: str, one of `ADVERSARIAL_LOSSES` (`"minimax"`,
            `"non_saturating"`, `"wasserstein"`, `"hinge"`,
            `"least_squares"`), or an `AdversarialLoss`, which is returned
            unchanged (so models can accept either).

    Returns:
        An `AdversarialLoss`.

    Raises:
        ValueError: if the name is not registered; the message lists the
            valid names and the closest matches.
        TypeError: if `identifier` is neither a str nor an `AdversarialLoss`.

    Example:

    ```python
    loss = keras_gen.losses.get("non_saturating")
    loss.generator_loss(keras.ops.zeros((4,)))  # log(2) = 0.693
    ```
    """
    if isinstance(identifier, AdversarialLoss):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(
            "Expected an adversarial loss name (str) or an AdversarialLoss. "
            f"Received: {identifier!r} of type {type(identifier).__name__}. "
            f"Valid names: {', '.join(ADVERSARIAL_LOSSES)}."
        )
    if identifier in _REGISTRY:
        return _REGISTRY[identifier]
    close = difflib.get_close_matches(identifier, ADVERSARIAL_LOSSES)
    hint = ""
    if close:
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?"
    raise ValueError(
        f"Unknown adversarial loss: {identifier!r}.{hint} "
        f"Valid names: {', '.join(ADVERSARIAL_LOSSES)}."
    )


def top_k_fake_logits(fake_logits, fraction):
    """The highest `ceil(fraction * n)` of `n` fake logits (top-k training).

    Sinha et al. 2020 update the generator only through the samples the
    discriminator (critic) rates most real: the others' gradients point
    toward wherever the discriminator's decision surface is, not toward the
    data. Pass the result to any generator loss of this module in place of
    all the fake logits.

        k = max(1, ceil(fraction * n)),   returns the k largest logits.

    Args:
        fake_logits: tensor `(batch,)` or `(batch, 1)`, one logit per sample.
        fraction: float in (0, 1], the share of the batch kept.

    Returns:
        tensor `(k,)` of the k largest logits, in decreasing order.

    References:
        Sinha, Zhao, Goyal, Raffel & Odena, "Top-k Training of GANs:
        Improving GAN Performance by Throwing Away Bad Samples", NeurIPS
        2020. https://arxiv.org/abs/2002.06224
    """
    check_top_k_fraction(fraction)
    logits = ops.reshape(fake_logits, (-1,))
    count = ops.cast(ops.shape(logits)[0], "float32")
    k = ops.maximum(1, ops.cast(ops.ceil(fraction * count), "int32"))
    return ops.top_k(logits, k, sorted=True)[0]


def check_top_k_fraction(fraction):
    """Raises a `ValueError` unless `fraction` is a real number in (0, 1]."""
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, numbers.Real)
        or not 0.0 < fraction <= 1.0
    ):
        raise ValueError(
            "The top-k fraction of fakes the generator learns from must be a "
            f"float in (0, 1], received {fraction!r}."
        )
