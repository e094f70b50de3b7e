"""What the recipes share: where the data is, and the training-time ledger."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Real MNIST: KERAS_GEN_DATA_DIR, else ../shared/data beside the repository.
DEFAULT_DATA_DIR = os.environ.get(
    "KERAS_GEN_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")
)
_LEDGER = "train_seconds.json"


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
