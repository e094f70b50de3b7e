"""Keras callbacks for training generative models with `fit`."""

import csv
import io
import json
import os

import keras
import numpy as np

from keras_gen.utils import files
from keras_gen.utils import images


def sample_picture(model, num_samples=64, seed=0, reference=None):
    """A picture of a model's samples: an image grid, or a 2-D scatter plot.

    Conditional models get labels `0, 1, 2, ...` in turn (one class per
    column of a 10-wide grid for 10 classes). For 2-D data, `reference`
    points (e.g. real data) are drawn in grey under the samples.
    """
    labels = (
        np.arange(num_samples) % model.num_classes if model.is_conditional else None
    )
    samples = model.generate(num_samples, seed=seed, labels=labels)
    if model.is_image_model:
        columns = model.num_classes if model.is_conditional else None
        return images.image_grid(samples, columns=columns)
    if model.data_shape != (2,):
        raise ValueError(
            "Only images and 2-D points can be drawn; this model generates "
            f"data of shape {model.data_shape}."
        )
    point_sets, colors = [samples], [(220, 60, 30)]
    if reference is not None:
        point_sets, colors = [reference, samples], [(150, 150, 150), (220, 60, 30)]
    return images.scatter_plot(point_sets, colors)


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG of samples (fixed noise) after every epoch.

    Args:
        directory: str, where `samples_epoch_001.png`, ... are written.
        num_samples: int, number of samples in the picture.
        seed: int, the noise seed, the same every epoch so pictures compare.
        reference: optional `(n, 2)` array of real points for 2-D data.
    """

    def __init__(self, directory, num_samples=64, seed=0, reference=None):
        super().__init__()
        self.directory = directory
        self.num_samples = num_samples
        self.seed = seed
        self.reference = reference

    def on_epoch_end(self, epoch, logs=None):
        picture = sample_picture(
            self.model, self.num_samples, self.seed, self.reference
        )
        images.save_png(
            os.path.join(self.directory, f"samples_epoch_{epoch + 1:03d}.png"),
            picture,
        )


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the model (with optimizer state) after every epoch, atomically.

    Writes `model.keras` through a temporary file and a rename, then
    `training_state.json` with the number of epochs done, so a crashed run
    resumes from its last complete epoch (`keras-gen train --resume`).

    Args:
        directory: str, where `model.keras` and `training_state.json` go.
    """

    MODEL_FILE = "model.keras"
    STATE_FILE = "training_state.json"

    def __init__(self, directory):
        super().__init__()
        self.directory = directory

    def on_epoch_end(self, epoch, logs=None):
        files.save_model_atomically(
            self.model, os.path.join(self.directory, self.MODEL_FILE)
        )
        state = {
            "epochs_done": epoch + 1,
            "logs": {k: float(v) for k, v in (logs or {}).items()},
        }
        files.atomic_write_bytes(
            os.path.join(self.directory, self.STATE_FILE),
            json.dumps(state, indent=2).encode(),
        )

    @classmethod
    def epochs_done(cls, directory):
        """Epochs completed by a checkpoint in `directory` (0 if none)."""
        path = os.path.join(directory, cls.STATE_FILE)
        if not os.path.exists(path):
            return 0
        with open(path) as f:
            return int(json.load(f)["epochs_done"])


class EpochLog(keras.callbacks.Callback):
    """Writes every epoch's logs to a CSV file that survives resumed runs.

    Unlike `keras.callbacks.CSVLogger`, whose columns are fixed by the
    first epoch a process sees, the file has a column for every key any
    epoch logged (missing values are left empty), so the rows stay aligned
    when `EvaluationMetrics` adds scores every N-th epoch only, or when a
    run resumes on an epoch that adds them. The file is rewritten
    atomically each epoch, and rows of epochs at or after the current one
    (left by a run that crashed between this write and its checkpoint) are
    replaced, so every epoch has exactly one row.

    Args:
        path: str, the CSV file; an existing one is continued.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        rows = []
        if os.path.exists(self.path):
            with open(self.path, newline="") as f:
                rows = [row for row in csv.DictReader(f) if int(row["epoch"]) < epoch]
        rows.append({"epoch": epoch, **{k: _csv_value(v) for k, v in (logs or {}).items()}})
        keys = {key for row in rows for key in row if key not in ("epoch", None)}
        text = io.StringIO()
        writer = csv.DictWriter(
            text, ["epoch", *sorted(keys)], restval="", extrasaction="ignore",
            lineterminator="\n",
        )
        writer.writeheader()
        writer.writerows(rows)
        files.atomic_write_bytes(self.path, text.getvalue().encode())


def _csv_value(value):
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else " ".join(map(str, array.ravel()))


class EvaluationMetrics(keras.callbacks.Callback):
    """Scores the model's samples every `every_n_epochs` epochs during `fit`.

    Adds the chosen results of `keras_gen.metrics.evaluate` to the epoch's
    logs, so they appear in the `History` and, for callbacks listed after
    this one (e.g. `keras.callbacks.TensorBoard`), in their logs too.

    Args:
        metrics: names among `fid`, `kid`, `classifier_score`, `precision`,
            `recall`, `label_accuracy`, `nll_nats`, `bits_per_dim`.
        every_n_epochs: int, evaluate after every N-th epoch.
        num_samples: int, samples drawn per evaluation.
        dataset: str, the reference data set (`"mnist"`).
        data_dir: str or None, where its files are.
        nll_importance_samples: int, K of the likelihood estimate.
        nll_examples: int or None, test images used for the likelihood.

    Example:

    ```python
    model.fit(data, epochs=20, callbacks=[
        keras_gen.callbacks.EvaluationMetrics(["fid", "classifier_score"],
                                              every_n_epochs=5),
        keras.callbacks.TensorBoard("logs"),
    ])
    ```
    """

    def __init__(
        self,
        metrics=("fid", "classifier_score"),
        every_n_epochs=1,
        num_samples=2000,
        dataset="mnist",
        data_dir=None,
        nll_importance_samples=100,
        nll_examples=1000,
    ):
        super().__init__()
        self.metrics = tuple(metrics)
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.dataset = dataset
        self.data_dir = data_dir
        self.nll_importance_samples = nll_importance_samples
        self.nll_examples = nll_examples
        self._classifier = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs or logs is None:
            return
        from keras_gen import metrics

        self._classifier = self._classifier or metrics.MNISTClassifier()
        results = metrics.evaluate(
            self.model,
            dataset=self.dataset,
            num_samples=self.num_samples,
            data_dir=self.data_dir,
            nll_importance_samples=self.nll_importance_samples,
            nll_examples=self.nll_examples,
            likelihood=bool({"nll_nats", "bits_per_dim"} & set(self.metrics)),
            classifier=self._classifier,
        )
        for name in self.metrics:
            if name in results:
                logs[name] = results[name]
