"""The GAN family against the shared model contract, on tiny configs."""

import math
from statistics import NormalDist

import keras
import numpy as np
import pytest

from keras_gen import models
from keras_gen import networks
from tests import model_test_case

IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 3


def _make(name):
    """A tiny, compiled model of each kind (a few thousand weights)."""
    tiny_conv = dict(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4, seed=1)
    model = {
        "gan": lambda: models.GAN(
            data_shape=(2,), latent_dim=2, hidden_units=(8, 8), seed=1
        ),
        "gan_images": lambda: models.GAN(
            data_shape=IMAGE_SHAPE, latent_dim=4, hidden_units=(16, 16), seed=1
        ),
        "dcgan": lambda: models.DCGAN(**tiny_conv),
        # The dcgan_mnist preset's discriminator: a hidden dense layer.
        "dcgan_ema": lambda: models.DCGAN(
            discriminator=networks.build_dcgan_discriminator(
                IMAGE_SHAPE, 4, hidden_units=8
            ),
            **tiny_conv,
        ),
        "dcgan_top_k": lambda: models.DCGAN(**tiny_conv),
        "dcgan_mixture": lambda: models.DCGAN(latent_components=3, **tiny_conv),
        "dcgan_spectral_norm": lambda: models.DCGAN(
            discriminator=networks.build_dcgan_discriminator(
                IMAGE_SHAPE, 4, normalization="spectral"
            ),
            **tiny_conv,
        ),
        "wgan": lambda: models.WGAN(**tiny_conv),
        "wgan_gp": lambda: models.WGANGP(**tiny_conv),
        "wgan_gp_flat": lambda: models.WGANGP(
            image_shape=(2,), latent_dim=2, seed=1
        ),
        "conditional_gan": lambda: models.ConditionalGAN(
            num_classes=NUM_CLASSES, **tiny_conv
        ),
    }[name]()
    model.compile(**{
        "dcgan_ema": {"generator_ema_decay": 0.9},
        "dcgan_top_k": {"generator_top_k": 0.5},
    }.get(name, {}))
    return model


MODEL_NAMES = [
    "gan", "gan_images", "dcgan", "dcgan_ema", "dcgan_top_k", "dcgan_mixture",
    "dcgan_spectral_norm", "wgan", "wgan_gp", "wgan_gp_flat", "conditional_gan",
]


def _data(model, num_examples=8):
    rng = np.random.default_rng(0)
    if model.is_image_model:
        x = rng.uniform(-1, 1, (num_examples, *model.data_shape))
    else:
        x = rng.normal(size=(num_examples, *model.data_shape))
    labels = (
        rng.integers(0, model.num_classes, num_examples).astype("int32")
        if model.is_conditional
        else None
    )
    return x.astype("float32"), labels


