"""TF Serving export: signatures, served values, versions and models.config.

Every tiny model is exported once (module fixture); one fresh Python
process, which never imports keras_gen, loads every export, calls every
signature and runs `saved_model_cli show --all` on it; the tests compare
what it saved with the Python models.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_gen import models
from keras_gen import serving

NUM_CLASSES = 3
BATCH = 4
SEED = 5


def _autoencoder():
    model = models.Autoencoder(
        image_shape=(8, 8, 1), latent_dim=3, base_filters=2, seed=0
    )
    # A non-trivial Gaussian fit of the codes, so `sample` must use it.
    model.code_mean.assign([0.5, -1.0, 2.0])
    model.code_variance.assign([4.0, 0.25, 1.0])
    return model


def _realnvp(dequantization="uniform"):
    model = models.RealNVP(
        image_shape=(8, 8, 1), num_scales=2, filters=4, num_blocks=1, seed=0,
        dequantization=dequantization,
    )
    # A fresh flow is the identity (its couplings start at zero): random
    # weights, so the served values depend on the exported ones.
    rng = np.random.default_rng(0)
    for network in model.networks.values():
        for weight in network.weights:
            weight.assign(rng.normal(scale=0.1, size=weight.shape).astype("float32"))
    return model


def _truncated_dcgan():
    model = models.DCGAN(image_shape=(8, 8, 1), latent_dim=4, base_filters=4, seed=0)
    model.set_jacobian_truncation(0.5, num_latents=500)
    return model


def _transported_wgan_gp():
    model = models.WGANGP(
        image_shape=(8, 8, 1), latent_dim=4, base_filters=4, seed=0,
        latent_components=3,
    )
    model.set_discriminator_transport(5, step_size=0.05, num_pairs=200)
    return model


MODELS = {
    "dcgan": lambda: models.DCGAN(
        image_shape=(8, 8, 1), latent_dim=4, base_filters=4, seed=0
    ),
    # Its `sample` must draw the Gaussian mixture prior as generate().
    "dcgan_mixture": lambda: models.DCGAN(
        image_shape=(8, 8, 1), latent_dim=4, base_filters=4, seed=0,
        latent_components=3,
    ),
    # Its `sample` must run the truncated sampler of generate() in the graph.
    "dcgan_truncated": _truncated_dcgan,
    # Its `sample` must move the latents by discriminator optimal transport,
    # in the graph, as generate() does (so the export holds the critic).
    "wgan_gp_transported": _transported_wgan_gp,
    "conditional_gan": lambda: models.ConditionalGAN(
        image_shape=(8, 8, 1), num_classes=NUM_CLASSES, latent_dim=4,
        base_filters=4, seed=0,
    ),
    "wgan_gp": lambda: models.WGANGP(
        image_shape=(2,), latent_dim=2, hidden_units=(8, 8), seed=0
    ),
    "vae": lambda: models.VAE(
        image_shape=(8, 8, 1), latent_dim=3, base_filters=2, seed=0
    ),
    "cvae": lambda: models.CVAE(
        image_shape=(8, 8, 1), num_classes=NUM_CLASSES, latent_dim=3,
        base_filters=2, seed=0,
    ),
    "autoencoder": _autoencoder,
    # Its serving_default scores images: log p(x) and bits/dim.
    "realnvp": _realnvp,
    # Scores with q(u | k)'s normal noise, not uniform noise.
    "realnvp_variational": lambda: _realnvp("variational"),
    # Its `sample` must draw the categorical and uniform codes as generate().
    "infogan": lambda: models.InfoGAN(
        image_shape=(8, 8, 1), noise_dim=3, num_categories=3, num_continuous=2,
        base_filters=4, seed=0,
    ),
    # The GAN signatures, plus `classify` from its discriminator.
    "ssgan": lambda: models.SemiSupervisedGAN(
        image_shape=(8, 8, 1), num_label_classes=NUM_CLASSES, latent_dim=4,
        generator_units=(8,), discriminator_units=(8, 4), seed=0,
    ),
}
AUTOENCODER_FAMILY = ("vae", "cvae", "autoencoder")
CONDITIONAL = ("conditional_gan", "cvae")
# serving_default takes images, not latents.
LIKELIHOOD = ("realnvp", "realnvp_variational")
CLASSIFIERS = ("ssgan",)

# Runs in a fresh process: TensorFlow only, never keras_gen.
SERVING_SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.tools import saved_model_cli

    plan_path, imported_path = sys.argv[1:3]
    plan = json.load(open(plan_path))
    for entry in plan.values():
        loaded = tf.saved_model.load(entry["path"])
        inputs = np.load(entry["inputs"])
        outputs, errors = {}, {}
        for call in entry["calls"]:
            function = loaded.signatures[call["signature"]]
            kwargs = {
                key: tf.constant(inputs[call["id"] + "/" + key])
                for key in call["inputs"]
            }
            try:
                result = function(**kwargs)
            except tf.errors.InvalidArgumentError as error:
                errors[call["id"]] = error.message
                continue
            for key, value in result.items():
                outputs[call["id"] + "/" + key] = value.numpy()
        np.savez(entry["outputs"], **outputs)
        with open(entry["errors"], "w") as f:
            json.dump(errors, f)
        # The `saved_model_cli` console script's own entry point, run here
        # so TensorFlow starts once for every model.
        sys.argv = ["saved_model_cli", "show", "--dir", entry["path"], "--all"]
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            try:
                saved_model_cli.main()
            except SystemExit as exit:
                assert not exit.code, exit.code
        with open(entry["cli"], "w") as f:
            f.write(text.getvalue())
    imported = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("keras_gen", "tensorflow_probability")
    )
    with open(imported_path, "w") as f:
        json.dump(imported, f)
    assert "keras_gen" not in sys.modules
    """
)


