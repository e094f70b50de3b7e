"""Recipe of the `cgan_mnist` zoo entry (see gan_recipe.py for the options).

A conditional GAN (Mirza & Osindero 2014) with DCGAN networks and the same
stabilizers as `dcgan_mnist`; `generate(n, labels=7)` draws sevens.

    python zoo/recipes/cgan_mnist.py --out runs/cgan_mnist --publish
"""

import dcgan_mnist
import gan_recipe

# The dcgan_mnist recipe, with labels, and the DCGAN paper's 2e-4 for the
# generator too (what trained the shipped entry).
PRESET = {
    **dcgan_mnist.DCGAN_SETTINGS,
    "g_lr": 2e-4,
    "model": "conditional_gan",
    "version": 1,
    "entry": "cgan_mnist",
    "description": "28x28 MNIST digits of a requested class from a conditional GAN.",
    "epochs": 8,
}

if __name__ == "__main__":
    gan_recipe.main(PRESET)
