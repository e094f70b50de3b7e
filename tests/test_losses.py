"""Tests for keras_gen.losses, against values worked out by hand.

Shared inputs for the adversarial losses (chosen so that each relu/hinge is
active on one element and inactive on the other, and the fake logits are not
symmetric, so a swapped sign cannot give the right answer by accident):

    r = real logits = [0, 2]
    f = fake logits = [1, -3]

softplus(x) = log(1 + exp(x)), and softplus(x) - softplus(-x) = x:

    softplus(0)  = log 2          = 0.6931471805599453
    softplus(2)  = log(1 + e^2)   = 2.1269280110429727
    softplus(-2) = log(1 + e^-2)  = 0.1269280110429725
    softplus(1)  = log(1 + e)     = 1.3132616875182228
    softplus(-1) = log(1 + e^-1)  = 0.3132616875182229
    softplus(3)  = log(1 + e^3)   = 3.0485873515737420
    softplus(-3) = log(1 + e^-3)  = 0.0485873515737421
"""

import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import losses

REAL = [0.0, 2.0]
FAKE = [1.0, -3.0]

SOFTPLUS = {
    0: math.log(2.0),
    2: math.log1p(math.exp(2.0)),
    -2: math.log1p(math.exp(-2.0)),
    1: math.log1p(math.exp(1.0)),
    -1: math.log1p(math.exp(-1.0)),
    3: math.log1p(math.exp(3.0)),
    -3: math.log1p(math.exp(-3.0)),
}

ATOL = 1e-6


def assert_scalar_close(value, expected, atol=ATOL):
    value = keras.ops.convert_to_tensor(value)
    assert value.dtype == tf.float32
    assert tuple(value.shape) == ()
    np.testing.assert_allclose(float(value), expected, rtol=0, atol=atol)


# ---------------------------------------------------------------------------
# Adversarial losses: golden values.
# ---------------------------------------------------------------------------


def test_minimax_discriminator_loss():
    # mean(softplus(-r)) = (softplus(0) + softplus(-2)) / 2
    #                    = (0.6931471805599453 + 0.1269280110429725) / 2
    #                    = 0.4100375958014589
    # mean(softplus(f))  = (softplus(1) + softplus(-3)) / 2
    #                    = (1.3132616875182228 + 0.0485873515737421) / 2
    #                    = 0.6809245195459824
    # total              = 1.0909621153474414
    expected = (SOFTPLUS[0] + SOFTPLUS[-2]) / 2 + (
        SOFTPLUS[1] + SOFTPLUS[-3]
    ) / 2
    np.testing.assert_allclose(expected, 1.0909621153474414, atol=1e-12)
    assert_scalar_close(
        losses.minimax_discriminator_loss(REAL, FAKE), 1.0909621153474414
    )


def test_minimax_discriminator_loss_label_smoothing():
    # s = 0.1, real targets 0.9:
    # real term = mean(0.9 * softplus(-r) + 0.1 * softplus(r))
    #   r = 0: 0.9 * 0.6931471805599453 + 0.1 * 0.6931471805599453
    #        = 0.6931471805599453
    #   r = 2: 0.9 * 0.1269280110429725 + 0.1 * 2.1269280110429727
    #        = 0.1142352099386753 + 0.2126928011042973 = 0.3269280110429725
    #   mean = (0.6931471805599453 + 0.3269280110429725) / 2
    #        = 0.5100375958014589
    #   (= unsmoothed 0.4100375958014589 + s * mean(r) = + 0.1 * 1)
    # fake term unchanged: 0.6809245195459824
    # total = 1.1909621153474413
    expected = (
        (0.9 * SOFTPLUS[0] + 0.1 * SOFTPLUS[0])
        + (0.9 * SOFTPLUS[-2] + 0.1 * SOFTPLUS[2])
    ) / 2 + (SOFTPLUS[1] + SOFTPLUS[-3]) / 2
    np.testing.assert_allclose(expected, 1.1909621153474413, atol=1e-12)
    assert_scalar_close(
        losses.minimax_discriminator_loss(REAL, FAKE, label_smoothing=0.1),
        1.1909621153474413,
    )


