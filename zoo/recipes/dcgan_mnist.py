"""Recipe of the `dcgan_mnist` zoo entry (see gan_recipe.py for the options).

DCGAN (Radford et al. 2015) with the stabilizers the literature offers:
batch norm in the generator, spectral normalization in the discriminator
(Miyato et al. 2018), two time-scale learning rates (Heusel et al. 2017),
one-sided label smoothing (Salimans et al. 2016) and an exponential moving
average of the generator's weights (Yazici et al. 2019).

    python zoo/recipes/dcgan_mnist.py --out runs/dcgan_mnist --publish
"""

import gan_recipe

PRESET = {
    "model": "dcgan",
    "entry": "dcgan_mnist",
    "version": 1,
    "description": "28x28 MNIST digits from a DCGAN.",
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
