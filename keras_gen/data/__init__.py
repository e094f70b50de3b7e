"""Data sets for keras-gen: images (MNIST, Fashion-MNIST, CIFAR-10) and 2-D toys.

`load` gives batches of one data set and `load_arrays` a whole split as
numpy arrays; `semi_supervised` mixes unlabeled images with a few labeled
ones (label -1 marks the unlabeled).

Example:

>>> from keras_gen import data
>>> data.get_info("cifar10")
DatasetInfo(name='cifar10', shape=(32, 32, 3), num_classes=10, kind='image')
>>> points, labels = next(iter(
...     data.load("gaussian_mixture_8", batch_size=256, with_labels=True, seed=0)))
>>> points.shape, labels.shape
(TensorShape([256, 2]), TensorShape([256]))
"""

from keras_gen.data.catalog import DatasetInfo
from keras_gen.data.catalog import get_info
from keras_gen.data.catalog import list_datasets
from keras_gen.data.loader import DatasetNotFoundError
from keras_gen.data.loader import load
from keras_gen.data.loader import load_arrays
from keras_gen.data.semi_supervised import labeled_subset
from keras_gen.data.semi_supervised import select_labeled
from keras_gen.data.semi_supervised import semi_supervised
from keras_gen.data.transforms import binarize
from keras_gen.data.toy import mixture_centers
from keras_gen.data.toy import mixture_stddev

__all__ = [
    "binarize",
    "DatasetInfo",
    "DatasetNotFoundError",
    "get_info",
    "list_datasets",
    "labeled_subset",
    "load",
    "load_arrays",
    "mixture_centers",
    "mixture_stddev",
    "select_labeled",
    "semi_supervised",
]
