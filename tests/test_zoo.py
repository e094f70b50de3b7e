"""The zoo registry: save, list, load, integrity, safety, remote entries."""

import contextlib
import functools
import http.server
import os
import threading

import keras
import numpy as np
import pytest

from keras_gen import models
from keras_gen import zoo

METADATA = {"version": 3, "dataset": "mnist", "paper": "Radford et al. 2015",
            "metrics": {"fid": 1.5}}


def _tiny_model():
    model = models.DCGAN(image_shape=(8, 8, 1), latent_dim=4, base_filters=4, seed=0)
    model.compile()
    model.fit(np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 1)).astype("float32"),
              batch_size=8, verbose=0)
    return model


@pytest.fixture(scope="module")
def model():
    return _tiny_model()


@pytest.fixture
def zoo_dir(tmp_path, model, monkeypatch):
    directory = tmp_path / "zoo"
    zoo.save(model, directory / "tiny_dcgan", METADATA, samples_png=b"png")
    monkeypatch.setenv("KERAS_GEN_ZOO_PATH", str(directory))
    return directory


def test_save_writes_an_entry_with_hashes(zoo_dir, model):
    entry_dir = zoo_dir / "tiny_dcgan"
    assert sorted(os.listdir(entry_dir)) == [
        "card.md", "entry.json", "model.keras", "samples.png",
    ]
    entry = zoo.get_entry("tiny_dcgan")
    assert (entry.name, entry.version, entry.model_class) == ("tiny_dcgan", 3, "DCGAN")
    assert entry.image_shape == [8, 8, 1] and entry.latent_dim == 4
    networks = model.generator.count_params() + model.discriminator.count_params()
    assert entry.parameters == networks
    # Readable like any directory the user makes (mkdtemp would give 0700).
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(entry_dir).st_mode & 0o777 == 0o777 & ~umask
    assert set(entry.files) == {"card.md", "model.keras", "samples.png"}
    assert entry.keras_version == keras.__version__
    assert "fid" in (entry_dir / "card.md").read_text()
    assert not [p for p in os.listdir(zoo_dir) if p.startswith(".")]


def test_load_by_name_gives_the_same_trainable_model(zoo_dir, model):
    assert "tiny_dcgan" in zoo.list_entries()
    loaded = zoo.load("tiny_dcgan")
    np.testing.assert_allclose(
        loaded.generate(4, seed=0), model.generate(4, seed=0), atol=1e-6
    )
    assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations)
    loaded.fit(np.zeros((8, 8, 8, 1), "float32"), verbose=0)  # Ready for more fit.
    assert zoo.load(str(zoo_dir / "tiny_dcgan"), compile=False).compiled is False


def _trained(build, base_filters):
    """A VAE (Adam 3e-4) or a DCGAN with a generator average, trained 2 epochs."""
    if build == "vae":
        model = models.VAE(image_shape=(8, 8, 1), latent_dim=4, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(3e-4))
    else:
        model = models.DCGAN(
            image_shape=(8, 8, 1), latent_dim=4, base_filters=base_filters, seed=0
        )
        model.compile(generator_ema_decay=0.9)
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=2, verbose=0)
    return model, images


@pytest.mark.parametrize("build", ["gan_with_average", "vae"])
def test_entry_without_optimizer_state_is_small_fresh_and_trainable(tmp_path, build):
    model, images = _trained(build, base_filters=4)
    before = [v.numpy() for v in model.variables]
    full = zoo.save(model, tmp_path / "full", {**METADATA, "notes": "Reproduce: `x.py`."})
    card = (tmp_path / "full" / "card.md").read_text()
    assert card.rstrip().endswith("## Notes\n\nReproduce: `x.py`.")
    # Parameters are the networks' weights (not a moving average of them).
    networks = sum(n.count_params() for n in model.networks.values())
    assert full.parameters == networks
    if build == "gan_with_average":
        assert networks < model.count_params()
    slim = zoo.save(model, tmp_path / "slim", METADATA, optimizer_state=False)
    # The caller's model is untouched.
    for variable, value in zip(model.variables, before):
        np.testing.assert_array_equal(variable.numpy(), value)
    assert full.optimizer_state is True and slim.optimizer_state is False
    assert zoo.get_entry(str(tmp_path / "slim")).optimizer_state is False
    size = {name: os.path.getsize(tmp_path / name / "model.keras")
            for name in ("full", "slim")}
    assert size["slim"] < 0.6 * size["full"], size
    loaded = zoo.load(str(tmp_path / "slim"))
    np.testing.assert_allclose(
        loaded.generate(4, seed=0), model.generate(4, seed=0), atol=1e-6
    )
    optimizers = zoo.registry._optimizers(loaded)
    assert len(optimizers) == (1 if build == "vae" else 2)
    for optimizer in optimizers:
        assert int(optimizer.iterations) == 0
        state = [v for v in optimizer.variables if v.name != "learning_rate"]
        assert len(state) > 1 and all(not np.any(v.numpy()) for v in state)
    if build == "vae":  # The compile configuration survives.
        assert float(loaded.optimizer.learning_rate) == pytest.approx(3e-4)
    else:
        # The average ships as the generator, once: no average is loaded.
        assert not hasattr(loaded, "generator_average")
        assert loaded.generator_ema_decay is None
        assert loaded.get_compile_config()["label_smoothing"] == model.label_smoothing
        np.testing.assert_array_equal(
            loaded.generator.get_weights()[0], model.generator_average[0].numpy()
        )
    loaded.fit(images, batch_size=8, verbose=0)
    assert all(int(optimizer.iterations) > 0 for optimizer in optimizers)


