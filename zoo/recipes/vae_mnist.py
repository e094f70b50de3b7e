"""Recipe of the `vae_mnist` zoo entry (see vae_recipe.py for the protocol).

A convolutional VAE (Kingma & Welling 2013) with a Bernoulli decoder and 32
latent units on dynamically binarized MNIST, in two stages:

    # 1. 60 epochs of the ELBO, Adam 1e-3 cosine-decayed.
    python zoo/recipes/vae_mnist.py --out runs/vae_elbo
    # 2. 20 epochs of the importance-weighted bound (IWAE, K = 5), Adam 3e-4.
    python zoo/recipes/vae_mnist.py --out runs/vae_iwae --init-from runs/vae_elbo \\
        --objective iwae --num-samples 5 --epochs 20 --learning-rate 3e-4
    # Score on the full test set (K = 1000) and publish zoo/vae_mnist.
    python zoo/recipes/vae_mnist.py --out runs/vae_iwae --evaluate-only --publish
"""

import vae_recipe

PRESET = {
    "model": "vae",
    "entry": "vae_mnist",
    "version": 1,
    "description": "28x28 binarized MNIST digits from a VAE; exact-protocol test NLL.",
    "latent_dim": 32,
    "encoder_filters": 32,
    "decoder_filters": 16,
    "hidden_units": 256,
    "learning_rate": 1e-3,
    "epochs": 60,
}

if __name__ == "__main__":
    vae_recipe.main(PRESET)
