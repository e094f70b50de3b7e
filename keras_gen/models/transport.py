"""Discriminator optimal transport in latent space (Tanaka 2019).

A trained critic D knows more about the data than its generator G has
learned. Tanaka ("Discriminator optimal transport", NeurIPS 2019) shows
that for a K-Lipschitz D near the Kantorovich potential of W1(p_G, p_data),
the map y -> argmin_x {||x - y|| - D(x) / K} moves generated samples
towards the data distribution; in latent space (his Algorithm 2) each
latent z0 becomes

    z* = argmin_z  ||z - z0|| - D(G(z)) / k_eff,

with k_eff the effective Lipschitz constant of z -> D(G(z)), estimated as
the largest |D(G(z)) - D(G(z'))| / ||z - z'|| over pairs of prior draws.
The minimization is a few Adam steps (beta_1 = 0, beta_2 = 0.9, as in the
paper), per latent vector: each vector has its own Adam moments, so a
vector's path does not depend on the rest of its batch.

`AdversarialModel.set_discriminator_transport` fits k_eff and switches the
transport on for `generate` and the serving export's `sample`.
"""

import numpy as np
import tensorflow as tf

# Adam's second-moment decay and epsilon for the latent steps (Tanaka 2019
# uses beta_1 = 0, beta_2 = 0.9). `DISTANCE_EPSILON` keeps ||z - z0||
# differentiable at z = z0, where every path starts.
BETA_2 = 0.9
ADAM_EPSILON = 1e-8
DISTANCE_EPSILON = 1e-12


def check_transport(steps, step_size, lipschitz):
    """Raises a ValueError unless the three settings are all None (no
    transport) or a valid int steps >= 1, float step_size > 0 and float
    lipschitz > 0."""
    settings = (steps, step_size, lipschitz)
    if all(value is None for value in settings):
        return
    if any(value is None for value in settings):
        raise ValueError(
            "transport_steps, transport_step_size and transport_lipschitz go "
            f"together (all None, or all set); received {steps!r}, "
            f"{step_size!r} and {lipschitz!r}. Use "
            "set_discriminator_transport(steps, step_size)."
        )
    if (not isinstance(steps, (int, np.integer)) or isinstance(steps, bool)
            or steps < 1):
        raise ValueError(f"transport_steps must be an int >= 1, received {steps!r}.")
    for name, value in (("transport_step_size", step_size),
                        ("transport_lipschitz", lipschitz)):
        if (not isinstance(value, (int, float, np.number)) or isinstance(value, bool)
                or not value > 0 or not np.isfinite(value)):
            raise ValueError(f"{name} must be a float > 0, received {value!r}.")


def lipschitz_estimate(critic, first, second):
    """The largest |critic(a) - critic(b)| / ||a - b|| over paired rows.

    Args:
        critic: fn float32 `(n, d)` -> float32 `(n,)`.
        first, second: float32 `(n, d)`, the pairs' two latents.

    Returns:
        A float, 0.0 when every pair is a single point.
    """
    first = tf.convert_to_tensor(first, tf.float32)
    second = tf.convert_to_tensor(second, tf.float32)
    rise = tf.abs(critic(first) - critic(second))
    run = tf.norm(first - second, axis=1)
    ratio = tf.where(run > 0, rise / tf.maximum(run, 1e-30), tf.zeros_like(rise))
    return float(tf.reduce_max(ratio))


def transport(critic, latent, steps, step_size, lipschitz):
    """Moves each latent z0 towards argmin_z ||z - z0|| - critic(z) / lipschitz.

    `steps` Adam steps (beta_1 = 0, beta_2 = `BETA_2`, bias-corrected second
    moment) of size `step_size` on every row of `latent` independently,
    from z = z0. The first step moves every coordinate by `step_size`
    (Adam's normalized gradient), uphill on the critic. Traceable: the
    steps are a `tf.while_loop`.

    Args:
        critic: fn float32 `(n, d)` -> float32 `(n,)`, e.g. z -> D(G(z)).
        latent: float32 `(n, d)`, the starting latents z0.
        steps: int >= 1 (or an int32 scalar tensor).
        step_size: float, Adam's learning rate.
        lipschitz: float > 0, k_eff.

    Returns:
        float32 `(n, d)`, the transported latents.
    """
    start = tf.convert_to_tensor(latent, tf.float32)
    steps = tf.convert_to_tensor(steps, tf.int32)
    step_size = tf.cast(step_size, tf.float32)
    inverse_lipschitz = 1.0 / tf.cast(lipschitz, tf.float32)

    def body(step, z, second_moment):
        with tf.GradientTape() as tape:
            tape.watch(z)
            distance = tf.sqrt(
                tf.reduce_sum(tf.square(z - start), axis=1) + DISTANCE_EPSILON
            )
            # A sum of per-row objectives: each row's gradient is its own.
            objective = tf.reduce_sum(distance - critic(z) * inverse_lipschitz)
        gradient = tape.gradient(objective, z)
        second_moment = BETA_2 * second_moment + (1.0 - BETA_2) * tf.square(gradient)
        step = step + 1
        corrected = second_moment / (1.0 - tf.pow(BETA_2, tf.cast(step, tf.float32)))
        z = z - step_size * gradient / (tf.sqrt(corrected) + ADAM_EPSILON)
        return step, z, second_moment

    _, moved, _ = tf.while_loop(
        lambda step, z, second_moment: step < steps,
        body,
        [tf.constant(0), start, tf.zeros_like(start)],
    )
    return moved