def _labels(model, n=5):
    return np.arange(n) % model.num_classes if model.is_conditional else None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_train(name):
    model = _make(name)
    expected = ("d_loss", "g_loss") + (
        ("gradient_penalty",) if isinstance(model, models.WGANGP) else ()
    )
    model_test_case.run_train_test(model, _data(model), expected)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_generate(name):
    model = _make(name)
    model_test_case.run_generate_test(model, labels=_labels(model))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_and_reload(name, tmp_path):
    model = _make(name)
    model_test_case.run_saving_test(
        model, _data(model), tmp_path, labels=_labels(model, 4)
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_distribute(name):
    model = _make(name)
    model_test_case.run_distribute_test(lambda: _make(name), _data(model))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_input(name):
    model = _make(name)
    model_test_case.run_bad_input_test(model, _data(model))


@pytest.mark.parametrize("normalization", ["batch", "layer", "spectral", None])
def test_discriminator_hidden_layer(normalization):
    plain = networks.build_dcgan_discriminator(IMAGE_SHAPE, 4, normalization=normalization)
    hidden = networks.build_dcgan_discriminator(
        IMAGE_SHAPE, 4, normalization=normalization, hidden_units=16, dropout=0.3
    )
    images = np.zeros((3, *IMAGE_SHAPE), "float32")
    assert hidden(images).shape == (3, 1)
    features = int(np.prod(plain.get_layer(index=-2).output.shape[1:]))
    normalized = normalization in ("batch", "layer")
    # features x 16 (+16 biases unless normalized) + the layer's own
    # normalization (2 x 16 for batch/layer, spectral's u vector) + 16 + 1
    # for the logit instead of features + 1.
    extra = {"batch": 2 * 16, "layer": 2 * 16, "spectral": 16, None: 0}
    dense = features * 16 + (0 if normalized else 16)
    assert hidden.count_params() - plain.count_params() == (
        dense + extra[normalization] + 16 + 1 - (features + 1)
    )
    kinds = [type(layer).__name__ for layer in hidden.layers]
    head = kinds[kinds.index("Flatten") + 1:]  # The hidden layer, then the logit.
    assert head.count("LeakyReLU") == head.count("Dropout") == 1
    # Per-example normalization of the hidden layer, never batch norm.
    assert "BatchNormalization" not in head
    assert head.count("LayerNormalization") == (1 if normalized else 0)
    with pytest.raises(ValueError, match="hidden_units must be None or a positive int"):
        networks.build_dcgan_discriminator(IMAGE_SHAPE, 4, hidden_units=0)


@pytest.mark.parametrize(
    "hidden_normalization, expected",
    [("layer", ["LayerNormalization"]), ("batch", ["BatchNormalization"]), (None, [])],
)
def test_discriminator_hidden_layer_normalization_can_be_chosen(
    hidden_normalization, expected
):
    discriminator = networks.build_dcgan_discriminator(
        IMAGE_SHAPE, 4, hidden_units=16, hidden_normalization=hidden_normalization
    )
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    head = kinds[kinds.index("Flatten") + 1:]
    assert [kind for kind in head if kind.endswith("Normalization")] == expected
    # A normalized layer needs no bias of its own.
    dense = discriminator.layers[kinds.index("Flatten") + 1]
    assert dense.use_bias == (hidden_normalization is None)
    # Batch and layer norm have the same trainable weights (gamma, beta), so
    # a layer-normalized discriminator's weights fit the batch-norm one.
    if hidden_normalization == "batch":
        layer_normed = networks.build_dcgan_discriminator(IMAGE_SHAPE, 4, hidden_units=16)
        assert [w.shape for w in discriminator.trainable_weights] == [
            w.shape for w in layer_normed.trainable_weights
        ]
    with pytest.raises(ValueError, match="hidden_normalization must be 'auto'"):
        networks.build_dcgan_discriminator(
            IMAGE_SHAPE, 4, hidden_units=16, hidden_normalization="instance"
        )


def test_discriminator_hidden_layer_sees_what_a_whole_batch_shares():
    # The discriminator sees real and fake batches separately; a batch of
    # one repeated image (a collapsed generator) must still get a logit that
    # depends on the image. Batch norm on the hidden layer zeroed its
    # features for such a batch, so every collapsed generator looked alike.
    discriminator = networks.build_dcgan_discriminator(IMAGE_SHAPE, 4, hidden_units=16)
    rng = np.random.default_rng(0)
    one, other = rng.uniform(-1, 1, (2, 1, *IMAGE_SHAPE)).astype("float32")
    logits = [
        keras.ops.convert_to_numpy(
            discriminator(np.repeat(image, 8, axis=0), training=True)
        )
        for image in (one, other)
    ]
    assert np.abs(logits[0] - logits[1]).max() > 1e-3


def test_wgan_clips_every_critic_weight():
    model = _make("wgan")
    model.compile(clip_value=0.02)
    model.fit(*_data(model), epochs=1, verbose=0)
    for weight in model.discriminator.trainable_variables:
        assert np.abs(weight.numpy()).max() <= 0.02 + 1e-7, weight.path


def test_compile_defaults_follow_the_papers():
    wgan_gp = _make("wgan_gp")
    assert wgan_gp.d_steps == 5 and wgan_gp.gradient_penalty_weight == 10.0
    for optimizer in (wgan_gp.g_optimizer, wgan_gp.d_optimizer):
        config = optimizer.get_config()
        assert type(optimizer) is keras.optimizers.Adam
        assert (config["learning_rate"], config["beta_1"], config["beta_2"]) == (
            pytest.approx(1e-4), 0.5, 0.9,
        )
    wgan = _make("wgan")
    assert wgan.d_steps == 5 and wgan.clip_value == 0.01
    assert type(wgan.d_optimizer) is keras.optimizers.RMSprop
    dcgan = _make("dcgan")
    assert dcgan.d_steps == 1 and dcgan.adversarial_loss.name == "non_saturating"
    # The WGAN-GP critic has no batch norm: the penalty is per example.
    layer_types = {type(layer).__name__ for layer in wgan_gp.discriminator.layers}
    assert "BatchNormalization" not in layer_types


def test_compile_overrides_and_errors():
    gan = _make("gan")
    gan.compile(loss="hinge", d_steps=2)
    assert gan.adversarial_loss.name == "hinge" and gan.d_steps == 2
    gan.fit(*_data(gan), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="least_squares"):
        gan.compile(loss="least_square")
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.compile(loss="hinge", label_smoothing=0.1)
    with pytest.raises(TypeError, match="clip_value"):
        gan.compile(clip_value=0.1)
    with pytest.raises(ValueError, match="d_steps"):
        gan.compile(d_steps=0)


def test_fit_before_compile_is_a_clear_error():
    model = models.GAN(data_shape=(2,), latent_dim=2, hidden_units=(4,))
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 2), "float32"), verbose=0)


