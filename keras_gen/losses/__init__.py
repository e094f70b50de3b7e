"""Losses of generative models: pure functions of network outputs.

Adversarial objectives are named `<family>_<role>_loss` (as in TF-GAN) and
take discriminator logits; `get(name)` returns a matched
generator/discriminator pair. `gradient_penalty` is the WGAN-GP regularizer.
The semi-supervised GAN's losses take the K class logits of its classifier
discriminator (and features, for feature matching).
Autoencoder reconstruction losses return one value per example, and
`importance_weighted_bound` is the IWAE bound of latent-variable models.
"""

from keras_gen.losses.adversarial import ADVERSARIAL_LOSSES
from keras_gen.losses.adversarial import AdversarialLoss
from keras_gen.losses.adversarial import get
from keras_gen.losses.adversarial import hinge_discriminator_loss
from keras_gen.losses.adversarial import hinge_generator_loss
from keras_gen.losses.adversarial import least_squares_discriminator_loss
from keras_gen.losses.adversarial import least_squares_generator_loss
from keras_gen.losses.adversarial import minimax_discriminator_loss
from keras_gen.losses.adversarial import minimax_generator_loss
from keras_gen.losses.adversarial import non_saturating_discriminator_loss
from keras_gen.losses.adversarial import non_saturating_generator_loss
from keras_gen.losses.adversarial import top_k_fake_logits
from keras_gen.losses.adversarial import wasserstein_discriminator_loss
from keras_gen.losses.adversarial import wasserstein_generator_loss
from keras_gen.losses.penalties import gradient_penalty
from keras_gen.losses.semi_supervised import feature_matching_generator_loss
from keras_gen.losses.semi_supervised import semi_supervised_discriminator_loss
from keras_gen.losses.semi_supervised import semi_supervised_generator_loss
from keras_gen.losses.semi_supervised import supervised_classification_loss
from keras_gen.losses.variational import binary_crossentropy_loss
from keras_gen.losses.variational import importance_weighted_bound
from keras_gen.losses.variational import mean_absolute_error_loss
from keras_gen.losses.variational import mean_squared_error_loss

__all__ = [
    "ADVERSARIAL_LOSSES",
    "AdversarialLoss",
    "binary_crossentropy_loss",
    "feature_matching_generator_loss",
    "get",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "importance_weighted_bound",
    "least_squares_generator_loss",
    "mean_absolute_error_loss",
    "mean_squared_error_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "semi_supervised_discriminator_loss",
    "semi_supervised_generator_loss",
    "supervised_classification_loss",
    "top_k_fake_logits",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]