def test_label_smoothing_is_one_sided():
    # Smoothing must not touch the fake targets: with all-zero real logits,
    # softplus(0) = softplus(-0), so the real term is log 2 for any s, and
    # the loss must not change with s at all.
    fake = [1.0, -3.0, 0.5]
    unsmoothed = losses.minimax_discriminator_loss([0.0, 0.0], fake)
    smoothed = losses.minimax_discriminator_loss(
        [0.0, 0.0], fake, label_smoothing=0.3
    )
    assert_scalar_close(smoothed, float(unsmoothed))


@pytest.mark.parametrize("label_smoothing", [-0.1, 1.0, 1.5])
def test_label_smoothing_out_of_range(label_smoothing):
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.minimax_discriminator_loss(
            REAL, FAKE, label_smoothing=label_smoothing
        )


def test_minimax_generator_loss():
    # mean(log(1 - sigmoid(f))) = -mean(softplus(f))
    #   = -(1.3132616875182228 + 0.0485873515737421) / 2
    #   = -0.6809245195459824
    assert_scalar_close(
        losses.minimax_generator_loss(FAKE), -0.6809245195459824
    )


def test_non_saturating_generator_loss():
    # mean(softplus(-f)) = (softplus(-1) + softplus(3)) / 2
    #   = (0.3132616875182229 + 3.0485873515737420) / 2
    #   = 1.6809245195459825
    # (= mean(softplus(f)) - mean(f) = 0.6809245195459824 + 1)
    assert_scalar_close(
        losses.non_saturating_generator_loss(FAKE), 1.6809245195459825
    )


def test_top_k_fake_logits_by_hand():
    logits = np.array([[0.5], [-2.0], [3.0], [1.0]], "float32")
    top = losses.top_k_fake_logits(logits, 0.5)
    np.testing.assert_array_equal(np.asarray(top), [3.0, 1.0])
    # k = max(1, ceil(fraction * n)).
    np.testing.assert_array_equal(np.asarray(losses.top_k_fake_logits(logits, 0.01)), [3.0])
    np.testing.assert_array_equal(
        np.asarray(losses.top_k_fake_logits(logits, 0.3)), [3.0, 1.0]
    )
    np.testing.assert_array_equal(
        np.asarray(losses.top_k_fake_logits(logits, 1.0)), [3.0, 1.0, 0.5, -2.0]
    )
    # (softplus(-3) + softplus(-1)) / 2
    #   = (0.04858735157374206 + 0.31326168751822286) / 2 = 0.18092451954598246
    assert_scalar_close(
        losses.non_saturating_generator_loss(top), 0.18092451954598246
    )
    for fraction in (0.0, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match=r"float in \(0, 1\]"):
            losses.top_k_fake_logits(logits, fraction)


def test_non_saturating_discriminator_loss():
    # Same game for the discriminator as minimax: 1.0909621153474414, and
    # 1.1909621153474413 with label smoothing 0.1 (see above).
    assert_scalar_close(
        losses.non_saturating_discriminator_loss(REAL, FAKE),
        1.0909621153474414,
    )
    assert_scalar_close(
        losses.non_saturating_discriminator_loss(
            REAL, FAKE, label_smoothing=0.1
        ),
        1.1909621153474413,
    )


def test_wasserstein_losses():
    # D: mean(f) - mean(r) = (1 - 3) / 2 - (0 + 2) / 2 = -1 - 1 = -2
    # G: -mean(f) = -(-1) = 1
    assert_scalar_close(losses.wasserstein_discriminator_loss(REAL, FAKE), -2.0)
    assert_scalar_close(losses.wasserstein_generator_loss(FAKE), 1.0)


def test_hinge_losses():
    # D: mean(relu(1 - r)) = mean(relu(1), relu(-1)) = mean(1, 0) = 0.5
    #    mean(relu(1 + f)) = mean(relu(2), relu(-2)) = mean(2, 0) = 1.0
    #    total 1.5
    # G: -mean(f) = 1
    assert_scalar_close(losses.hinge_discriminator_loss(REAL, FAKE), 1.5)
    assert_scalar_close(losses.hinge_generator_loss(FAKE), 1.0)


def test_least_squares_losses():
    # D: 0.5 * mean((r - 1)^2) = 0.5 * mean(1, 1)  = 0.5
    #    0.5 * mean(f^2)       = 0.5 * mean(1, 9)  = 2.5
    #    total 3.0
    # G: 0.5 * mean((f - 1)^2) = 0.5 * mean(0, 16) = 4.0
    assert_scalar_close(
        losses.least_squares_discriminator_loss(REAL, FAKE), 3.0
    )
    assert_scalar_close(losses.least_squares_generator_loss(FAKE), 4.0)