def test_user_networks_are_used_as_given():
    generator = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2)], name="my_generator"
    )
    discriminator = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(1)], name="my_critic"
    )
    model = models.WGANGP(
        latent_dim=3, generator=generator, discriminator=discriminator
    )
    assert model.generator is generator and model.discriminator is discriminator
    assert model.data_shape == (2,)
    model.compile()
    model.fit(np.random.normal(size=(8, 2)).astype("float32"), verbose=0)


def test_generator_moving_average_by_hand():
    model = _make("dcgan")
    model.compile(generator_ema_decay=0.5)
    before = [w.numpy() for w in model.generator.weights]
    model.fit(*_data(model), batch_size=8, epochs=1, verbose=0)
    after = [w.numpy() for w in model.generator.weights]
    # One step (t = 1): decay = min(0.5, (1 + 1) / (10 + 1)) = 2 / 11.
    decay = 2 / 11
    for average, b, a in zip(model.generator_average, before, after):
        np.testing.assert_allclose(
            average.numpy(), decay * b + (1 - decay) * a, atol=1e-6
        )
    # generate() samples with the average, then puts the trained weights back.
    latent = keras.random.normal((3, model.latent_dim), seed=7)
    samples = model.generate(3, seed=7)
    for weight, trained in zip(model.generator.weights, after):
        np.testing.assert_array_equal(weight.numpy(), trained)
    with model.sampling_weights():
        expected = model.generator(latent, training=False).numpy()
    np.testing.assert_allclose(samples, expected, atol=1e-6)
    assert not np.allclose(samples, model.generator(latent, training=False).numpy())
    with pytest.raises(ValueError, match="generator_ema_decay"):
        model.compile(generator_ema_decay=1.0)


