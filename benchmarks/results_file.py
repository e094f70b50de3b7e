"""The JSON every benchmark writes: its results and what produced them."""

import json
import os
import platform

import keras
import tensorflow as tf

import keras_gen


def write(path, benchmark, **results):
    """Writes `results` with the versions and machine to `path` (JSON)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({
            "benchmark": benchmark,
            "keras_gen": keras_gen.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            **results,
        }, f, indent=2)
    print(f"wrote {path}")
