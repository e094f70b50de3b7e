"""What the recipes share: where the data is, and the training-time ledger."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Real MNIST: KERAS_GEN_DATA_DIR, else ../shared/data beside the repository.
DEFAULT_DATA_DIR = os.environ.get(
    "KERAS_GEN_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")
)
_LEDGER = "train_seconds.json"

# docs/metrics.md: the same protocol (10,000 images vs the MNIST test split,
# the shipped classifier's features) applied to reference image sets.
CALIBRATION_NOTE = """Reference rows (docs/metrics.md, same protocol: 10,000 images against the
MNIST test split): training images FID 0.967, classifier score 9.78,
precision 0.866, recall 0.880; training images + N(0, 0.1) noise FID 2.09;
3x3-blurred training images FID 65.3, recall 0.091; uniform noise FID 673,
classifier score 1.00."""


def card_notes(entry, out, epochs, extra=""):
    """The card's notes: how to reproduce the entry and what it cost.

    `epochs` is an int or a description (e.g. "60 ELBO + 20 IWAE").
    """
    seconds = read_train_seconds(out)
    cost = f", {seconds / 60:.0f} minutes of training" if seconds else ""
    return (
        f"Reproduce with the commands in `zoo/recipes/{entry}.py` ({epochs} "
        f"epochs{cost} on a 2-CPU machine shared with other jobs).\n\n" + extra
    )


def add_train_seconds(out, seconds):
    """Adds a run's training time to `out`'s total (runs resume); returns it."""
    total = seconds + (read_train_seconds(out) or 0.0)
    with open(os.path.join(out, _LEDGER), "w") as f:
        json.dump({"train_seconds": total}, f)
    return total


def read_train_seconds(out):
    """Total training time recorded in `out`, or None."""
    path = os.path.join(out, _LEDGER)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["train_seconds"]