def _calls(name, model):
    """The signature calls made for `name`: `{id: (signature, inputs)}`."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(BATCH, model.latent_dim)).astype("float32")
    labels = np.array([0, 2, 1, 2], "int32")
    conditional = {"label": labels} if model.is_conditional else {}

    def sample_inputs(seed, num_samples=BATCH, **extra):
        return {
            "num_samples": np.int32(num_samples),
            "seed": np.int32(seed),
            **conditional,
            **extra,
        }

    calls = {
        "default": ("serving_default", {"latent": latent, **conditional}),
        "sample": ("sample", sample_inputs(SEED)),
        "sample_again": ("sample", sample_inputs(SEED)),
        "sample_other_seed": ("sample", sample_inputs(SEED + 1)),
        "bad_num_samples": ("sample", sample_inputs(SEED, num_samples=0)),
    }
    if model.is_conditional:
        calls["sample_one_label"] = (
            "sample", sample_inputs(SEED, num_samples=3, label=np.array([2], "int32")),
        )
        calls["bad_label_count"] = (
            "sample", sample_inputs(SEED, num_samples=3, label=labels[:2]),
        )
        calls["bad_label_value"] = (
            "serving_default",
            {"latent": latent, "label": np.array([0, 1, NUM_CLASSES, 0], "int32")},
        )
    if name in LIKELIHOOD:
        levels = rng.integers(0, 256, size=(BATCH, *model.image_shape))
        images = (levels / 127.5 - 1.0).astype("float32")
        calls["default"] = ("serving_default", {"images": images})
        calls["bad_images"] = ("serving_default", {"images": images * 2.0})
    if name in AUTOENCODER_FAMILY:
        images = rng.uniform(-1, 1, size=(BATCH, *model.image_shape))
        calls["encode"] = (
            "encode", {"images": images.astype("float32"), **conditional},
        )
    if name in CLASSIFIERS:
        images = rng.uniform(-1, 1, size=(BATCH, *model.image_shape))
        calls["classify"] = ("classify", {"images": images.astype("float32")})
    return calls


def run_in_serving_process(tmp_path, exports):
    """Calls every export's signatures in a fresh process without keras_gen.

    Args:
        tmp_path: a `pathlib.Path` for inputs, outputs and the script.
        exports: `{name: (savedmodel_path, calls)}`, calls as `_calls` gives.

    Returns:
        `(results, imported)`: `results[name]` has `outputs` (a dict
        `"call/output" -> array`), `errors` (`call -> message`) and `cli`
        (the `saved_model_cli show --all` text); `imported` lists the
        keras_gen and tensorflow_probability modules of that process.
    """
    plan = {}
    for name, (path, calls) in exports.items():
        files = {
            key: str(tmp_path / f"{name}_{key}")
            for key in ("inputs.npz", "outputs.npz", "errors.json", "cli.txt")
        }
        np.savez(
            files["inputs.npz"],
            **{
                f"{call}/{key}": value
                for call, (_, inputs) in calls.items()
                for key, value in inputs.items()
            },
        )
        plan[name] = {
            "path": path,
            "inputs": files["inputs.npz"],
            "outputs": files["outputs.npz"],
            "errors": files["errors.json"],
            "cli": files["cli.txt"],
            "calls": [
                {"id": call, "signature": signature, "inputs": sorted(inputs)}
                for call, (signature, inputs) in calls.items()
            ],
        }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "serve.py").write_text(SERVING_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH="")
    process = subprocess.run(
        [sys.executable, str(tmp_path / "serve.py"), str(tmp_path / "plan.json"),
         str(tmp_path / "imported.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    results = {}
    for name, entry in plan.items():
        with np.load(entry["outputs"]) as outputs:
            results[name] = {
                "outputs": dict(outputs),
                "errors": json.loads(open(entry["errors"]).read()),
                "cli": open(entry["cli"]).read(),
            }
    imported = json.loads((tmp_path / "imported.json").read_text())
    return results, imported


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every model exported to one base_dir and served in a fresh process."""
    base_dir = tmp_path_factory.mktemp("serving")
    built = {name: make() for name, make in MODELS.items()}
    calls = {name: _calls(name, model) for name, model in built.items()}
    paths = {
        name: serving.export_model(model, base_dir, name)
        for name, model in built.items()
    }
    results, imported = run_in_serving_process(
        tmp_path_factory.mktemp("serving_process"),
        {name: (paths[name], calls[name]) for name in built},
    )
    return {
        "base_dir": base_dir, "models": built, "calls": calls, "paths": paths,
        "results": results, "imported": imported,
    }