def _stored_arrays(keras_file):
    """{path: numpy array} of every array in a `.keras` file's weights."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(keras_file) as archive:
        content = archive.read("model.weights.h5")
    arrays = {}
    with h5py.File(io.BytesIO(content), "r") as store:
        store.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                         if isinstance(item, h5py.Dataset) else None)
    return arrays


def _weights_file_size(keras_file):
    import zipfile

    with zipfile.ZipFile(keras_file) as archive:
        return archive.getinfo("model.weights.h5").file_size


@pytest.mark.parametrize("build", ["gan_with_average", "vae"])
def test_float16_entry_stores_half_the_bytes_and_equals_the_rounded_model(tmp_path, build):
    model, images = _trained(build, base_filters=8)
    before = [v.numpy() for v in model.variables]
    wide = zoo.save(model, tmp_path / "wide", METADATA, optimizer_state=False)
    half = zoo.save(model, tmp_path / "half", METADATA, optimizer_state=False,
                    weights_dtype="float16")
    for variable, value in zip(model.variables, before):  # Caller's model untouched.
        np.testing.assert_array_equal(variable.numpy(), value)
    assert (wide.weights_dtype, half.weights_dtype) == ("float32", "float16")
    assert zoo.get_entry(str(tmp_path / "half")).weights_dtype == "float16"
    assert "stored as float16" in (tmp_path / "half" / "card.md").read_text()
    assert "stored as" not in (tmp_path / "wide" / "card.md").read_text()
    wide_arrays, half_arrays = (
        _stored_arrays(tmp_path / name / "model.keras") for name in ("wide", "half")
    )
    assert set(wide_arrays) == set(half_arrays)
    networks = [n for n in wide_arrays if "optimizer" not in n.split("/")[0]]
    assert np.dtype("float32") in {wide_arrays[n].dtype for n in networks}
    for name in networks:  # Every network array is stored in half the bytes.
        if wide_arrays[name].dtype == np.float32:
            assert half_arrays[name].dtype == np.float16, name
            assert half_arrays[name].nbytes == wide_arrays[name].nbytes // 2
        else:
            assert half_arrays[name].dtype == wide_arrays[name].dtype, name
    for name in set(wide_arrays) - set(networks):  # Optimizers stay as they are.
        assert half_arrays[name].dtype == wide_arrays[name].dtype, name
    # And the file shrinks by those bytes (HDF5 keeps a deleted array's space).
    saved = sum(wide_arrays[n].nbytes // 2 for n in networks
                if wide_arrays[n].dtype == np.float32)
    size = {name: _weights_file_size(tmp_path / name / "model.keras")
            for name in ("wide", "half")}
    assert size["half"] <= size["wide"] - saved + 1024, (size, saved)
    # Loaded as float32, with the weights of the full entry rounded to float16.
    loaded, reference = zoo.load(str(tmp_path / "half")), zoo.load(str(tmp_path / "wide"))
    assert {v.dtype for v in loaded.weights} <= {"float32", "uint32", "int64", "int32"}
    rounded = [w.astype("float16").astype("float32") if w.dtype == np.float32 else w
               for w in reference.get_weights()]
    for got, want in zip(loaded.get_weights(), rounded):
        np.testing.assert_array_equal(got, want)
    assert np.any([np.any(w != r) for w, r in zip(reference.get_weights(), rounded)])
    # round_weights gives the same model in memory: what a recipe measures.
    zoo.round_weights(reference, "float16")
    np.testing.assert_array_equal(
        loaded.generate(4, seed=0), reference.generate(4, seed=0)
    )
    # The optimizers' learning rates are stored exactly; training goes on.
    pairs = zip(zoo.registry._optimizers(loaded), zoo.registry._optimizers(reference))
    for optimizer, original in pairs:
        assert float(optimizer.learning_rate) == float(original.learning_rate)
    if build == "vae":
        assert float(loaded.optimizer.learning_rate) == np.float32(3e-4)
    loaded.fit(images, batch_size=8, verbose=0)


def test_float16_storage_errors_are_clear(tmp_path, model):
    with pytest.raises(ValueError, match="weights_dtype must be one of"):
        zoo.save(model, tmp_path / "a", METADATA, optimizer_state=False,
                 weights_dtype="int8")
    with pytest.raises(ValueError, match="needs optimizer_state=False"):
        zoo.save(model, tmp_path / "b", METADATA, weights_dtype="float16")
    big = _tiny_model()
    kernel = big.generator.weights[0]
    kernel.assign(keras.ops.full(kernel.shape, 1e5))
    with pytest.raises(ValueError, match=f"{kernel.path}.*beyond float16"):
        zoo.save(big, tmp_path / "c", METADATA, optimizer_state=False,
                 weights_dtype="float16")
    assert not os.path.exists(tmp_path / "c")


def test_unknown_name_lists_close_matches(zoo_dir):
    with pytest.raises(ValueError, match="tiny_dcgan"):
        zoo.load("tiny_dcgen")


@pytest.mark.parametrize("name", ["../tiny_dcgan", "a/b", "..", "/etc", "Tiny"])
def test_names_cannot_escape_the_zoo(zoo_dir, name):
    with pytest.raises(ValueError):
        zoo.load(name)


def test_tampered_file_is_refused_and_never_loaded(zoo_dir, monkeypatch):
    with open(zoo_dir / "tiny_dcgan" / "model.keras", "ab") as f:
        f.write(b"\0")
    calls = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: calls.append(a))
    with pytest.raises(zoo.IntegrityError, match="sha256"):
        zoo.load("tiny_dcgan")
    assert calls == []


def test_missing_file_and_corrupted_metadata_are_clear_errors(zoo_dir):
    os.remove(zoo_dir / "tiny_dcgan" / "samples.png")
    with pytest.raises(zoo.IntegrityError, match="missing"):
        zoo.get_entry("tiny_dcgan")
    (zoo_dir / "tiny_dcgan" / "entry.json").write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        zoo.get_entry("tiny_dcgan")


def test_crash_mid_save_leaves_nothing(tmp_path, model, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(model), "save", crash)
    with pytest.raises(RuntimeError):
        zoo.save(model, tmp_path / "entry", METADATA)
    assert os.listdir(tmp_path) == []


def test_save_refuses_to_overwrite_unless_asked(zoo_dir, model):
    with pytest.raises(ValueError, match="overwrite"):
        zoo.save(model, zoo_dir / "tiny_dcgan", METADATA)
    entry = zoo.save(model, zoo_dir / "tiny_dcgan", {**METADATA, "version": 4},
                     overwrite=True)
    assert entry.version == 4 and zoo.get_entry("tiny_dcgan").version == 4
    assert sorted(os.listdir(zoo_dir)) == ["tiny_dcgan"]


@contextlib.contextmanager
def _serve(directory):
    """An HTTP server on 127.0.0.1 serving `directory`; yields its URL."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(directory)
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_zoo(zoo_dir):
    with _serve(zoo_dir) as url:
        yield url