# Every loss as (function, positional args, expected) for shape/dtype checks.
GOLDEN = [
    (losses.minimax_discriminator_loss, 2, 1.0909621153474414),
    (losses.non_saturating_discriminator_loss, 2, 1.0909621153474414),
    (losses.wasserstein_discriminator_loss, 2, -2.0),
    (losses.hinge_discriminator_loss, 2, 1.5),
    (losses.least_squares_discriminator_loss, 2, 3.0),
    (losses.minimax_generator_loss, 1, -0.6809245195459824),
    (losses.non_saturating_generator_loss, 1, 1.6809245195459825),
    (losses.wasserstein_generator_loss, 1, 1.0),
    (losses.hinge_generator_loss, 1, 1.0),
    (losses.least_squares_generator_loss, 1, 4.0),
]


@pytest.mark.parametrize(
    "loss_fn,num_args,expected", GOLDEN, ids=[g[0].__name__ for g in GOLDEN]
)
@pytest.mark.parametrize(
    "to_input",
    [
        lambda x: x,  # python list, shape (2,)
        lambda x: np.array(x, "float32")[:, None],  # numpy, shape (2, 1)
        lambda x: tf.constant(x, tf.float16),  # half precision logits
        # Each example duplicated along a second axis: the mean over all
        # elements is unchanged.
        lambda x: tf.constant([[v, v, v] for v in x]),
    ],
    ids=["list", "batch_by_1", "float16", "batch_by_3"],
)
def test_every_loss_is_a_float32_mean_over_elements(
    loss_fn, num_args, expected, to_input
):
    args = [to_input(REAL), to_input(FAKE)][-num_args:]
    assert_scalar_close(loss_fn(*args), expected, atol=1e-5)


def test_losses_trace_in_tf_function():
    @tf.function
    def compute(real, fake):
        return [
            loss.discriminator_loss(real, fake) for loss in map(
                losses.get, losses.ADVERSARIAL_LOSSES
            )
        ] + [
            loss.generator_loss(fake) for loss in map(
                losses.get, losses.ADVERSARIAL_LOSSES
            )
        ]

    values = compute(tf.constant(REAL), tf.constant(FAKE))
    expected_d = [1.0909621153474414, 1.0909621153474414, -2.0, 1.5, 3.0]
    expected_g = [-0.6809245195459824, 1.6809245195459825, 1.0, 1.0, 4.0]
    for value, expected in zip(values, expected_d + expected_g):
        assert_scalar_close(value, expected)


# ---------------------------------------------------------------------------
# Adversarial losses: properties.
# ---------------------------------------------------------------------------


def test_minimax_at_zero_logits_is_two_log_two():
    # D(x) = sigmoid(0) = 1/2 everywhere: -log(1/2) - log(1 - 1/2) = 2 log 2
    #   = 1.3862943611198906; the generators see -log 2 and +log 2.
    zeros = tf.zeros((8, 1))
    assert_scalar_close(
        losses.minimax_discriminator_loss(zeros, zeros), 2 * math.log(2.0)
    )
    assert_scalar_close(losses.minimax_generator_loss(zeros), -math.log(2.0))
    assert_scalar_close(
        losses.non_saturating_generator_loss(zeros), math.log(2.0)
    )


def test_numerically_stable_for_large_logits():
    # log(sigmoid(-100)) underflows to log(0) = -inf in float32; softplus
    # gives the exact asymptote: softplus(100) = 100 (+ 3.7e-44).
    big = tf.constant([100.0, 100.0])
    # D: real logit -100 -> softplus(100) = 100; fake logit 100 -> 100.
    assert_scalar_close(losses.minimax_discriminator_loss(-big, big), 200.0)
    assert_scalar_close(losses.minimax_generator_loss(big), -100.0)
    assert_scalar_close(losses.non_saturating_generator_loss(-big), 100.0)
    with tf.GradientTape() as tape:
        tape.watch(big)
        loss = losses.non_saturating_generator_loss(-big)
    # d/df mean(softplus(-f)) = -sigmoid(-f) / n = -1 / 2 at f = -100.
    np.testing.assert_allclose(tape.gradient(loss, big), [0.5, 0.5])


