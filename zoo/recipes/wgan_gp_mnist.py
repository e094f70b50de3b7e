"""Recipe of the `wgan_gp_mnist` zoo entry (see gan_recipe.py for the options).

WGAN-GP (Gulrajani et al. 2017) with the paper's settings (5 critic steps,
penalty weight 10, Adam(1e-4, 0.5, 0.9), layer norm in the critic) and an
exponential moving average of the generator's weights.

    python zoo/recipes/wgan_gp_mnist.py --out runs/wgan_gp_mnist --publish
"""

import gan_recipe

PRESET = {
    "model": "wgan_gp",
    "entry": "wgan_gp_mnist",
    "version": 1,
    "description": "28x28 MNIST digits from a WGAN-GP.",
    "g_lr": 1e-4,
    "d_lr": 1e-4,
    "beta_1": 0.5,
    "beta_2": 0.9,
    "ema": 0.999,
    "epochs": 30,
}

if __name__ == "__main__":
    gan_recipe.main(PRESET)
