"""The semi-supervised GAN's discriminator: a K-class classifier MLP."""

import keras


@keras.saving.register_keras_serializable(package="keras_gen")
class ResumableGaussianNoise(keras.layers.GaussianNoise):
    """`keras.layers.GaussianNoise` whose noise state is saved with the weights.

    Keras does not save a layer's `SeedGenerator` state, so a reloaded stock
    `GaussianNoise` draws other noise than the layer it was saved from would
    have drawn next; this one stores the state beside the (absent) weights,
    so a reloaded model resumes training exactly.

    Args:
        stddev: float in [0, 1], std of the noise added in training.
        seed: int or None, the initial seed of the noise.
        **kwargs: passed to `keras.layers.GaussianNoise`.
    """

    _SEED_STATE_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if hasattr(self, "seed_generator"):
            store[self._SEED_STATE_KEY] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self._SEED_STATE_KEY in keys and hasattr(self, "seed_generator"):
            self.seed_generator.state.assign(store[self._SEED_STATE_KEY])
        super().load_own_variables(
            {key: store[key] for key in keys if key != self._SEED_STATE_KEY}
        )


def build_semi_supervised_discriminator(
    data_shape,
    num_classes=10,
    hidden_units=(1000, 500, 250, 250, 250),
    input_noise_stddev=0.3,
    hidden_noise_stddev=0.5,
    name="discriminator",
):
    """Builds the MNIST discriminator of Salimans et al. 2016 (section 5).

    An MLP classifier with K outputs (the logits of the real classes; the
    model pins the logit of the generated class K+1 at 0) and Gaussian
    noise, active in training only, on its input and on the output of every
    hidden layer, the regularizer the paper uses on MNIST. Its second
    output, the last hidden layer's activations (before their noise), is
    the feature `f(x)` whose batch mean the generator matches.

    For `data_shape=(28, 28, 1)` and the defaults:
    784 -> 1000 -> 500 -> 250 -> 250 -> 250 -> 10, ReLU, about 1.5M weights.
    The paper's network also has weight normalization (Salimans & Kingma
    2016), which this one leaves out (see `SemiSupervisedGAN`).

    Args:
        data_shape: tuple, shape of one example, e.g. `(28, 28, 1)` or `(2,)`.
        num_classes: int >= 2, K, the number of real classes.
        hidden_units: tuple of ints, widths of the hidden layers (ReLU).
        input_noise_stddev: float >= 0, std of the Gaussian noise added to
            the input in training (0 disables).
        hidden_noise_stddev: float >= 0, std of the Gaussian noise added to
            each hidden layer's output in training (0 disables).
        name: str, the model name.

    Returns:
        A functional `keras.Model` mapping `(batch, *data_shape)` to
        `[class_logits (batch, num_classes), features (batch, hidden_units[-1])]`.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an int >= 2, received {num_classes!r}."
        )
    hidden_units = tuple(hidden_units)
    if not hidden_units:
        raise ValueError(
            "hidden_units must hold at least one width: the last hidden layer "
            "is the feature the generator matches."
        )
    for stddev_name, stddev in (
        ("input_noise_stddev", input_noise_stddev),
        ("hidden_noise_stddev", hidden_noise_stddev),
    ):
        if not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(
                f"{stddev_name} must be a number >= 0, received {stddev!r}."
            )
    inputs = keras.Input(tuple(data_shape), name="data")
    x = keras.layers.Flatten()(inputs)
    if input_noise_stddev:
        x = ResumableGaussianNoise(input_noise_stddev)(x)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
        features = x
        if hidden_noise_stddev:
            x = ResumableGaussianNoise(hidden_noise_stddev)(x)
    class_logits = keras.layers.Dense(num_classes, name="class_logits")(x)
    return keras.Model(inputs, [class_logits, features], name=name)