def test_zero_sum_pairs():
    # Minimax and Wasserstein are zero-sum games: D loss + G loss does not
    # depend on the fake logits (it is mean(softplus(-r)) resp. -mean(r)).
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16,)).astype("float32")
    for _ in range(3):
        fake = rng.normal(scale=3.0, size=(16,)).astype("float32")
        assert_scalar_close(
            losses.minimax_discriminator_loss(real, fake)
            + losses.minimax_generator_loss(fake),
            float(np.mean(np.logaddexp(0.0, -real))),
            atol=1e-5,
        )
        assert_scalar_close(
            losses.wasserstein_discriminator_loss(real, fake)
            + losses.wasserstein_generator_loss(fake),
            -float(np.mean(real)),
            atol=1e-5,
        )


def test_non_saturating_matches_minimax_fixed_point():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(4, 1)).astype("float32")
    fake = rng.normal(size=(4, 1)).astype("float32")
    # Same discriminator loss, with and without smoothing.
    for s in (0.0, 0.2):
        assert_scalar_close(
            losses.non_saturating_discriminator_loss(real, fake, s),
            float(losses.minimax_discriminator_loss(real, fake, s)),
        )
    # softplus(-f) = softplus(f) - f:  NS G = -(minimax G) - mean(f).
    assert_scalar_close(
        losses.non_saturating_generator_loss(fake),
        -float(losses.minimax_generator_loss(fake)) - float(np.mean(fake)),
        atol=1e-5,
    )


def test_generator_and_discriminator_pull_opposite_ways():
    # Raising the fake logits (D is fooled more) must lower every generator
    # loss and raise every discriminator loss.
    low, high = tf.constant([-0.5, 0.0]), tf.constant([0.5, 0.8])
    real = tf.constant(REAL)
    for name in losses.ADVERSARIAL_LOSSES:
        pair = losses.get(name)
        assert float(pair.generator_loss(high)) < float(
            pair.generator_loss(low)
        ), name
        assert float(pair.discriminator_loss(real, high)) > float(
            pair.discriminator_loss(real, low)
        ), name


# ---------------------------------------------------------------------------
# get()
# ---------------------------------------------------------------------------


def test_get_returns_matching_pairs():
    expected = {
        "minimax": (
            losses.minimax_generator_loss,
            losses.minimax_discriminator_loss,
        ),
        "non_saturating": (
            losses.non_saturating_generator_loss,
            losses.non_saturating_discriminator_loss,
        ),
        "wasserstein": (
            losses.wasserstein_generator_loss,
            losses.wasserstein_discriminator_loss,
        ),
        "hinge": (losses.hinge_generator_loss, losses.hinge_discriminator_loss),
        "least_squares": (
            losses.least_squares_generator_loss,
            losses.least_squares_discriminator_loss,
        ),
    }
    assert losses.ADVERSARIAL_LOSSES == tuple(expected)
    for name, (generator_loss, discriminator_loss) in expected.items():
        pair = losses.get(name)
        assert isinstance(pair, losses.AdversarialLoss)
        assert pair.name == name
        assert pair.generator_loss is generator_loss
        assert pair.discriminator_loss is discriminator_loss


def test_get_passes_instances_through():
    custom = losses.AdversarialLoss(
        "custom",
        losses.hinge_generator_loss,
        losses.wasserstein_discriminator_loss,
    )
    assert losses.get(custom) is custom
    assert losses.get(losses.get("hinge")) is losses.get("hinge")


def test_adversarial_loss_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        losses.get("hinge").name = "other"


def test_get_rejects_unknown_names_with_suggestion():
    with pytest.raises(ValueError) as info:
        losses.get("non-saturating")
    message = str(info.value)
    assert "'non-saturating'" in message
    assert "Did you mean 'non_saturating'" in message
    for name in losses.ADVERSARIAL_LOSSES:
        assert name in message

    with pytest.raises(ValueError, match="Did you mean 'wasserstein'"):
        losses.get("wasserstien")
    with pytest.raises(ValueError, match="Valid names: minimax, "):
        losses.get("no_such_loss_at_all")


def test_get_rejects_non_strings():
    with pytest.raises(TypeError, match="AdversarialLoss"):
        losses.get(None)
    with pytest.raises(TypeError, match="str"):
        losses.get(losses.hinge_generator_loss)


# ---------------------------------------------------------------------------
# gradient_penalty
# ---------------------------------------------------------------------------