def test_remote_http_entry_is_fetched_verified_and_cached(http_zoo, tmp_path, model):
    cache = tmp_path / "cache"
    loaded = zoo.load(f"{http_zoo}/tiny_dcgan", cache_dir=str(cache))
    np.testing.assert_allclose(
        loaded.generate(2, seed=1), model.generate(2, seed=1), atol=1e-6
    )
    (cached,) = os.listdir(cache)
    assert sorted(os.listdir(cache / cached)) == [
        "card.md", "entry.json", "model.keras", "samples.png",
    ]


def test_remote_tampered_file_is_refused(http_zoo, zoo_dir, tmp_path):
    with open(zoo_dir / "tiny_dcgan" / "model.keras", "ab") as f:
        f.write(b"\0")
    cache = tmp_path / "cache"
    with pytest.raises(zoo.IntegrityError, match="sha256"):
        zoo.load(f"{http_zoo}/tiny_dcgan", cache_dir=str(cache))
    (cached,) = os.listdir(cache)
    assert "model.keras" not in os.listdir(cache / cached)


def test_remote_entry_pin_and_file_uri(zoo_dir, tmp_path):
    uri = (zoo_dir / "tiny_dcgan").as_uri()
    assert uri.startswith("file://")
    assert zoo.get_entry(uri, cache_dir=str(tmp_path / "c1")).version == 3
    with pytest.raises(zoo.IntegrityError):
        zoo.get_entry(uri + "#sha256=" + "0" * 64, cache_dir=str(tmp_path / "c2"))


