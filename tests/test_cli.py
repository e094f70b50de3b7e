"""The `keras-gen` command line, end to end on tiny runs."""

import json
import os

import keras
import pytest
import tensorflow as tf

from keras_gen import cli
from keras_gen import models
from tests.test_data import write_mnist_files


def _train(tmp_path, *extra, model="gan", dataset="gaussian_mixture_8"):
    return cli.main([
        "train", model, "--dataset", dataset, "--batch-size", "128",
        "--num-examples", "512", "--out", str(tmp_path / "run"), *extra,
    ])


def _png_shape(path):
    return tuple(tf.io.decode_png(tf.io.read_file(str(path))).shape)


def test_train_saves_model_and_a_picture_per_epoch(tmp_path):
    assert _train(tmp_path, "--epochs", "2") == 0
    run = tmp_path / "run"
    model = keras.saving.load_model(run / "model.keras")
    assert isinstance(model, models.GAN) and model.data_shape == (2,)
    assert _png_shape(run / "samples_epoch_001.png") == (400, 400, 3)
    assert (run / "samples_epoch_002.png").exists()
    assert json.loads((run / "training_state.json").read_text())["epochs_done"] == 2
    assert not [name for name in os.listdir(run) if ".tmp" in name]


def test_resume_continues_from_the_checkpoint(tmp_path, capsys):
    assert _train(tmp_path, "--epochs", "1") == 0
    first = keras.saving.load_model(tmp_path / "run" / "model.keras")
    # Training again into the same folder must be asked for explicitly.
    assert _train(tmp_path, "--epochs", "2") == 2
    assert "--resume" in capsys.readouterr().err
    assert _train(tmp_path, "--epochs", "2", "--resume") == 0
    resumed = keras.saving.load_model(tmp_path / "run" / "model.keras")
    state = json.loads((tmp_path / "run" / "training_state.json").read_text())
    assert state["epochs_done"] == 2
    assert int(resumed.g_optimizer.iterations) == 2 * int(
        first.g_optimizer.iterations
    )
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].split(",") == ["epoch", "d_loss", "g_loss"]
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1"]


def test_train_conditional_gan_on_idx_mnist(tmp_path):
    write_mnist_files(tmp_path / "data" / "mnist", num_train=20)
    code = cli.main([
        "train", "conditional_gan", "--dataset", "mnist", "--data-dir",
        str(tmp_path / "data"), "--batch-size", "10", "--latent-dim", "8",
        "--out", str(tmp_path / "run"),
    ])
    assert code == 0
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert model.is_conditional and model.data_shape == (28, 28, 1)
    # Ten classes, one per column: 64 samples in a 10-wide grid of 7 rows.
    assert _png_shape(tmp_path / "run" / "samples_epoch_001.png") == (
        7 * 30 + 2, 10 * 30 + 2, 1,
    )


@pytest.mark.parametrize(
    "model_name, model_class, extra",
    [
        ("infogan", "InfoGAN", ()),
        ("semi_supervised_gan", "SemiSupervisedGAN", ("--num-labeled", "10")),
        ("autoencoder", "Autoencoder", ("--latent-dim", "4")),
        ("vae", "VAE", ("--latent-dim", "4")),
        ("cvae", "CVAE", ("--latent-dim", "4")),
        # The CLI builds their default networks: minutes of CPU, so slow.
        pytest.param("pixelcnn", "PixelCNN", (), marks=pytest.mark.slow),
        pytest.param("realnvp", "RealNVP", (), marks=pytest.mark.slow),
    ],
)
def test_train_every_image_family_on_idx_mnist(tmp_path, model_name, model_class, extra):
    write_mnist_files(tmp_path / "data" / "mnist", num_train=20)
    run = tmp_path / "run"
    arguments = [
        "train", model_name, "--dataset", "mnist", "--data-dir",
        str(tmp_path / "data"), "--batch-size", "10", "--out", str(run), *extra,
    ]
    assert cli.main(arguments) == 0
    model = keras.saving.load_model(run / "model.keras")
    assert type(model).__name__ == model_class and model.data_shape == (28, 28, 1)
    assert (run / "samples_epoch_001.png").exists()
    optimizer = getattr(model, "g_optimizer", None) or model.optimizer
    assert int(optimizer.iterations) == 2  # 20 images in batches of 10
    log = (run / "log.csv").read_text().splitlines()
    assert len(log) == 2 and all(value for value in log[1].split(","))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["dcgan", "--dataset", "gaussian_mixture_8"], "dcgan models images"),
        (["gan", "--dataset", "mnsit"], "mnist"),
        (["conditional_gan", "--dataset", "swiss_roll"], "2-D points"),
        (["realnvp", "--dataset", "mnist", "--latent-dim", "8"], "no latent space"),
        (["pixelcnn", "--dataset", "cifar10"], "image_shape"),
    ],
)
def test_bad_requests_are_one_line_errors(tmp_path, capsys, arguments, message):
    code = cli.main(["train", *arguments, "--out", str(tmp_path / "run")])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("keras-gen: error:") and message in error
    assert "Traceback" not in error


def test_missing_mnist_names_the_environment_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GEN_DATA_DIR", raising=False)
    code = cli.main([
        "train", "dcgan", "--dataset", "mnist", "--data-dir", str(tmp_path),
        "--out", str(tmp_path / "run"),
    ])
    assert code == 2
    assert "KERAS_GEN_DATA_DIR" in capsys.readouterr().err
