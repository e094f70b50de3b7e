"""Generative models: each a `keras.Model` trained with plain `fit`."""

from keras_gen.models.adversarial_model import AdversarialModel
from keras_gen.models.autoencoder import Autoencoder
from keras_gen.models.conditional_gan import ConditionalGAN
from keras_gen.models.cvae import CVAE
from keras_gen.models.dcgan import DCGAN
from keras_gen.models.gan import GAN
from keras_gen.models.generative_model import GenerativeModel
from keras_gen.models.infogan import InfoGAN
from keras_gen.models.pixelcnn import PixelCNN
from keras_gen.models.real_nvp import RealNVP
from keras_gen.models.semi_supervised_gan import SemiSupervisedGAN
from keras_gen.models.vae import VAE
from keras_gen.models.wgan import WGAN
from keras_gen.models.wgan_gp import WGANGP
