"""Recipe of the `cgan_mnist` zoo entry (see gan_recipe.py for the options).

A conditional GAN (Mirza & Osindero 2014) with DCGAN networks and the same
stabilizers as `dcgan_mnist`; `generate(n, labels=7)` draws sevens.

    python zoo/recipes/cgan_mnist.py --out runs/cgan_mnist --publish
"""

import gan_recipe

PRESET = {
    "model": "conditional_gan",
    "entry": "cgan_mnist",
    "version": 1,
    "description": "28x28 MNIST digits of a requested class from a conditional GAN.",
    "d_normalization": "spectral",
    "label_smoothing": 0.1,
    "g_lr": 1e-4,
    "d_lr": 4e-4,
    "beta_1": 0.5,
    "ema": 0.999,
    "epochs": 30,
}

if __name__ == "__main__":
    gan_recipe.main(PRESET)
