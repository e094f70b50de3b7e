"""Short runs of the zoo recipes (slow): they train and reach a loose bar."""

import importlib
import json
import os
import sys

import keras
import numpy as np
import pytest

from keras_gen import data
from keras_gen import zoo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.environ.get(
    "KERAS_GEN_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")
)
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(os.path.join(MNIST_DIR, "mnist")),
    reason="real MNIST is not beside the repository (../shared/data/mnist)",
)


def _recipe(name):
    sys.path.insert(0, os.path.join(ROOT, "zoo", "recipes"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


@pytest.mark.slow
@needs_mnist
def test_vae_recipe_short_run_reaches_a_loose_nll(tmp_path):
    vae_mnist, vae_recipe = _recipe("vae_mnist"), _recipe("vae_recipe")
    results = vae_recipe.main(vae_mnist.PRESET, [
        "--out", str(tmp_path), "--data-dir", MNIST_DIR, "--epochs", "2",
        "--eval-samples", "100", "--eval-examples", "500",
    ])
    # Two epochs land near 95 nats; a broken likelihood or bound does not.
    assert results["test_nll_nats"] < 100.0, results
    assert results["test_elbo_nats"] < -results["test_nll_nats"] + 1e-6
    assert results["epochs"] == 2


@pytest.mark.slow
@needs_mnist
def test_cvae_recipe_trains_fine_tunes_and_publishes(tmp_path):
    cvae_mnist, vae_recipe = _recipe("cvae_mnist"), _recipe("vae_recipe")
    tiny = ["--data-dir", MNIST_DIR, "--steps-per-epoch", "20",
            "--eval-samples", "20", "--eval-examples", "100",
            "--encoder-filters", "8", "--decoder-filters", "8",
            "--hidden-units", "32"]
    first = tmp_path / "elbo"
    results = vae_recipe.main(cvae_mnist.PRESET, ["--out", str(first), "--epochs", "1", *tiny])
    assert results["settings"]["model"] == "cvae" and np.isfinite(results["test_nll_nats"])
    second = tmp_path / "iwae"
    results = vae_recipe.main(cvae_mnist.PRESET, [
        "--out", str(second), "--init-from", str(first), "--epochs", "1",
        "--objective", "iwae", "--num-samples", "3", *tiny,
    ])
    # The fine-tuning run's time includes the first run's.
    assert results["train_seconds"] > vae_recipe.read_train_seconds(str(first))
    scores = vae_recipe.main(cvae_mnist.PRESET, [
        "--out", str(second), "--evaluate-only", "--publish",
        "--zoo-dir", str(tmp_path / "zoo"), "--score-samples", "200", *tiny,
    ])
    # The likelihood of the evaluation above is reused, not recomputed.
    assert scores["nll_nats"] == results["test_nll_nats"]
    assert 0.0 <= scores["label_accuracy"] <= 1.0
    entry = zoo.get_entry(str(tmp_path / "zoo" / "cvae_mnist"))
    assert entry.model_class == "CVAE" and entry.optimizer_state is False
    assert entry.metrics["nll_nats"] == scores["nll_nats"]
    model = zoo.load(str(tmp_path / "zoo" / "cvae_mnist"))
    assert model.generate(3, seed=0, labels=7).shape == (3, 28, 28, 1)


@pytest.mark.slow
@needs_mnist
@pytest.mark.parametrize(
    "recipe", ["dcgan_mnist", "wgan_gp_mnist", "cgan_mnist", "infogan_mnist"]
)
def test_gan_recipes_run_end_to_end(tmp_path, recipe):
    module, gan_recipe = _recipe(recipe), _recipe("gan_recipe")
    # The WGAN-GP with a Gaussian mixture latent prior.
    mixture = ["--latent-components", "10", "--latent-stddev", "0.5"]
    mixture = mixture if recipe == "wgan_gp_mnist" else []
    # The DCGAN preset fine-tunes with a batch-normalized hidden layer; its
    # first stage has layer norm there.
    first_stage = (
        ["--d-hidden-normalization", "layer"] if recipe == "dcgan_mnist" else []
    )
    scores = gan_recipe.main(module.PRESET, [
        "--out", str(tmp_path), "--data-dir", MNIST_DIR, "--epochs", "2",
        "--steps-per-epoch", "5", "--eval-every", "2", "--eval-samples", "200",
        "--latent-dim", "16", "--base-filters", "8", *mixture, *first_stage,
    ])
    assert scores["epochs"] == 2 and scores["fid"] > 0
    if recipe == "cgan_mnist":
        assert 0.0 <= scores["label_accuracy"] <= 1.0
    if recipe == "infogan_mnist":
        # Matched to 10 classes, any code is right at least 10% of the time.
        assert 0.1 <= scores["code_accuracy_test"] <= 1.0
        assert 0.1 <= scores["code_accuracy_samples"] <= 1.0
        assert sorted(scores["code_to_digit"]) == list(range(10))
        # Logged during training too, on the evaluation epochs.
        header, *rows = [
            line.split(",") for line in (tmp_path / "log.csv").read_text().splitlines()
        ]
        column = header.index("code_accuracy_test")
        assert rows[0][column] in ("", "NA")
        assert 0.1 <= float(rows[1][column]) <= 1.0
    # Resume continues the checkpoint (the DCGAN's with top-k generator
    # updates from epoch 3 on).
    top_k = ["--g-top-k", "0.5"] if recipe == "dcgan_mnist" else []
    # The conditional GAN's entry stores its weights as float16.
    dtype = "float16" if recipe == "cgan_mnist" else "float32"
    # The WGAN-GP is scored and published with discriminator optimal transport.
    transport_steps = 3 if recipe == "wgan_gp_mnist" else None
    transport = (["--transport-steps", "3", "--transport-step-size", "0.02"]
                 if transport_steps else [])
    scores = gan_recipe.main(module.PRESET, [
        "--out", str(tmp_path), "--data-dir", MNIST_DIR, "--epochs", "3",
        "--steps-per-epoch", "5", "--eval-every", "5", "--eval-samples", "200",
        "--resume", "--publish", "--zoo-dir", str(tmp_path / "zoo"), *top_k,
        "--weights-dtype", dtype, *transport,
    ])
    assert scores["epochs"] == 3
    checkpoint = keras.saving.load_model(tmp_path / "model.keras")
    assert int(checkpoint.g_optimizer.iterations.numpy()) == 15
    assert checkpoint.generator_top_k == (0.5 if top_k else None)
    # Resumed with its prior.
    assert checkpoint.latent_components == (10 if mixture else None)
    assert checkpoint.latent_component_stddev == (0.5 if mixture else 1.0)
    entry = zoo.get_entry(str(tmp_path / "zoo" / module.PRESET["entry"]))
    assert entry.metrics["fid"] == scores["fid"] and entry.optimizer_state is False
    assert entry.weights_dtype == scores["weights_dtype"] == dtype
    truncated = module.PRESET.get("truncation_keep")
    assert scores["truncation_keep"] == truncated
    published = zoo.load(str(tmp_path / "zoo" / module.PRESET["entry"]))
    assert published.truncation_keep == truncated
    # The WGAN-GP preset: one critic step.
    assert checkpoint.d_steps == module.PRESET.get("d_steps", 1)
    assert published.transport_steps == transport_steps
    assert scores["transport"] == (None if transport_steps is None else [3, 0.02])
    if transport_steps is not None:
        assert published.transport_lipschitz == scores["transport_lipschitz"] > 0
        assert 0.0 <= scores["untransported_precision"] <= 1.0
        assert f"set_discriminator_transport({transport_steps}," in (
            tmp_path / "zoo" / module.PRESET["entry"] / "card.md").read_text()
    if recipe == "dcgan_mnist":
        # The second stage: the first stage's networks, fine-tuned with the
        # preset's batch-normalized hidden layer, published truncated.
        fine = tmp_path / "fine"
        scores = gan_recipe.main(module.PRESET, [
            "--out", str(fine), "--data-dir", MNIST_DIR, "--epochs", "1",
            "--steps-per-epoch", "5", "--eval-samples", "200",
            "--latent-dim", "16", "--base-filters", "8",
            "--init-from", str(tmp_path), "--publish", "--zoo-dir", str(fine / "zoo"),
        ])
        assert scores["init_from"] == str(tmp_path) and scores["init_from_epochs"] == 3
        entry_dir = fine / "zoo" / "dcgan_mnist"
        model = zoo.load(str(entry_dir))
        assert "BatchNormalization" in [
            type(layer).__name__ for layer in model.discriminator.layers[-4:]
        ]
        assert model.truncation_keep == 0.8 and model.truncation_threshold > 0
        assert 0.0 <= scores["untruncated_precision"] <= 1.0
        assert "set_jacobian_truncation(0.8)" in (entry_dir / "card.md").read_text()
        assert "3 (" in (entry_dir / "card.md").read_text()


def test_gan_recipe_builds_the_critic_it_is_asked_for(tmp_path):
    gan_recipe = _recipe("gan_recipe")
    wgan_gp_preset = _recipe("wgan_gp_mnist").PRESET
    tiny = ["--out", str(tmp_path), "--latent-dim", "4", "--base-filters", "4"]

    def build(preset, *flags):
        return gan_recipe.build_model(gan_recipe.parser(preset).parse_args([*tiny, *flags]))

    model = build(wgan_gp_preset, "--d-hidden-units", "8")
    assert type(model).__name__ == "WGANGP"
    critic_layers = [type(layer).__name__ for layer in model.discriminator.layers]
    # conv, conv, layer norm, then the hidden layer with its own layer norm.
    assert critic_layers[-5:] == [
        "Flatten", "Dense", "LayerNormalization", "LeakyReLU", "Dense"
    ]
    assert "BatchNormalization" not in critic_layers
    assert model.discriminator.get_layer("logits").input.shape == (None, 8)
    # The preset without the flag: the paper's critic, as WGANGP builds it.
    plain = build(wgan_gp_preset)
    assert [type(layer).__name__ for layer in plain.discriminator.layers][-2:] == [
        "Flatten", "Dense"
    ]
    # The critic steps: the preset's, or the flag's.
    assert build(wgan_gp_preset, "--d-steps", "5").d_steps == 5
    assert plain.d_steps == wgan_gp_preset["d_steps"] == 1
    # Stage 1 of the preset: N(0, I) prior ('none' undoes the preset's).
    assert plain.latent_components == 10
    assert build(wgan_gp_preset, "--latent-components", "none").latent_components is None
    with pytest.raises(ValueError, match="d_steps must be an int >= 1"):
        build(wgan_gp_preset, "--d-steps", "0")
    with pytest.raises(ValueError, match="per example"):
        build(wgan_gp_preset, "--d-normalization", "batch")
    with pytest.raises(ValueError, match="not to --model infogan"):
        build(_recipe("infogan_mnist").PRESET, "--d-hidden-units", "8")


def test_gan_recipe_init_from_starts_from_a_trained_gan(tmp_path):
    gan_recipe = _recipe("gan_recipe")
    preset = _recipe("dcgan_mnist").PRESET
    tiny = ["--latent-dim", "4", "--base-filters", "4", "--d-hidden-units", "8"]

    def build(*flags):
        args = gan_recipe.parser(preset).parse_args(["--out", str(tmp_path), *tiny, *flags])
        return gan_recipe.build_model(args)

    source = build("--d-hidden-normalization", "layer")
    # The generator's moving average differs from its weights, as after
    # training: the copy must start from the average (what it samples with).
    for average in source.generator_average:
        average.assign(average + 0.5)
    run = tmp_path / "run"
    run.mkdir()
    source.save(run / "model.keras")

    model = build("--init-from", str(run), "--d-hidden-normalization", "batch")
    for copied, average in zip(model.generator.weights, source.generator_average):
        np.testing.assert_array_equal(copied.numpy(), average.numpy())
    # Its own moving average starts from the copied weights.
    for copied, average in zip(model.generator.weights, model.generator_average):
        np.testing.assert_array_equal(copied.numpy(), average.numpy())
    kinds = [type(layer).__name__ for layer in model.discriminator.layers]
    assert kinds[-4:] == ["Dense", "BatchNormalization", "LeakyReLU", "Dense"]
    layer_norm = source.discriminator.layers[-3]
    batch_norm = model.discriminator.layers[-3]
    np.testing.assert_array_equal(batch_norm.gamma.numpy(), layer_norm.gamma.numpy())
    np.testing.assert_array_equal(batch_norm.beta.numpy(), layer_norm.beta.numpy())
    np.testing.assert_array_equal(batch_norm.moving_variance.numpy(), np.ones(8))
    for old, new in zip(source.discriminator.layers[:-3], model.discriminator.layers[:-3]):
        for a, b in zip(old.weights, new.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Fresh optimizers.
    assert int(model.d_optimizer.iterations.numpy()) == 0

    with pytest.raises(ValueError, match="does not match the source's"):
        build("--init-from", str(run), "--d-hidden-units", "16")
    with pytest.raises(ValueError, match="the source's generator has weights"):
        build("--init-from", str(run), "--latent-dim", "5")
    with pytest.raises(ValueError, match="6 layers with weights, this model's 4"):
        # The WGAN-GP preset's critic has no hidden layer.
        gan_recipe.build_model(gan_recipe.parser(_recipe("wgan_gp_mnist").PRESET).parse_args(
            ["--out", str(tmp_path), "--latent-dim", "4", "--base-filters", "4",
             "--init-from", str(run)]))
    with pytest.raises(ValueError, match="is for fine-tuning"):
        build("--d-hidden-normalization", "batch")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="expected a zoo entry or a training run"):
        build("--init-from", str(empty))
    with pytest.raises(ValueError, match="--d-hidden-normalization batch"):
        gan_recipe.build_model(gan_recipe.parser(_recipe("wgan_gp_mnist").PRESET).parse_args(
            ["--out", str(tmp_path), *tiny, "--d-hidden-normalization", "batch"]))


@pytest.mark.slow
@needs_mnist
def test_ssgan_recipe_trains_resumes_and_publishes(tmp_path):
    ssgan_mnist = _recipe("ssgan_mnist")
    tiny = ["--out", str(tmp_path), "--data-dir", MNIST_DIR,
            "--steps-per-epoch", "5", "--eval-samples", "200",
            "--baseline-steps", "20", "--discriminator-units", "64", "32"]
    scores = ssgan_mnist.main(ssgan_mnist.PRESET, ["--epochs", "1", *tiny])
    assert scores["epochs"] == 1 and scores["num_labeled"] == 100
    for name in ("test_accuracy", "baseline_test_accuracy",
                 "baseline_best_test_accuracy"):
        assert 0.0 <= scores[name] <= 1.0, scores
    # Resume continues the checkpoint; the baseline is reused, not retrained.
    scores_again = ssgan_mnist.main(ssgan_mnist.PRESET, [
        "--epochs", "2", "--resume", "--publish",
        "--zoo-dir", str(tmp_path / "zoo"), *tiny,
    ])
    assert scores_again["epochs"] == 2
    assert scores_again["baseline_test_accuracy"] == scores["baseline_test_accuracy"]
    entry = zoo.get_entry(str(tmp_path / "zoo" / "ssgan_mnist"))
    assert entry.model_class == "SemiSupervisedGAN" and entry.optimizer_state is False
    assert entry.metrics["test_accuracy"] == scores_again["test_accuracy"]
    model = zoo.load(str(tmp_path / "zoo" / "ssgan_mnist"))
    assert model.classify(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)


def _publish_a_tiny_run(tmp_path, name, network_flags, publish_flags=()):
    """Trains `name`'s recipe in bfloat16 (`--mixed-precision`), 1 epoch of
    3 steps, resumes 1 more, publishes (with `publish_flags`).

    Returns `(results of epoch 1, scores published, the entry)`.
    """
    recipe = _recipe(name)
    tiny = ["--out", str(tmp_path / "run"), "--data-dir", MNIST_DIR,
            "--steps-per-epoch", "3", "--eval-examples", "100",
            "--mixed-precision", *network_flags]
    results = recipe.main(recipe.PRESET, ["--epochs", "1", *tiny])
    assert results["epochs"] == 1 and results["eval_examples"] == 100
    assert results["settings"]["mixed_precision"] is True
    scores = recipe.main(recipe.PRESET, [
        "--epochs", "2", "--resume", "--publish", "--score-samples", "100",
        "--zoo-dir", str(tmp_path / "zoo"), *tiny, *publish_flags,
    ])
    entry = zoo.get_entry(str(tmp_path / "zoo" / name))
    assert entry.optimizer_state is False and entry.latent_dim == 28 * 28
    model = zoo.load(str(tmp_path / "zoo" / name))
    assert model.generate(2, seed=0).shape == (2, 28, 28, 1)
    # Trained in bfloat16, shipped in float32.
    assert {layer.compute_dtype for layer in model._flatten_layers()} == {"float32"}
    return results, scores, entry


@pytest.mark.slow
@needs_mnist
def test_pixelcnn_recipe_trains_resumes_and_publishes(tmp_path):
    results, scores, entry = _publish_a_tiny_run(
        tmp_path, "pixelcnn_mnist",
        ["--filters", "8", "--num-layers", "2", "--card-note", "A tiny test run."],
    )
    # Three steps of a tiny network: near the 784 log 2 = 543 nats of coin
    # flips, far from the 81 of a trained one.
    assert 100.0 < results["test_nll_nats"] < 1000.0
    assert entry.model_class == "PixelCNN"
    # Re-scored after the second epoch, not the first epoch's file.
    assert entry.metrics["nll_nats"] == scores["nll_nats"] != results["test_nll_nats"]
    assert entry.metrics["sample_seconds_64"] > 0.0
    card = (tmp_path / "zoo" / "pixelcnn_mnist" / "card.md").read_text()
    assert "The zoo's bar for this entry is 81 nats" in card
    assert "does not meet it yet" in card and "A tiny test run." in card
    # Fine-tuning the published entry: its network, a fresh optimizer, its
    # training time and epochs carried on to the new entry.
    recipe = _recipe("pixelcnn_mnist")
    source = zoo.load(str(tmp_path / "zoo" / "pixelcnn_mnist"))
    tiny = ["--data-dir", MNIST_DIR, "--steps-per-epoch", "1", "--eval-examples", "50",
            "--filters", "8", "--num-layers", "2",
            "--init-from", str(tmp_path / "zoo" / "pixelcnn_mnist")]
    built = recipe.build_model(recipe.parser(recipe.PRESET).parse_args(
        ["--out", str(tmp_path / "unused"), *tiny]))
    common = _recipe("recipe_common")
    common.copy_network_weights(source, built, recipe.INIT_FROM_HINT)
    for copied, original in zip(built.network.weights, source.network.weights):
        np.testing.assert_array_equal(copied.numpy(), original.numpy())
    fine = recipe.main(recipe.PRESET, [
        "--out", str(tmp_path / "fine"), "--epochs", "1", "--publish",
        "--score-samples", "50", "--zoo-dir", str(tmp_path / "fine_zoo"), *tiny,
    ])
    source_name = f"pixelcnn_mnist version {recipe.PRESET['version']}"
    assert fine["init_from"] == source_name and fine["init_from_epochs"] == 2
    assert fine["epochs"] == 1 and fine["train_seconds"] > scores["train_seconds"]
    assert f"2 ({source_name}) + 1 fine-tuning" in (
        tmp_path / "fine_zoo" / "pixelcnn_mnist" / "card.md").read_text()
    # An entry published before entries recorded their epochs.
    entry_json = tmp_path / "zoo" / "pixelcnn_mnist" / "entry.json"
    metadata = json.loads(entry_json.read_text())
    del metadata["metrics"]["epochs"]
    entry_json.write_text(json.dumps(metadata))
    earlier = common.init_source_record(str(entry_json.parent))
    assert earlier["epochs"] is None
    assert common.epochs_text(1, {"init_from": earlier["source"], "init_from_epochs": None}) == (
        f"{source_name}'s + 1 fine-tuning")
    # An entry fine-tuned from another counts both runs' epochs, or None
    # when its source's are unknown.
    for before, total in [(12, 14), (None, None)]:
        metadata["metrics"].update(epochs=2, init_from="a version 1",
                                   init_from_epochs=before)
        entry_json.write_text(json.dumps(metadata))
        assert common.init_source_record(str(entry_json.parent))["epochs"] == total
    with pytest.raises(ValueError, match="expected a PixelCNN of this recipe's architecture"):
        common.copy_network_weights(source, recipe.build_model(recipe.parser(
            recipe.PRESET).parse_args(["--out", str(tmp_path / "unused"), "--filters", "4",
                                       "--num-layers", "2"])), recipe.INIT_FROM_HINT)


@pytest.mark.slow
@needs_mnist
def test_realnvp_recipe_trains_resumes_and_publishes(tmp_path):
    results, scores, entry = _publish_a_tiny_run(
        tmp_path, "realnvp_mnist",
        ["--filters", "8", "--num-scales", "2", "--normalization", "batch",
         "--dequantization", "variational"],
        publish_flags=["--weights-dtype", "float16"],
    )
    # Three steps: far from a trained model's ~1 bit/dim. At the default
    # alpha = 1e-6 the untrained (identity) flow gives a black pixel about
    # 28 bits (test_realnvp's golden value); a likelihood wired wrongly lands
    # near 0 or beyond it.
    assert 1.5 < results["bits_per_dim"] < 30.0
    assert entry.model_class == "RealNVP"
    published = zoo.load(str(tmp_path / "zoo" / "realnvp_mnist"))
    assert published.normalization == "batch"
    assert published.dequantization == "variational"
    assert entry.dataset == "mnist (8-bit, variationally dequantized)"
    assert "log q(u | k)" in (tmp_path / "zoo" / "realnvp_mnist" / "card.md").read_text()
    assert entry.metrics["bits_per_dim"] == scores["bits_per_dim"]
    assert scores["bits_per_dim"] != results["bits_per_dim"]
    # Stored as float16, and measured as stored: the entry's own bits/dim
    # on the same 100 test images is the published number.
    assert entry.weights_dtype == "float16"
    images = data.load_arrays("mnist", data_dir=MNIST_DIR)[:100]
    bits = -published.log_likelihood(images).mean() / (28 * 28 * np.log(2.0))
    assert bits == pytest.approx(entry.metrics["bits_per_dim"], rel=1e-5)
    # Fine-tuning the published entry: its flow and dequantizer, its
    # training time and epochs carried on to the new entry.
    recipe = _recipe("realnvp_mnist")
    fine = recipe.main(recipe.PRESET, [
        "--out", str(tmp_path / "fine"), "--data-dir", MNIST_DIR, "--epochs", "1",
        "--steps-per-epoch", "1", "--eval-examples", "50", "--filters", "8",
        "--num-scales", "2", "--normalization", "batch",
        "--dequantization", "variational", "--weights-dtype", "float16",
        "--init-from", str(tmp_path / "zoo" / "realnvp_mnist"), "--publish",
        "--score-samples", "50", "--zoo-dir", str(tmp_path / "fine_zoo"),
    ])
    source_name = f"realnvp_mnist version {recipe.PRESET['version']}"
    assert fine["init_from"] == source_name and fine["init_from_epochs"] == 2
    assert fine["epochs"] == 1 and fine["train_seconds"] > scores["train_seconds"]
    assert f"2 ({source_name}) + 1 fine-tuning" in (
        tmp_path / "fine_zoo" / "realnvp_mnist" / "card.md").read_text()


def test_init_from_copies_every_network_and_refuses_another_architecture():
    from keras_gen import models

    common = _recipe("recipe_common")

    def flow(**kwargs):
        settings = dict(image_shape=(4, 4, 1), num_scales=1, filters=4,
                        dequantization="variational", seed=0)
        return models.RealNVP(**{**settings, **kwargs})

    source, model = flow(seed=1), flow()
    for variable in source.trainable_variables:
        variable.assign(np.random.default_rng(0).normal(size=variable.shape))
    common.copy_network_weights(source, model, "no hint needed")
    for name in ("network", "dequantizer"):
        for copied, original in zip(
            getattr(model, name).weights, getattr(source, name).weights, strict=True
        ):
            np.testing.assert_array_equal(copied.numpy(), original.numpy())
    images = np.linspace(-1.0, 1.0, 32, dtype="float32").reshape(2, 4, 4, 1)
    np.testing.assert_allclose(
        model.log_likelihood(images), source.log_likelihood(images), rtol=1e-6
    )
    # alpha shows in no weight shape; the other mismatches do.
    for other, differ in [
        (flow(alpha=0.01), "alpha"),
        (flow(filters=8), "dequantizer, filters, network"),
        (flow(dequantization="uniform"),
         "dequantization, dequantizer: .*no dequantizer \\(expected one\\)."),
    ]:
        with pytest.raises(ValueError, match=f"with another {differ}.*set the flags"):
            common.copy_network_weights(other, flow(), "set the flags")
    with pytest.raises(ValueError, match="expected a RealNVP, received a PixelCNN"):
        common.copy_network_weights(
            models.PixelCNN(image_shape=(4, 4, 1), filters=4, num_layers=2), flow(),
            "set the flags",
        )


@pytest.mark.parametrize("first, then", [
    ("float32", "mixed_bfloat16"), ("mixed_bfloat16", "float32"),
])
def test_resuming_under_another_dtype_policy_keeps_weights_and_optimizer_state(
    tmp_path, first, then
):
    import keras

    from keras_gen import callbacks

    pixelcnn_mnist, recipe_common = _recipe("pixelcnn_mnist"), _recipe("recipe_common")
    args = pixelcnn_mnist.parser(pixelcnn_mnist.PRESET).parse_args(
        ["--out", str(tmp_path), "--filters", "8", "--num-layers", "2"]
    )
    images = np.where(np.random.default_rng(0).random((8, 28, 28, 1)) < 0.3, 1.0, -1.0)
    keras.config.set_dtype_policy(first)
    trained = pixelcnn_mnist.build_model(args)
    trained.fit(images.astype("float32"), batch_size=4, epochs=1, verbose=0,
                callbacks=[callbacks.AtomicCheckpoint(str(tmp_path))])

    keras.config.set_dtype_policy(then)
    model, epochs_done = recipe_common.resume_or_build(
        str(tmp_path), True, 0, lambda: pixelcnn_mnist.build_model(args)
    )
    assert epochs_done == 1
    assert {layer.compute_dtype for layer in model._flatten_layers()} == {
        keras.DTypePolicy(then).compute_dtype
    }
    for resumed, saved in zip(model.weights, trained.weights):
        np.testing.assert_array_equal(resumed.numpy(), saved.numpy())
    assert int(model.optimizer.iterations.numpy()) == 2
    for resumed, saved in zip(model.optimizer.variables, trained.optimizer.variables):
        np.testing.assert_array_equal(resumed.numpy(), saved.numpy())
    history = model.fit(images.astype("float32"), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert int(model.optimizer.iterations.numpy()) == 4

    # --evaluate-only reloads the checkpoint the same way, and scores in float32.
    args.evaluate_only, args.mixed_precision = True, then == "mixed_bfloat16"
    scored = recipe_common.trained_model(
        args, None, lambda: pixelcnn_mnist.build_model(args)
    )
    assert {layer.compute_dtype for layer in scored._flatten_layers()} == {"float32"}
    for resumed, saved in zip(scored.weights, trained.weights):
        np.testing.assert_array_equal(resumed.numpy(), saved.numpy())


def test_a_two_optimizer_checkpoint_cannot_change_dtype_policy_on_resume(tmp_path):
    import keras

    from keras_gen import models

    recipe_common = _recipe("recipe_common")
    gan = models.DCGAN(image_shape=(28, 28, 1), latent_dim=8, base_filters=8)
    gan.compile()
    keras.config.set_dtype_policy("mixed_bfloat16")
    with pytest.raises(ValueError, match="Resume with the policy the run started with"):
        recipe_common.under_global_policy(gan, lambda: None)


@pytest.mark.parametrize("name, flags, grown", [
    ("realnvp_mnist", ["--filters", "4", "--num-scales", "2"], ("num_blocks", 1, 3)),
    ("pixelcnn_mnist", ["--filters", "4"], ("num_layers", 2, 4)),
])
def test_recipes_deepen_the_model_they_start_from(tmp_path, name, flags, grown):
    recipe = _recipe(name)
    key, shallow, deep = grown
    flag = "--" + key.replace("_", "-")
    source = recipe.build_model(recipe.parser(recipe.PRESET).parse_args(
        ["--out", str(tmp_path / "unused"), *flags, flag, str(shallow)]))
    for variable in source.trainable_variables:
        variable.assign(np.random.default_rng(0).normal(scale=0.1, size=variable.shape))
    run = tmp_path / "run"
    run.mkdir()
    source.save(str(run / "model.keras"))

    def initialized(*more):
        args = recipe.parser(recipe.PRESET).parse_args(
            ["--out", str(tmp_path / "fine"), *flags, "--init-from", str(run), *more])
        return recipe.initialized_model(args, recipe.build_model, recipe.INIT_FROM_HINT)

    grown_model = initialized(flag, str(deep), "--deepen")
    assert type(grown_model) is type(source) and getattr(grown_model, key) == deep
    images = np.where(np.arange(2 * 784) % 3 == 0, 1.0, -1.0).astype("float32")
    images = images.reshape(2, 28, 28, 1)
    np.testing.assert_allclose(
        grown_model.log_likelihood(images), source.log_likelihood(images), rtol=1e-5)
    with pytest.raises(ValueError, match=(
            rf"with another .*{key}: {key} {shallow} \(expected {deep}\).*or add --deepen")):
        initialized(flag, str(deep))
    with pytest.raises(SystemExit):
        recipe.main(recipe.PRESET, ["--out", str(tmp_path / "x"), "--deepen"])


def test_a_run_fine_tuned_from_a_fine_tuned_run_counts_every_epoch(tmp_path):
    import argparse

    from keras_gen import callbacks

    common = _recipe("recipe_common")

    def trained(run, epochs, seconds):
        run.mkdir(exist_ok=True)
        (run / callbacks.AtomicCheckpoint.STATE_FILE).write_text(
            json.dumps({"epochs_done": epochs, "logs": {}}))
        common.add_train_seconds(str(run), seconds)

    scratch, first, second = (tmp_path / name for name in ("scratch", "first", "second"))
    trained(scratch, 12, 100.0)
    first.mkdir()
    common.start_from_init_source(argparse.Namespace(init_from=str(scratch), out=str(first)))
    trained(first, 4, 10.0)
    assert common.init_source_record(str(first)) == {
        "source": f"{first} (fine-tuned from {scratch})",
        "epochs": 16,
        "train_seconds": 110.0,
    }
    second.mkdir()
    common.start_from_init_source(argparse.Namespace(init_from=str(first), out=str(second)))
    trained(second, 1, 1.0)
    assert common.read_train_seconds(str(second)) == 111.0
    assert common.init_from_scores(argparse.Namespace(init_from=str(second))) == {
        "init_from": f"{second} (fine-tuned from {first} (fine-tuned from {scratch}))",
        "init_from_epochs": 17,
    }
    # A run without the lineage file (an older run) counts its own epochs
    # only; one whose source's epochs are unknown counts None.
    (first / "init_source.json").unlink()
    assert common.init_source_record(str(first))["epochs"] == 4
    (second / "init_source.json").write_text(json.dumps({"source": "x", "epochs": None}))
    assert common.init_source_record(str(second))["epochs"] is None


def test_cosine_adam_warms_up_then_decays_over_the_rest_of_the_run():
    import argparse

    common = _recipe("recipe_common")

    def rates(warmup_steps, steps):
        args = argparse.Namespace(learning_rate=1e-3, epochs=2, warmup_steps=warmup_steps)
        config = common.cosine_adam(args, steps_per_epoch=50).get_config()
        schedule = keras.optimizers.schedules.deserialize(config["learning_rate"])
        return [float(schedule(step)) for step in steps]

    # Without warmup: the cosine from the full rate over all 100 steps.
    np.testing.assert_allclose(
        rates(0, [0, 50, 100]), [1e-3, 1e-3 * (0.02 + 0.98 * 0.5), 2e-5], rtol=1e-5)
    # With 20: linear from 0, then the cosine over the other 80 steps.
    np.testing.assert_allclose(
        rates(20, [0, 10, 20, 60, 100]),
        [0.0, 5e-4, 1e-3, 1e-3 * (0.02 + 0.98 * 0.5), 2e-5], rtol=1e-5, atol=1e-12)
    with pytest.raises(ValueError, match=r"--warmup-steps must be in \[0, 100\)"):
        rates(100, [0])