def linear_dense_critic(kernel, use_bias=True, bias=0.0):
    """A keras critic x -> w.x + b on flat inputs, with the given kernel."""
    kernel = np.asarray(kernel, "float32").reshape(-1, 1)
    critic = keras.Sequential(
        [
            keras.Input((kernel.shape[0],)),
            keras.layers.Dense(1, use_bias=use_bias),
        ]
    )
    critic.layers[-1].set_weights(
        [kernel, np.full((1,), bias, "float32")] if use_bias else [kernel]
    )
    return critic


def squared_norm_critic(x):
    """x -> sum(x^2) per example; its input gradient is 2 * x."""
    return keras.ops.sum(keras.ops.square(x), axis=tuple(range(1, x.ndim)))


def random_pair(shape, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=shape).astype("float32"),
        rng.normal(loc=2.0, size=shape).astype("float32"),
    )


@pytest.mark.parametrize(
    "interpolation_weights",
    [None, [0.0, 1.0, 0.5, 0.3], [[0.9], [0.1], [0.7], [0.2]]],
    ids=["drawn", "hand_picked", "hand_picked_batch_by_1"],
)
def test_gradient_penalty_linear_critic_flat(interpolation_weights):
    # critic(x) = w.x + b with w = [3, 4]: the input gradient is w at every
    # point, so the penalty is (||w|| - 1)^2 = (5 - 1)^2 = 16 whatever the
    # inputs and the interpolation weights.
    critic = linear_dense_critic([3.0, 4.0], bias=0.3)
    real, fake = random_pair((4, 2), seed=0)
    penalty = losses.gradient_penalty(
        lambda x: critic(x, training=True),
        real,
        fake,
        seed_generator=keras.random.SeedGenerator(0),
        interpolation_weights=interpolation_weights,
    )
    assert_scalar_close(penalty, 16.0, atol=1e-5)


@pytest.mark.parametrize(
    "interpolation_weights",
    [None, [0.25, 0.75, 1.0], np.ones((3, 1, 1, 1), "float32") * 0.4],
    ids=["drawn", "hand_picked", "hand_picked_batch_by_1_1_1"],
)
def test_gradient_penalty_linear_critic_images(interpolation_weights):
    # Image-shaped inputs (batch, 2, 2, 3): critic = Flatten + Dense with all
    # 12 kernel entries 1, so the gradient is all ones and its norm over
    # (h, w, c) is sqrt(12):
    #   (sqrt(12) - 1)^2 = 12 - 2 sqrt(12) + 1 = 13 - 6.928203230275509
    #                    = 6.071796769724491
    # If the norm were taken over the last axis only, the result would be
    # (sqrt(3) - 1)^2 = 0.5358983848622454 instead.
    critic = keras.Sequential(
        [
            keras.Input((2, 2, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(1, use_bias=False),
        ]
    )
    critic.layers[-1].set_weights([np.ones((12, 1), "float32")])
    real, fake = random_pair((3, 2, 2, 3), seed=1)
    penalty = losses.gradient_penalty(
        lambda x: critic(x, training=True),
        real,
        fake,
        seed_generator=keras.random.SeedGenerator(1),
        interpolation_weights=interpolation_weights,
    )
    assert_scalar_close(penalty, 13.0 - 2.0 * math.sqrt(12.0), atol=1e-5)


def test_gradient_penalty_linear_critic_plain_function():
    # A plain function with a tf.Variable w of image shape (2, 2, 1):
    # critic(x) = sum(w * x), gradient w, ||w|| = sqrt(1 + 4 + 0 + 4) = 3,
    # penalty (3 - 1)^2 = 4.
    w = tf.Variable([[[1.0], [2.0]], [[0.0], [-2.0]]])
    real, fake = random_pair((5, 2, 2, 1), seed=2)
    penalty = losses.gradient_penalty(
        lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3]),
        real,
        fake,
        seed_generator=keras.random.SeedGenerator(2),
    )
    assert_scalar_close(penalty, 4.0, atol=1e-5)


