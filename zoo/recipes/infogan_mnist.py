"""Recipe of the `infogan_mnist` zoo entry (see gan_recipe.py for the options).

InfoGAN (Chen et al. 2016) on MNIST with the paper's codes: 62 noise
dimensions, one 10-way categorical code and two continuous codes in
U(-1, 1); D and Q share the DCGAN trunk; Adam 2e-4 for D and Q, 1e-3 for G
(the paper's rates); plus the DCGAN entry's stabilizers (one-sided label
smoothing, a moving average of the generator's weights).

The card reports how well the categorical code names the digit after the
best one-to-one matching of codes to classes: Q's code of every test image
against its label (the paper: about 5% error), and the code a sample was
generated with against the shipped classifier's reading of the sample. Its
picture holds one category per row, the first continuous code swept from -2
to 2 along the row.

    python zoo/recipes/infogan_mnist.py --out runs/infogan_mnist --publish
"""

import dcgan_mnist
import gan_recipe

PRESET = {
    **dcgan_mnist.PRESET,
    "model": "infogan",
    "version": 1,
    "entry": "infogan_mnist",
    "description": "28x28 MNIST digits from an InfoGAN whose categorical code names the digit.",
    "g_lr": 1e-3,
    "d_lr": 2e-4,
    "epochs": 10,
}

if __name__ == "__main__":
    gan_recipe.main(PRESET)