def test_generator_top_k_learns_from_the_best_rated_fakes_only():
    model = _make("dcgan_top_k")
    assert model.get_compile_config()["generator_top_k"] == 0.5
    # The step's loss, then the same latent and networks by hand.
    state = model.seed_generator.state.numpy()
    weights = model.get_weights()
    g_loss = float(model.generator_step(None, 8))
    model.seed_generator.state.assign(state)
    model.set_weights(weights)
    latent = model.sample_latent(8)
    fake = model.generator(latent, training=True)
    logits = np.sort(model.discriminator(fake, training=True).numpy().ravel())
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    # Non-saturating loss on the 4 of 8 fakes rated most real.
    np.testing.assert_allclose(g_loss, softplus(-logits[4:]).mean(), rtol=1e-5)
    assert not np.isclose(g_loss, softplus(-logits).mean(), rtol=1e-3)
    with pytest.raises(ValueError, match=r"float in \(0, 1\]"):
        model.compile(generator_top_k=0.0)
    with pytest.raises(ValueError, match="not supported by InfoGAN"):
        models.InfoGAN(
            image_shape=IMAGE_SHAPE, noise_dim=2, num_categories=2,
            num_continuous=1, base_filters=4,
        ).compile(generator_top_k=0.5)


# ----------------------------------------------------------------------
# The Gaussian mixture latent prior (latent_components=K).
# ----------------------------------------------------------------------


def _normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_mixture_latent_by_hand():
    model = models.DCGAN(
        image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4,
        latent_components=3, latent_component_stddev=0.5, seed=1,
    )
    # The means: uniform in [-1, 1] from RandomState(0), a fixed stream.
    np.testing.assert_array_equal(
        model.latent_means,
        np.random.RandomState(0).uniform(-1, 1, (3, 4)).astype("float32"),
    )
    noise = np.array(
        [[-1.0, 0.3, -0.2, 2.0], [0.1, 0.0, 0.0, 0.0], [2.5, -1.0, 1.0, 0.5]],
        "float32",
    )
    latent = keras.ops.convert_to_numpy(model.latent_from_noise(noise))
    for row, z in zip(noise, latent):
        # u = Phi(n0); component floor(3u); eps0 = Phi^-1(3u - component).
        scaled = 3.0 * _normal_cdf(float(row[0]))
        component = int(scaled)
        eps = np.array([NormalDist().inv_cdf(scaled - component), *row[1:]])
        np.testing.assert_allclose(
            z, model.latent_means[component] + 0.5 * eps, rtol=1e-4, atol=1e-5
        )


def test_mixture_latent_is_an_equal_weight_mixture_of_normals():
    model = models.DCGAN(
        image_shape=IMAGE_SHAPE, latent_dim=3, base_filters=4,
        latent_components=4, latent_component_stddev=0.1, seed=1,
    )
    noise = np.random.default_rng(0).normal(size=(40_000, 3)).astype("float32")
    latent = keras.ops.convert_to_numpy(model.latent_from_noise(noise))
    distances = np.linalg.norm(latent[:, None] - model.latent_means[None], axis=-1)
    component = distances.argmin(axis=1)
    # Each of the 4 components about a quarter of the draws (binomial
    # standard deviation 0.002).
    np.testing.assert_allclose(np.bincount(component) / len(noise), 0.25, atol=0.01)
    # Around its mean, every coordinate is N(0, sigma^2), the first one too
    # (it comes from the fraction that chose the component).
    residual = (latent - model.latent_means[component]) / 0.1
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(residual.std(axis=0), 1.0, atol=0.03)
    assert np.corrcoef(residual[:, 0], component)[0, 1] ** 2 < 1e-3