def test_gradient_penalty_hand_computed_nonlinear_critic():
    # critic(x) = sum(x^2), gradient 2 * x_hat, with x_hat = a*real + (1-a)*fake
    #   example 0: real [1, 0], fake [0, 1], a = 0.5
    #     x_hat = [0.5, 0.5], gradient [1, 1], norm sqrt(2)
    #     (sqrt(2) - 1)^2 = 3 - 2 sqrt(2) = 0.1715728752538097
    #   example 1: real [0, 2], fake [0, 0], a = 0.75
    #     x_hat = [0, 1.5], gradient [0, 3], norm 3, (3 - 1)^2 = 4
    #     (with a and 1 - a swapped: x_hat = [0, 0.5], norm 1, penalty 0)
    #   mean = (0.1715728752538097 + 4) / 2 = 2.0857864376269049
    real = tf.constant([[1.0, 0.0], [0.0, 2.0]])
    fake = tf.constant([[0.0, 1.0], [0.0, 0.0]])
    expected = (3.0 - 2.0 * math.sqrt(2.0) + 4.0) / 2.0
    np.testing.assert_allclose(expected, 2.0857864376269049, atol=1e-12)
    for weights in ([0.5, 0.75], [[0.5], [0.75]], tf.constant([0.5, 0.75])):
        penalty = losses.gradient_penalty(
            squared_norm_critic, real, fake, interpolation_weights=weights
        )
        assert_scalar_close(penalty, expected)


def test_gradient_penalty_constant_critic_is_finite():
    # Zero kernel: the critic is the constant b, its input gradient is 0, so
    # the penalty is (0 - 1)^2 = 1. A naive sqrt(sum(g^2)) would give a NaN
    # outer gradient here (d sqrt(s)/ds = inf at s = 0, times 0).
    critic = linear_dense_critic([0.0, 0.0, 0.0], bias=0.7)
    real, fake = random_pair((4, 3), seed=3)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(
            lambda x: critic(x, training=True),
            real,
            fake,
            seed_generator=keras.random.SeedGenerator(3),
        )
    # 1 exactly with the safe norm (1 - 2 sqrt(eps) with sqrt(s + eps)).
    assert_scalar_close(penalty, 1.0, atol=1e-5)
    kernel_grad, bias_grad = tape.gradient(
        penalty, critic.trainable_variables
    )
    # At w = 0 the safe norm has gradient 0 w.r.t. the kernel (finite, not
    # NaN); the penalty does not depend on the bias at all (None: no path).
    assert np.all(np.isfinite(kernel_grad))
    np.testing.assert_array_equal(kernel_grad, np.zeros((3, 1)))
    assert bias_grad is None or np.all(np.asarray(bias_grad) == 0.0)