def _signatures_in_cli_text(text):
    """`{signature: (input names, output names)}` from `saved_model_cli` text."""
    text = text.split("Concrete Functions:")[0]
    signatures = {}
    for section in re.split(r"\nsignature_def\['", text)[1:]:
        key = section.split("'", 1)[0]
        if not key.startswith("__"):
            signatures[key] = (
                set(re.findall(r"inputs\['(\w+)'\]", section)),
                set(re.findall(r"outputs\['(\w+)'\]", section)),
            )
    return signatures


def _labels(exported, name, call):
    inputs = exported["calls"][name][call][1]
    return inputs.get("label")


# ----------------------------------------------------------------------
# The served values, compared with the Python models.
# ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_signatures_listed_by_saved_model_cli(exported, name):
    model = exported["models"][name]
    label = {"label"} if model.is_conditional else set()
    expected = {
        "serving_default": ({"latent"} | label, {"images"}),
        "sample": ({"num_samples", "seed"} | label, {"images"}),
    }
    if name in LIKELIHOOD:
        expected["serving_default"] = ({"images"}, {"log_likelihood", "bits_per_dim"})
    if name in AUTOENCODER_FAMILY:
        expected["encode"] = ({"images"} | label, {"mean", "stddev"})
    if name in CLASSIFIERS:
        expected["classify"] = ({"images"}, {"probabilities"})
    assert _signatures_in_cli_text(exported["results"][name]["cli"]) == expected


@pytest.mark.parametrize("name", [name for name in MODELS if name not in LIKELIHOOD])
def test_serving_default_matches_the_model(exported, name):
    model = exported["models"][name]
    latent = exported["calls"][name]["default"][1]["latent"]
    labels = _labels(exported, name, "default")
    if name in AUTOENCODER_FAMILY:
        expected = model.decode(latent, labels)
    else:
        inputs = latent if labels is None else [latent, labels]
        expected = model.generator(inputs, training=False)
    served = exported["results"][name]["outputs"]["default/images"]
    assert served.dtype == np.float32
    assert served.shape == (BATCH, *model.data_shape)
    np.testing.assert_allclose(served, keras.ops.convert_to_numpy(expected), atol=1e-5)