def test_mixture_prior_trains_generates_and_saves(tmp_path):
    model = _make("dcgan_mixture")
    # Training draws its latents from the mixture: with a tiny sigma, each
    # is next to one of the means.
    model.latent_component_stddev = 1e-4
    latent = keras.ops.convert_to_numpy(model.sample_latent(64))
    distances = np.linalg.norm(latent[:, None] - model.latent_means[None], axis=-1)
    assert distances.min(axis=1).max() < 1e-2
    assert len(set(distances.argmin(axis=1))) == 3
    model.latent_component_stddev = 1.0
    # generate() decodes the mixture latent of the seed's normals.
    noise = keras.random.normal((5, model.latent_dim), seed=7)
    expected = model.generator(model.latent_from_noise(noise), training=False)
    np.testing.assert_allclose(
        model.generate(5, seed=7), keras.ops.convert_to_numpy(expected), atol=1e-6
    )
    # sigma is a sampling knob saved with the model.
    wide = model.generate(5, seed=7)
    model.latent_component_stddev = 0.25
    assert not np.allclose(model.generate(5, seed=7), wide)
    model.save(tmp_path / "mixture.keras")
    restored = keras.saving.load_model(tmp_path / "mixture.keras")
    assert restored.latent_components == 3
    assert restored.latent_component_stddev == 0.25
    np.testing.assert_array_equal(restored.latent_means, model.latent_means)
    np.testing.assert_allclose(
        restored.generate(5, seed=7), model.generate(5, seed=7), atol=1e-6
    )
    # A model saved without the keys (before the prior existed) has N(0, I).
    assert _saved_without(
        "latent_components", "latent_component_stddev"
    ).latent_components is None


def _saved_without(*keys):
    """A tiny DCGAN rebuilt from a config that lacks `keys` (as one saved
    before they existed)."""
    config = _make("dcgan").get_config()
    for key in keys:
        config.pop(key)
    return models.DCGAN.from_config(config)


def test_mixture_prior_settings_are_checked():
    tiny = dict(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4)
    for bad in (1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="latent_components must be None"):
            models.DCGAN(latent_components=bad, **tiny)
    model = models.DCGAN(
        latent_components=np.int64(3), latent_component_stddev=np.float32(0.5), **tiny
    )
    assert model.get_config()["latent_component_stddev"] == 0.5
    for bad in (0.0, -1.0, "1"):
        with pytest.raises(ValueError, match="latent_component_stddev must be"):
            models.DCGAN(latent_components=3, latent_component_stddev=bad, **tiny)
    with pytest.raises(ValueError, match="InfoGAN has its own prior"):
        models.InfoGAN(image_shape=IMAGE_SHAPE, base_filters=4, latent_components=3)


# Jacobian-based truncation (set_jacobian_truncation).


def _linear_gan(weights):
    """A GAN whose generator is the linear map z -> z @ W + b."""
    generator = keras.Sequential(
        [keras.Input((weights.shape[0],)), keras.layers.Dense(weights.shape[1])]
    )
    generator.layers[0].set_weights([weights, np.ones(weights.shape[1], "float32")])
    discriminator = keras.Sequential(
        [keras.Input((weights.shape[1],)), keras.layers.Dense(1)]
    )
    return models.GAN(
        generator=generator, discriminator=discriminator, latent_dim=weights.shape[0]
    )


def test_jacobian_sq_norms_of_a_linear_generator_by_hand():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 5)).astype("float32")
    model = _linear_gan(weights)
    latent = rng.normal(size=(6, 3)).astype("float32")
    directions = rng.normal(size=(4, 6, 3)).astype("float32")
    # J v = v @ W for every latent: the estimate is the mean of ||v_k W||^2.
    expected = np.mean(np.sum((directions @ weights) ** 2, axis=-1), axis=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.jacobian_sq_norms(latent, directions)),
        expected, rtol=1e-3,
    )
    # Averaged over many directions: ||J||_F^2 = sum of W's squares.
    many = rng.normal(size=(4000, 1, 3)).astype("float32")
    estimate = np.mean(np.sum((many @ weights) ** 2, axis=-1))
    assert abs(estimate / np.sum(weights**2) - 1) < 0.05


def _kept_by_hand(model, num_samples, seed):
    """The truncated sampler's latents, recomputed round by round."""
    chunk = min(
        math.ceil(num_samples / model.truncation_keep) + 16, model.truncation_chunk_size
    )
    kept, rounds = [], 0
    while sum(len(k) for k in kept) < num_samples:
        latent, directions = model._truncation_candidates(seed, rounds, chunk)
        norms = keras.ops.convert_to_numpy(model.jacobian_sq_norms(latent, directions))
        kept.append(keras.ops.convert_to_numpy(latent)[norms <= model.truncation_threshold])
        rounds += 1
    return np.concatenate(kept)[:num_samples], rounds


