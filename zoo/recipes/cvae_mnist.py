"""Recipe of the `cvae_mnist` zoo entry (see vae_recipe.py for the protocol).

A conditional VAE (Sohn et al. 2015): the `vae_mnist` networks with the
label fed to the encoder and the decoder, and 16 latent units (a smaller z
leaves the class to the label, so `generate(n, labels=7)` draws sevens).
Its likelihood is log p(x | y), reported as such.

    python zoo/recipes/cvae_mnist.py --out runs/cvae
    python zoo/recipes/cvae_mnist.py --out runs/cvae --evaluate-only --publish
"""

import vae_mnist
import vae_recipe

PRESET = {
    **vae_mnist.PRESET,
    "model": "cvae",
    "entry": "cvae_mnist",
    "description": "28x28 binarized MNIST digits of a requested class from a conditional VAE.",
    "latent_dim": 16,
    "epochs": 20,
}

if __name__ == "__main__":
    vae_recipe.main(PRESET)