@pytest.mark.parametrize("name", list(MODELS))
def test_sample_is_seeded_and_equals_generate(exported, name):
    model = exported["models"][name]
    outputs = exported["results"][name]["outputs"]
    images = outputs["sample/images"]
    assert images.shape == (BATCH, *model.data_shape)
    np.testing.assert_array_equal(images, outputs["sample_again/images"])
    assert not np.allclose(images, outputs["sample_other_seed/images"])
    if model.is_image_model:
        assert images.min() >= -1.0 and images.max() <= 1.0
    # The in-graph noise is the noise of `generate(n, seed=seed)`.
    expected = model.generate(
        BATCH, seed=SEED, labels=_labels(exported, name, "sample")
    )
    np.testing.assert_allclose(images, expected, atol=1e-5)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classify_matches_the_model(exported, name):
    model = exported["models"][name]
    images = exported["calls"][name]["classify"][1]["images"]
    served = exported["results"][name]["outputs"]["classify/probabilities"]
    assert served.dtype == np.float32 and served.shape == (BATCH, NUM_CLASSES)
    np.testing.assert_allclose(served, model.classify(images), atol=1e-6)
    np.testing.assert_allclose(served.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", LIKELIHOOD)
def test_serving_default_scores_images_as_the_model(exported, name):
    model = exported["models"][name]
    images = exported["calls"][name]["default"][1]["images"]
    outputs = exported["results"][name]["outputs"]
    served = outputs["default/log_likelihood"]
    assert served.dtype == np.float32 and served.shape == (BATCH,)
    # The same fixed-seed dequantization noise as log_likelihood().
    np.testing.assert_allclose(served, model.log_likelihood(images), rtol=1e-5)
    np.testing.assert_allclose(
        outputs["default/bits_per_dim"], model.bits_per_dim(images), rtol=1e-5
    )
    errors = exported["results"][name]["errors"]
    assert "images must be in [-1, 1]" in errors["bad_images"]


def test_autoencoder_samples_from_its_code_statistics(exported):
    model = exported["models"]["autoencoder"]
    noise = keras.random.normal((BATCH, model.latent_dim), seed=SEED)
    latent = model.code_mean + keras.ops.sqrt(model.code_variance) * noise
    np.testing.assert_allclose(
        exported["results"]["autoencoder"]["outputs"]["sample/images"],
        keras.ops.convert_to_numpy(model.decode(latent)),
        atol=1e-5,
    )


@pytest.mark.parametrize("name", AUTOENCODER_FAMILY)
def test_encode_matches_the_model(exported, name):
    model = exported["models"][name]
    images = exported["calls"][name]["encode"][1]["images"]
    labels = _labels(exported, name, "encode")
    outputs = exported["results"][name]["outputs"]
    if name == "autoencoder":  # Deterministic: the code, with zero spread.
        mean = model.encode(images)
        stddev = np.zeros((BATCH, model.latent_dim), "float32")
    else:
        posterior = model.encode(images, labels)
        mean, stddev = posterior.mean(), posterior.stddev()
    np.testing.assert_allclose(
        outputs["encode/mean"], keras.ops.convert_to_numpy(mean), atol=1e-5
    )
    np.testing.assert_allclose(
        outputs["encode/stddev"], keras.ops.convert_to_numpy(stddev), atol=1e-5
    )
    if name != "autoencoder":
        assert outputs["encode/stddev"].min() > 0


@pytest.mark.parametrize("name", CONDITIONAL)
def test_conditional_sample_repeats_a_single_label(exported, name):
    model = exported["models"][name]
    images = exported["results"][name]["outputs"]["sample_one_label/images"]
    np.testing.assert_allclose(
        images, model.generate(3, seed=SEED, labels=2), atol=1e-5
    )


@pytest.mark.parametrize("name", CONDITIONAL)
def test_bad_labels_are_invalid_arguments(exported, name):
    errors = exported["results"][name]["errors"]
    assert "label must hold 1 class" in errors["bad_label_count"]
    assert "num_classes=3" in errors["bad_label_value"]


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_num_samples_is_an_invalid_argument(exported, name):
    errors = exported["results"][name]["errors"]
    assert set(errors) == {"bad_num_samples"} | (
        {"bad_label_count", "bad_label_value"} if name in CONDITIONAL else set()
    ) | ({"bad_images"} if name in LIKELIHOOD else set())
    assert "num_samples must be a positive int" in errors["bad_num_samples"]


def test_serving_needs_neither_keras_gen_nor_tfp(exported):
    # (`import tensorflow` itself imports keras, so keras is not checked.)
    assert exported["imported"] == []


def test_models_config_lists_every_export(exported):
    base_dir = exported["base_dir"]
    text = (base_dir / "models.config").read_text()
    assert text.startswith("model_config_list {")
    configs = re.findall(
        r'config \{\s*name: "(\w+)"\s*base_path: "([^"]+)"\s*'
        r'model_platform: "tensorflow"\s*\}',
        text,
    )
    assert configs == [(name, f"/models/{name}") for name in sorted(MODELS)]
    for name, path in exported["paths"].items():
        assert path == os.path.join(base_dir, name, "1")
        assert os.path.isfile(os.path.join(path, "saved_model.pb"))
        # Only the version folder: the temporary export folder is gone.
        assert os.listdir(os.path.join(base_dir, name)) == ["1"]


# ----------------------------------------------------------------------
# Versions, names and models.config.
# ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_gan():
    return MODELS["wgan_gp"]()


def _config_entries(base_dir):
    text = (base_dir / "models.config").read_text()
    return re.findall(r'name: "(\w+)"\s*base_path: "([^"]+)"', text)


def test_versions_increment_and_are_never_overwritten(tiny_gan, tmp_path):
    export = serving.export_model
    assert export(tiny_gan, tmp_path, "toy") == str(tmp_path / "toy" / "1")
    assert export(tiny_gan, tmp_path, "toy") == str(tmp_path / "toy" / "2")
    assert export(tiny_gan, tmp_path, "toy", version=7) == str(tmp_path / "toy" / "7")
    assert export(tiny_gan, tmp_path, "toy") == str(tmp_path / "toy" / "8")
    assert serving.model_versions(tmp_path / "toy") == [1, 2, 7, 8]
    before = os.path.getmtime(tmp_path / "toy" / "2" / "saved_model.pb")
    with pytest.raises(ValueError, match="Version 2 of model 'toy' already exists"):
        export(tiny_gan, tmp_path, "toy", version=2)
    assert os.path.getmtime(tmp_path / "toy" / "2" / "saved_model.pb") == before
    assert sorted(os.listdir(tmp_path / "toy")) == ["1", "2", "7", "8"]


def test_non_version_folders_are_ignored(tiny_gan, tmp_path):
    (tmp_path / "toy" / "notes").mkdir(parents=True)
    (tmp_path / "toy" / "9.bak").mkdir()
    (tmp_path / "empty_model").mkdir()
    assert serving.export_model(tiny_gan, tmp_path, "toy").endswith(
        os.path.join("toy", "1")
    )
    assert _config_entries(tmp_path) == [("toy", "/models/toy")]


@pytest.mark.parametrize(
    "name", ["DCGAN", "dcgan-mnist", "a/b", "../up", "", " toy", "toy\n", 3, None]
)
def test_bad_names_are_rejected(tiny_gan, tmp_path, name):
    with pytest.raises(ValueError, match=r"\[a-z0-9_\]\+"):
        serving.export_model(tiny_gan, tmp_path, name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("version", [0, -1, 1.0, "2", True, 2**63])
def test_bad_versions_are_rejected(tiny_gan, tmp_path, version):
    with pytest.raises(ValueError, match="version must be a positive int"):
        serving.export_model(tiny_gan, tmp_path, "toy", version=version)
    assert serving.model_versions(tmp_path / "toy") == []


def test_only_keras_gen_models_are_exported(tmp_path):
    with pytest.raises(TypeError, match="GAN family"):
        serving.export_model(keras.Sequential([keras.layers.Dense(1)]), tmp_path, "x")


def test_serving_base_path_sets_the_config_base_paths(tiny_gan, tmp_path):
    serving.export_model(tiny_gan, tmp_path, "b_model", serving_base_path="/srv/m/")
    serving.export_model(
        tiny_gan, tmp_path, "a_model", serving_base_path="gs://bucket/models"
    )
    # The config is rewritten whole: every model, under the latest base path.
    assert _config_entries(tmp_path) == [
        ("a_model", "gs://bucket/models/a_model"),
        ("b_model", "gs://bucket/models/b_model"),
    ]
    path = serving.write_model_config(tmp_path)
    assert path == os.path.join(tmp_path, "models.config")
    assert _config_entries(tmp_path) == [
        ("a_model", "/models/a_model"), ("b_model", "/models/b_model"),
    ]
    with pytest.raises(ValueError, match="serving_base_path"):
        serving.export_model(tiny_gan, tmp_path, "c_model", serving_base_path="")


def test_a_failed_export_leaves_nothing_behind(tiny_gan, tmp_path, monkeypatch):
    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        serving.export_model(tiny_gan, tmp_path, "toy")
    monkeypatch.undo()
    assert os.listdir(tmp_path / "toy") == []
    assert not (tmp_path / "models.config").exists()
