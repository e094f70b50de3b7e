"""`tf.distribute` helpers shared by the models' training steps."""

import tensorflow as tf


def num_replicas():
    """Replicas in sync under the current strategy (1 without one)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_id():
    """This replica's index in its sync group (0 outside a replica context)."""
    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def scale_for_replicas(value):
    """Divides a per-replica mean by the number of replicas.

    Optimizers sum gradients over replicas, so a per-replica mean loss scaled
    this way gives the gradient of the global-batch mean. `scalar_mul` also
    scales the `IndexedSlices` gradients of embeddings.
    """
    replicas = num_replicas()
    if replicas == 1 or value is None:
        return value
    return tf.math.scalar_mul(1.0 / replicas, value)


def draw_per_example(distribution, batch_size, event_shape, seed):
    """Draws `(batch_size, *event_shape)` noise, the same for any replica count.

    Every replica draws the noise of the global batch from the same
    (mirrored) seed state and keeps its own slice, so a global batch gets the
    same noise with 1 or N replicas, and replicas never share noise.

    Args:
        distribution: a `keras.random` sampler such as `keras.random.normal`.
        batch_size: int or scalar tensor, this replica's batch size.
        event_shape: tuple, the shape of one example's noise.
        seed: a `keras.random.SeedGenerator`.
    """
    replicas = num_replicas()
    noise = distribution((batch_size * replicas, *event_shape), seed=seed)
    if replicas == 1:
        return noise
    start = replica_id() * batch_size
    return noise[start : start + batch_size]
