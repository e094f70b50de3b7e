"""Network architectures: generators, discriminators (critics), encoders.

A network knows nothing about losses or training; the models in
`keras_gen.models` own the training algorithms.
"""

from keras_gen.networks.dcgan import build_dcgan_discriminator
from keras_gen.networks.dcgan import build_dcgan_generator
from keras_gen.networks.infogan import build_infogan_discriminator
from keras_gen.networks.mlp import build_mlp_discriminator
from keras_gen.networks.mlp import build_mlp_generator
from keras_gen.networks.defaults import build_default_networks
from keras_gen.networks.autoencoder import build_conv_decoder
from keras_gen.networks.autoencoder import build_conv_encoder
from keras_gen.networks.pixelcnn import PixelCNNNetwork
from keras_gen.networks.pixelcnn import build_pixelcnn_network
from keras_gen.networks.real_nvp import RealNVPNetwork
from keras_gen.networks.semi_supervised import ResumableGaussianNoise
from keras_gen.networks.semi_supervised import build_semi_supervised_discriminator