@pytest.mark.parametrize("chunk_size", [4096, 32])
def test_jacobian_truncation_keeps_the_smooth_share_of_the_prior(chunk_size):
    model = _make("dcgan_ema")
    model.truncation_chunk_size = chunk_size
    untruncated = model.generate(100, seed=3)
    threshold = model.set_jacobian_truncation(0.5, num_latents=2000)
    assert threshold == model.truncation_threshold > 0
    # Fresh prior draws pass at the rate asked for.
    with model.sampling_weights():
        latent, directions = model._truncation_candidates(11, 0, 2000)
        norms = keras.ops.convert_to_numpy(model.jacobian_sq_norms(latent, directions))
        expected_latent, rounds = _kept_by_hand(model, 100, 3)
    assert abs((norms <= threshold).mean() - 0.5) < 0.05
    assert rounds > 1 if chunk_size == 32 else rounds >= 1
    # generate() decodes exactly the latents that pass, in the order drawn.
    with model.sampling_weights():
        expected = keras.ops.convert_to_numpy(
            model.generator(expected_latent, training=False)
        )
    samples = model.generate(100, seed=3)
    assert samples.shape == (100, *IMAGE_SHAPE)
    np.testing.assert_allclose(samples, expected, atol=1e-5)
    np.testing.assert_array_equal(samples, model.generate(100, seed=3))
    assert not np.allclose(samples, untruncated)
    # The model's own seed generator: a new draw on every call.
    assert not np.allclose(model.generate(4), model.generate(4))
    # Off again: the prior's samples.
    assert model.set_jacobian_truncation(None) is None
    np.testing.assert_allclose(model.generate(100, seed=3), untruncated, atol=1e-6)


def test_jacobian_truncation_is_saved_and_checked(tmp_path):
    model = _make("dcgan")
    model.set_jacobian_truncation(0.7, num_latents=500)
    model.save(tmp_path / "truncated.keras")
    restored = keras.saving.load_model(tmp_path / "truncated.keras")
    assert restored.truncation_keep == 0.7
    assert restored.truncation_threshold == model.truncation_threshold
    np.testing.assert_allclose(
        restored.generate(20, seed=1), model.generate(20, seed=1), atol=1e-6
    )
    # A model saved before the setting existed samples the whole prior.
    assert _saved_without("truncation_keep", "truncation_threshold").truncation_keep is None
    # A threshold that (almost) nothing passes: a clear error, not a hang.
    model._set_truncation(0.7, 1e-12)
    with pytest.raises(Exception, match="far fewer latents passed the threshold"):
        model.generate(8, seed=0)
    for bad in (0.0, 1.0, 1.5, "0.5"):
        with pytest.raises(ValueError, match=r"truncation_keep must be in \(0, 1\)"):
            model.set_jacobian_truncation(bad, num_latents=10)
    with pytest.raises(ValueError, match="go together"):
        models.DCGAN(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4,
                     truncation_keep=0.5)
    with pytest.raises(ValueError, match="truncation_threshold must be a float >= 0"):
        models.DCGAN(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4,
                     truncation_keep=0.5, truncation_threshold=-1.0)
    with pytest.raises(ValueError, match="for unconditional models"):
        _make("conditional_gan").set_jacobian_truncation(0.5, num_latents=10)


# Discriminator optimal transport (set_discriminator_transport).


def _linear_critic_gan(weights, critic_weights):
    """`_linear_gan` with the critic x -> x @ a + 0.5."""
    model = _linear_gan(weights)
    model.discriminator.layers[0].set_weights(
        [critic_weights[:, None], np.array([0.5], "float32")]
    )
    return model