def test_gradient_penalty_critic_ignoring_its_input():
    # A critic whose output is not connected to x at all: gradient 0
    # (not None), penalty 1.
    v = tf.Variable(2.0)
    real, fake = random_pair((3, 2), seed=4)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(
            lambda x: v * tf.ones((3, 1)),
            real,
            fake,
            interpolation_weights=[0.1, 0.2, 0.3],
        )
    # 1 exactly with the safe norm (1 - 2 sqrt(eps) with sqrt(s + eps)).
    assert_scalar_close(penalty, 1.0, atol=1e-5)
    grad = tape.gradient(
        penalty, v, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    assert np.isfinite(grad)


@pytest.mark.parametrize("kernel", [[3.0, 4.0], [0.3, -0.4]])
def test_gradient_penalty_double_backprop(kernel):
    # penalty(w) = (||w|| - 1)^2 for the linear critic, so
    #   d penalty / dw = 2 (||w|| - 1) w / ||w||
    #   w = [3, 4]:     2 * 4 * [0.6, 0.8]         = [4.8, 6.4]
    #   w = [0.3, -0.4]: 2 * (-0.5) * [0.6, -0.8]  = [-0.6, 0.8]
    # which is only right if the outer tape sees through the inner one.
    critic = linear_dense_critic(kernel, bias=-1.0)
    real, fake = random_pair((6, 2), seed=5)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(
            lambda x: critic(x, training=True),
            real,
            fake,
            seed_generator=keras.random.SeedGenerator(5),
        )
    kernel_grad = tape.gradient(penalty, critic.layers[-1].kernel)
    w = np.asarray(kernel)
    norm = np.linalg.norm(w)
    expected = 2.0 * (norm - 1.0) * w / norm
    np.testing.assert_allclose(
        np.asarray(kernel_grad)[:, 0], expected, rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(
        expected, [4.8, 6.4] if kernel[0] == 3.0 else [-0.6, 0.8], atol=1e-12
    )


class RecordingCritic:
    """The squared-norm critic, keeping the points it was evaluated at."""

    def __init__(self):
        self.inputs = []

    def __call__(self, x):
        self.inputs.append(np.asarray(x))
        return squared_norm_critic(x)


def interpolation_weights_drawn(seed_generator, batch_size=64):
    # With real = 1 and fake = 0, x_hat = a, so the critic sees the weights.
    critic = RecordingCritic()
    shape = (batch_size, 2, 2, 1)
    penalty = losses.gradient_penalty(
        critic,
        np.ones(shape, "float32"),
        np.zeros(shape, "float32"),
        seed_generator=seed_generator,
    )
    (x_hat,) = critic.inputs
    return x_hat, float(penalty)


def test_gradient_penalty_draws_uniform_weights_per_example():
    x_hat, penalty = interpolation_weights_drawn(keras.random.SeedGenerator(7))
    # One weight per example, broadcast over (h, w, c).
    weights = x_hat[:, 0, 0, 0]
    np.testing.assert_array_equal(
        x_hat, np.broadcast_to(weights[:, None, None, None], x_hat.shape)
    )
    # Different examples get different weights.
    assert len(np.unique(weights)) == len(weights)
    # Uniform on [0, 1], not normal: 64 standard normal draws would all be in
    # [0, 1] with probability about 0.34^64.
    assert np.all(weights >= 0.0) and np.all(weights <= 1.0)
    assert 0.3 < weights.mean() < 0.7
    # And the penalty is computed at those points: gradient 2a on 4 entries,
    # norm 4a, per-example penalty (4a - 1)^2.
    np.testing.assert_allclose(
        penalty, np.mean((4.0 * weights - 1.0) ** 2), rtol=1e-5
    )


def test_gradient_penalty_seed_generator_is_reproducible():
    first_x_hat, first_penalty = interpolation_weights_drawn(
        keras.random.SeedGenerator(11)
    )
    again_x_hat, again_penalty = interpolation_weights_drawn(
        keras.random.SeedGenerator(11)
    )
    np.testing.assert_array_equal(first_x_hat, again_x_hat)
    assert first_penalty == again_penalty

    other_x_hat, _ = interpolation_weights_drawn(keras.random.SeedGenerator(12))
    assert not np.allclose(first_x_hat, other_x_hat)

    # The generator's state advances: two calls draw different weights.
    seed_generator = keras.random.SeedGenerator(11)
    call_1, _ = interpolation_weights_drawn(seed_generator)
    call_2, _ = interpolation_weights_drawn(seed_generator)
    np.testing.assert_array_equal(call_1, first_x_hat)
    assert not np.allclose(call_1, call_2)


def test_gradient_penalty_in_tf_function_with_unknown_batch_size():
    # As in a compiled train step: the batch dimension is None when traced.
    seed_generator = keras.random.SeedGenerator(13)
    spec = tf.TensorSpec((None, 2, 2), tf.float32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec((None,))])
    def hand_picked(real, fake, weights):
        return losses.gradient_penalty(
            squared_norm_critic, real, fake, interpolation_weights=weights
        )

    @tf.function(input_signature=[spec, spec])
    def drawn(real, fake):
        return losses.gradient_penalty(
            squared_norm_critic, real, fake, seed_generator=seed_generator
        )

    # real = 1, fake = 0 on 2x2: x_hat = a, gradient 2a on 4 entries,
    # norm 4a. a = 0.5 -> (2 - 1)^2 = 1, a = 0.25 -> 0, a = 1 -> 9;
    # mean (1 + 0 + 9) / 3 = 10/3 = 3.3333333.
    ones, zeros = tf.ones((3, 2, 2)), tf.zeros((3, 2, 2))
    assert_scalar_close(
        hand_picked(ones, zeros, tf.constant([0.5, 0.25, 1.0])), 10.0 / 3.0
    )
    for batch_size in (3, 5):
        shape = (batch_size, 2, 2)
        penalty = drawn(tf.ones(shape), tf.zeros(shape))
        # (4a - 1)^2 with a in [0, 1] lies in [0, 9].
        assert 0.0 <= float(penalty) <= 9.0


def test_gradient_penalty_validates_shapes():
    real, fake = random_pair((4, 2), seed=6)
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(squared_norm_critic, real, fake[:, :1])
    with pytest.raises(ValueError, match="interpolation_weights"):
        losses.gradient_penalty(
            squared_norm_critic,
            real,
            fake,
            interpolation_weights=np.full((4, 2), 0.5, "float32"),
        )
