"""The classic toy experiment: GAN vs WGAN-GP on 8 Gaussians on a circle.

Trains a vanilla GAN and a WGAN-GP with the same MLPs on
`gaussian_mixture_8` (the setup of Gulrajani et al. 2017, `gan_toy.py`:
three hidden layers of 512 ReLU units, 2-D noise, batch 256), then draws
real (grey) and generated (red) points side by side, GAN left and WGAN-GP
right, and counts the modes each covers (`keras_gen.metrics.mode_coverage`).

The theory notes' picture is a vanilla GAN collapsing onto a few modes while
WGAN-GP covers all eight. Measured here (seed 0, 10 epochs of 100,000
points, 2,500 samples): WGAN-GP covered 8/8 modes (43% of samples within 3
std of a mode, 618 s), and so did this vanilla GAN with the non-saturating
loss and Adam(1e-4, 0.5) (80% within 3 std, 111 s): with these wide MLPs
the collapse does not show at this training length. Try other seeds,
`compile(loss="minimax")` or smaller networks to see it.

    python examples/gan_vs_wgan_gp_8gaussians.py --epochs 20 --out runs/8gaussians

Writes `OUT/gan_vs_wgan_gp.png` (one panel per model of `--models`) and
`OUT/mode_coverage.json`.
"""

import argparse
import json
import os
import time

import keras
import numpy as np

import keras_gen
from keras_gen import data
from keras_gen import metrics
from keras_gen import models
from keras_gen.utils import images

DATASET = "gaussian_mixture_8"
HIDDEN_UNITS = (512, 512, 512)


def build(name, seed):
    common = dict(latent_dim=2, hidden_units=HIDDEN_UNITS, seed=seed)
    if name == "gan":
        model = models.GAN(data_shape=(2,), **common)
        model.compile(
            g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
            d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
        )
    else:
        model = models.WGANGP(image_shape=(2,), **common)
        # gan_toy.py uses lambda = 0.1 on the toy tasks ("smaller lambda
        # seems to help for toy tasks specifically"); the rest is the paper's.
        model.compile(gradient_penalty_weight=0.1)
    return model


def run(epochs, num_examples, num_samples, seed, out, model_names=("gan", "wgan_gp")):
    keras.utils.set_random_seed(seed)
    dataset = data.load(
        DATASET, batch_size=256, num_examples=num_examples, seed=seed
    )
    centers, stddev = data.mixture_centers(DATASET), data.mixture_stddev(DATASET)
    real = data.load(
        DATASET, split="test", batch_size=num_samples, num_examples=num_samples,
        seed=seed,
    ).get_single_element().numpy()
    report, pictures = {}, []
    for name in model_names:
        model = build(name, seed)
        start = time.perf_counter()
        history = model.fit(dataset, epochs=epochs, verbose=2)
        seconds = time.perf_counter() - start
        samples = model.generate(num_samples, seed=seed)
        coverage = metrics.mode_coverage(samples, centers, stddev)
        report[name] = {
            **coverage,
            "train_seconds": seconds,
            "final_losses": {k: v[-1] for k, v in history.history.items()},
        }
        print(f"{name}: {coverage['covered_modes']}/8 modes covered, "
              f"{coverage['high_quality_fraction']:.0%} of samples within 3 std "
              f"of a mode, trained {seconds:.0f} s")
        pictures.append(images.scatter_plot(
            [real, samples], [(170, 170, 170), (220, 60, 30)]
        ))
    os.makedirs(out, exist_ok=True)
    separator = np.full((pictures[0].shape[0], 8, 3), 255, "uint8")
    row = [pictures[0]]
    for picture in pictures[1:]:
        row += [separator, picture]
    images.save_png(
        os.path.join(out, "_vs_".join(model_names) + ".png"),
        np.concatenate(row, axis=1),
    )
    report["settings"] = {
        "epochs": epochs, "num_examples": num_examples, "batch_size": 256,
        "seed": seed, "keras_gen": keras_gen.__version__,
    }
    with open(os.path.join(out, "mode_coverage.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--num-examples", type=int, default=100_000,
                        help="examples per epoch")
    parser.add_argument("--num-samples", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/8gaussians")
    parser.add_argument("--models", nargs="+", default=["gan", "wgan_gp"],
                        choices=["gan", "wgan_gp"])
    args = parser.parse_args()
    run(args.epochs, args.num_examples, args.num_samples, args.seed, args.out,
        args.models)


if __name__ == "__main__":
    main()