def _transport_by_hand(start, direction, steps, step_size, lipschitz):
    """Adam (beta_1 0, beta_2 0.9) on ||z - z0|| - z . u / k, whose gradient
    is (z - z0) / ||z - z0|| - u / k (0 for the first term at z = z0)."""
    z, second_moment = start.astype("float64"), np.zeros(start.shape)
    for step in range(1, steps + 1):
        offset = z - start
        norm = np.sqrt(np.sum(offset**2, axis=1, keepdims=True) + 1e-12)
        gradient = offset / norm - direction / lipschitz
        second_moment = 0.9 * second_moment + 0.1 * gradient**2
        corrected = second_moment / (1 - 0.9**step)
        z = z - step_size * gradient / (np.sqrt(corrected) + 1e-8)
    return z


def test_discriminator_transport_of_a_linear_critic_by_hand():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 5)).astype("float32")
    critic_weights = rng.normal(size=5).astype("float32")
    model = _linear_critic_gan(weights, critic_weights)
    # D(G(z)) = z . u + const with u = W a: its Lipschitz constant is ||u||,
    # and 2,000 pairs in 3 dimensions come within 1% of it.
    direction = weights @ critic_weights
    lipschitz = model.set_discriminator_transport(3, step_size=0.05)
    assert 0.99 * np.linalg.norm(direction) < lipschitz <= np.linalg.norm(direction) * (1 + 1e-5)
    assert model.transport_lipschitz == lipschitz
    start = rng.normal(size=(6, 3)).astype("float32")
    # One step: Adam's first move is step_size * sign(gradient), uphill on
    # the critic in every coordinate.
    model.transport_steps = 1
    moved = keras.ops.convert_to_numpy(model.transported_latent(start))
    np.testing.assert_allclose(moved - start, np.broadcast_to(0.05 * np.sign(direction), start.shape), atol=1e-6)
    for steps in (3, 20):
        model.transport_steps = steps
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(model.transported_latent(start)),
            _transport_by_hand(start, direction, steps, 0.05, lipschitz),
            atol=1e-5,
        )


def test_discriminator_transport_moves_generate_to_the_critic():
    model = _make("dcgan_ema")
    model.fit(np.random.default_rng(0).uniform(-1, 1, (32, *IMAGE_SHAPE)).astype(
        "float32"), batch_size=16, epochs=1, verbose=0)
    # The average differs from the trained weights: transport must use it.
    for average in model.generator_average:
        average.assign(average * 0.9)
    plain = model.generate(40, seed=3)
    model.transport_chunk_size = 16  # generate moves the latents in 3 chunks.
    lipschitz = model.set_discriminator_transport(5, step_size=0.05, num_pairs=300)
    assert lipschitz > 0
    samples = model.generate(40, seed=3)
    with model.sampling_weights():
        latent = keras.random.normal((40, 4), seed=3)
        moved = keras.ops.convert_to_numpy(model.transported_latent(latent))
        expected = keras.ops.convert_to_numpy(model.generator(moved, training=False))
        before = keras.ops.convert_to_numpy(model.latent_critic(latent))
        after = keras.ops.convert_to_numpy(model.latent_critic(moved))
    np.testing.assert_allclose(samples, expected, atol=1e-5)
    assert not np.allclose(samples, plain)
    # Adam's step t moves a coordinate by at most step_size * |g_t| /
    # sqrt(v_t / (1 - 0.9^t)) <= step_size * sqrt((1 - 0.9^t) / 0.1), as
    # v_t >= 0.1 g_t^2; towards a higher critic on average.
    bound = 0.05 * sum(np.sqrt((1 - 0.9**t) / 0.1) for t in range(1, 6))
    assert np.abs(moved - keras.ops.convert_to_numpy(latent)).max() <= bound * 1.001
    assert after.mean() > before.mean()
    np.testing.assert_array_equal(samples, model.generate(40, seed=3))
    # Set again, the new settings take effect in generate (the settings are
    # not constants of a cached trace).
    model.set_discriminator_transport(2, step_size=0.01, num_pairs=300)
    with model.sampling_weights():
        expected = keras.ops.convert_to_numpy(model.generator(
            model.transported_latent(latent), training=False
        ))
    np.testing.assert_allclose(model.generate(40, seed=3), expected, atol=1e-5)
    assert not np.allclose(expected, samples)
    model.set_discriminator_transport(5, step_size=0.05, num_pairs=300)
    # With Jacobian-based truncation: the truncated latents, transported.
    model.set_jacobian_truncation(0.5, num_latents=500)
    with model.sampling_weights():
        truncated = model.truncated_latent(10, 4)
        expected = keras.ops.convert_to_numpy(
            model.generator(model.transported_latent(truncated), training=False)
        )
    np.testing.assert_allclose(model.generate(10, seed=4), expected, atol=1e-5)
    model.set_jacobian_truncation(None)
    assert model.set_discriminator_transport(None) is None
    assert model.transport_lipschitz is None
    np.testing.assert_allclose(model.generate(40, seed=3), plain, atol=1e-6)