def test_cached_remote_entry_works_offline(zoo_dir, tmp_path):
    cache = str(tmp_path / "cache")
    with _serve(zoo_dir) as url:
        zoo.get_entry(f"{url}/tiny_dcgan", cache_dir=cache)
    # The server is gone: the verified cached copy is used, with a warning.
    with pytest.warns(UserWarning, match="cached copy"):
        entry = zoo.get_entry(f"{url}/tiny_dcgan", cache_dir=cache)
    assert entry.name == "tiny_dcgan"
    with pytest.raises(OSError, match="Could not fetch"):
        zoo.get_entry(f"{url}/other_entry", cache_dir=cache)


def test_cli_list_info_and_sample(zoo_dir, tmp_path, capsys):
    from keras_gen import cli

    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "tiny_dcgan" in listing and "DCGAN" in listing
    assert cli.main(["info", "tiny_dcgan"]) == 0
    assert '"version": 3' in capsys.readouterr().out
    out = tmp_path / "grid.png"
    assert cli.main(["sample", "tiny_dcgan", "--num", "4", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert cli.main(["sample", "tiny_dcgn", "--out", str(out)]) == 2
    assert "Did you mean 'tiny_dcgan'" in capsys.readouterr().err


def test_cli_sample_labels_for_conditional_entries(tmp_path, monkeypatch, capsys):
    from keras_gen import cli

    cgan = models.ConditionalGAN(
        image_shape=(8, 8, 1), num_classes=3, latent_dim=4, base_filters=4
    )
    cgan.compile()
    zoo.save(cgan, tmp_path / "zoo" / "tiny_cgan", METADATA)
    monkeypatch.setenv("KERAS_GEN_ZOO_PATH", str(tmp_path / "zoo"))
    out = str(tmp_path / "grid.png")
    assert cli.main(["sample", "tiny_cgan", "--labels", "0,2", "--out", out]) == 0
    assert cli.main(["sample", "tiny_cgan", "--out", out]) == 2
    assert "labels" in capsys.readouterr().err
    assert cli.main(["sample", "tiny_cgan", "--labels", "x", "--out", out]) == 2


def test_export_and_load_serving_use_the_entry_version(zoo_dir, tmp_path, model):
    import tensorflow as tf

    from keras_gen import cli

    path = zoo.export("tiny_dcgan", tmp_path / "serving")
    assert path.endswith(os.path.join("tiny_dcgan", "3"))
    config = (tmp_path / "serving" / "models.config").read_text()
    assert 'name: "tiny_dcgan"' in config
    assert cli.main(["export", "tiny_dcgan", "--to", str(tmp_path / "serving"),
                     "--version", "5"]) == 0
    assert sorted(os.listdir(tmp_path / "serving" / "tiny_dcgan")) == ["3", "5"]
    served = zoo.load_serving("tiny_dcgan", cache_dir=str(tmp_path / "cache"))
    latent = tf.random.stateless_normal((3, 4), seed=[1, 2])
    images = served.signatures["serving_default"](latent=latent)["images"]
    np.testing.assert_allclose(
        images.numpy(), model.generator(latent, training=False).numpy(), atol=1e-5
    )
    with pytest.raises(ValueError, match="name="):
        zoo.export(model, tmp_path / "serving")


def test_export_serves_the_generator_moving_average(tmp_path):
    import tensorflow as tf

    gan = models.DCGAN(image_shape=(8, 8, 1), latent_dim=4, base_filters=4, seed=0)
    gan.compile(generator_ema_decay=0.5)
    gan.fit(np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 1)).astype("float32"),
            batch_size=8, verbose=0)
    path = zoo.export(gan, tmp_path, name="ema_dcgan")
    latent = tf.random.stateless_normal((2, 4), seed=[0, 1])
    served = tf.saved_model.load(path).signatures["serving_default"](latent=latent)
    with gan.sampling_weights():
        expected = gan.generator(latent, training=False).numpy()
    np.testing.assert_allclose(served["images"].numpy(), expected, atol=1e-5)
    assert not np.allclose(expected, gan.generator(latent, training=False).numpy())
    # The same through an entry: `export(name)` loads it without compiling,
    # and the average must still be the weights it samples with.
    zoo.save(gan, tmp_path / "zoo" / "ema_entry", METADATA, optimizer_state=False)
    uncompiled = zoo.load(str(tmp_path / "zoo" / "ema_entry"), compile=False)
    np.testing.assert_allclose(uncompiled.generate(3, seed=1), gan.generate(3, seed=1), atol=1e-6)
    path = zoo.export(str(tmp_path / "zoo" / "ema_entry"), tmp_path / "serving")
    served = tf.saved_model.load(path).signatures["serving_default"](latent=latent)
    np.testing.assert_allclose(served["images"].numpy(), expected, atol=1e-5)
