"""The zoo: pretrained entries, their on-disk format, and loading by name.

Example:

>>> keras_gen.zoo.list_entries()  # doctest: +SKIP
['cgan_mnist', 'cvae_mnist', 'dcgan_mnist', 'vae_mnist', 'wgan_gp_mnist']
>>> gan = keras_gen.zoo.load("dcgan_mnist")  # doctest: +SKIP
"""

from keras_gen.zoo.entry import Entry
from keras_gen.zoo.entry import IntegrityError
from keras_gen.zoo.registry import export
from keras_gen.zoo.registry import get_entry
from keras_gen.zoo.registry import list_entries
from keras_gen.zoo.registry import load
from keras_gen.zoo.registry import load_serving
from keras_gen.zoo.registry import resolve
from keras_gen.zoo.registry import round_weights
from keras_gen.zoo.registry import save
from keras_gen.zoo.registry import verify
from keras_gen.zoo.registry import zoo_dirs