def test_discriminator_transport_is_saved_and_checked(tmp_path):
    model = _make("wgan_gp")
    model.set_discriminator_transport(4, step_size=0.02, num_pairs=200)
    model.save(tmp_path / "transported.keras")
    restored = keras.saving.load_model(tmp_path / "transported.keras")
    assert (restored.transport_steps, restored.transport_step_size,
            restored.transport_lipschitz) == (4, 0.02, model.transport_lipschitz)
    np.testing.assert_allclose(
        restored.generate(20, seed=1), model.generate(20, seed=1), atol=1e-6
    )
    # A model saved before the setting existed samples untransported.
    assert _saved_without(
        "transport_steps", "transport_step_size", "transport_lipschitz"
    ).transport_steps is None
    for bad in (0, 2.5, True, "3"):
        with pytest.raises(ValueError, match="transport_steps must be an int >= 1"):
            model.set_discriminator_transport(bad)
    for bad in (0.0, -0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="transport_step_size must be a float > 0"):
            model.set_discriminator_transport(3, step_size=bad)
    with pytest.raises(ValueError, match="num_pairs must be an int >= 1"):
        model.set_discriminator_transport(3, num_pairs=0)
    tiny = dict(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4)
    with pytest.raises(ValueError, match="go together"):
        models.DCGAN(transport_steps=3, **tiny)
    with pytest.raises(ValueError, match="transport_lipschitz must be a float > 0"):
        models.DCGAN(transport_steps=3, transport_step_size=0.1,
                     transport_lipschitz=0.0, **tiny)
    with pytest.raises(ValueError, match="for unconditional models"):
        _make("conditional_gan").set_discriminator_transport(3)
    with pytest.raises(ValueError, match="does not apply to InfoGAN"):
        models.InfoGAN(image_shape=IMAGE_SHAPE, base_filters=4).set_discriminator_transport(3)
    with pytest.raises(ValueError, match="does not apply to SemiSupervisedGAN"):
        models.SemiSupervisedGAN(
            image_shape=IMAGE_SHAPE, num_label_classes=NUM_CLASSES, latent_dim=4,
            generator_units=(8,), discriminator_units=(8,),
        ).set_discriminator_transport(3)
    # A critic that gives every image the same value has no gradient to follow.
    constant = _linear_critic_gan(np.ones((3, 5), "float32"), np.zeros(5, "float32"))
    with pytest.raises(ValueError, match="same value to all 50 pairs"):
        constant.set_discriminator_transport(3, num_pairs=50)


def test_wgan_gp_warns_of_a_batch_normalized_critic():
    tiny = dict(image_shape=IMAGE_SHAPE, latent_dim=4, base_filters=4)
    critic = networks.build_dcgan_discriminator(
        IMAGE_SHAPE, 4, hidden_units=8, hidden_normalization="batch"
    )
    # Nested inside another model, too.
    wrapped = keras.Sequential([keras.Input(IMAGE_SHAPE), critic])
    for discriminator in (critic, wrapped):
        with pytest.warns(UserWarning, match="gradient penalty is per example"):
            models.WGANGP(discriminator=discriminator, **tiny)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.WGANGP(**tiny)  # The default critic: layer norm, no warning.
