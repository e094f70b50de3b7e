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


def global_sum(value):
    """Sums `value` over the replicas of the current step (itself with one).

    For statistics of the global batch, such as the number of labeled
    examples, which differs from replica to replica. Without gradient.
    """
    value = tf.stop_gradient(value)
    if num_replicas() == 1:
        return value
    return tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, value
    )


def global_batch_mean(values):
    """The mean over the global batch of `values` `(batch, ...)`, on axis 0.

    Every replica gets the value of the global mean; its gradient flows to
    this replica's examples only (each with weight 1 / global batch size),
    so the replicas' gradients sum to the gradient of the global mean. A
    loss built from such means therefore has the global value on every
    replica: to pass it to an optimizer that sums replicas' gradients after
    `scale_for_replicas` (which expects per-replica means), multiply it by
    `num_replicas()` first.
    """
    values = tf.convert_to_tensor(values)
    local_sum = tf.reduce_sum(values, axis=0)
    count = tf.cast(tf.shape(values)[0], values.dtype)
    if num_replicas() == 1:
        return local_sum / count
    total = global_sum(local_sum)
    # Value: total / N; gradient: only through this replica's local_sum.
    return (local_sum + tf.stop_gradient(total - local_sum)) / global_sum(count)
