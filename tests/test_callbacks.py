"""`keras_gen.callbacks.EpochLog`: one aligned CSV row per epoch."""

import csv

import numpy as np

from keras_gen import callbacks


def _rows(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        return next(reader), list(reader)


def test_epoch_log_keeps_rows_aligned_when_keys_change_and_runs_resume(tmp_path):
    path = str(tmp_path / "log.csv")
    first_run = callbacks.EpochLog(path)
    first_run.on_epoch_end(0, {"loss": 1.5})
    first_run.on_epoch_end(1, {"loss": np.float32(1.25), "fid": 40.0})
    # A resumed run: a new callback whose first epoch adds a score.
    callbacks.EpochLog(path).on_epoch_end(2, {"loss": 1.0, "fid": 30.0, "recall": 0.5})
    header, rows = _rows(path)
    assert header == ["epoch", "fid", "loss", "recall"]
    assert rows == [
        ["0", "", "1.5", ""],
        ["1", "40.0", "1.25", ""],
        ["2", "30.0", "1.0", "0.5"],
    ]


def test_epoch_log_replaces_rows_of_epochs_run_again(tmp_path):
    # A run that crashed after logging epoch 2 but before checkpointing it
    # resumes at epoch 2 (its checkpoint is of epoch 1): one row per epoch.
    path = str(tmp_path / "log.csv")
    log = callbacks.EpochLog(path)
    for epoch in range(3):
        log.on_epoch_end(epoch, {"loss": float(epoch)})
    callbacks.EpochLog(path).on_epoch_end(2, {"loss": 7.0})
    header, rows = _rows(path)
    assert header == ["epoch", "loss"]
    assert rows == [["0", "0.0"], ["1", "1.0"], ["2", "7.0"]]
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]
