"""SavedModel export for TF Serving: stable named signatures, versioned folders.

Layout written under `base_dir` (the folder the serving container mounts at
`/models`):

    base_dir/
        models.config          # TF Serving model config, every model below
        dcgan_mnist/
            1/                 # one SavedModel per integer version
            2/
        vae_mnist/
            1/

Signatures (`[batch]` is free; `label`, int32 `[batch]`, only for the
conditional models `ConditionalGAN`, `CVAE` and a `PixelCNN` with
`num_classes`):

    GAN family (AdversarialModel subclasses):
      serving_default  latent float32 [batch, latent_dim] (+ label)
                       -> images float32 [batch, *data_shape]
      sample           num_samples int32 [], seed int32 []
                       (+ label int32 [1] or [num_samples]) -> images
    SemiSupervisedGAN, also:
      classify         images float32 [batch, *image_shape]
                       -> probabilities float32 [batch, num_label_classes]
    Autoencoder, VAE, CVAE:
      serving_default  latent (+ label) -> images
      encode           images float32 [batch, *image_shape] (+ label)
                       -> mean, stddev float32 [batch, latent_dim]
      sample           num_samples, seed (+ label) -> images
    PixelCNN:
      serving_default  images float32 [batch, *image_shape] (+ label)
                       -> log_likelihood float32 [batch]
      sample           num_samples, seed (+ label) -> images
    RealNVP:
      serving_default  images float32 [batch, *image_shape]
                       -> log_likelihood, bits_per_dim float32 [batch]
      sample           num_samples, seed -> images

- `serving_default` maps given latent vectors to data: `model.generator(...,
  training=False)` for the GAN family (batch norm uses its moving
  statistics), `model.decode(latent, labels)` for the autoencoder family
  (the model's own mapping of decoder outputs to images in [-1, 1]).
- `sample` draws latent = `tf.random.stateless_normal([num_samples,
  latent_dim], seed=[seed, 0])` in the graph, the noise
  `model.generate(num_samples, seed=seed)` draws for a `seed` in
  [0, 2**31), so the served samples equal the Python ones. For a
  conditional model, `label` holds one class (every sample of that class,
  like `generate(n, labels=7)`) or one class per sample; any other length
  fails with an `INVALID_ARGUMENT` error. A GAN with Jacobian-based
  truncation (`set_jacobian_truncation`) runs its rejection loop
  (`truncated_latent`) in the graph instead, so `sample` still equals
  `generate`; `serving_default` decodes the latents it is given, untruncated.
  A GAN with discriminator optimal transport
  (`set_discriminator_transport`) moves the drawn latents by the same Adam
  steps in the graph before decoding (so the export holds its critic), and
  `serving_default` decodes the given latents untransported. The plain `Autoencoder` has no
  prior: it decodes `code_mean + sqrt(code_variance) * z`, the Gaussian fit
  of its training codes (as `generate` does).
- A PixelCNN has no latent space: its `serving_default` scores binary
  images (pixels -1 or 1), the exact log p(x) (log p(x | y) if
  conditional) in nats, as `model.log_likelihood`; other pixel values fail
  with an `INVALID_ARGUMENT` error. Its `sample` draws the same
  `[num_samples, latent_dim]` normals (one per pixel) and runs the model's
  pixel-by-pixel sampling loop in the graph, so it equals
  `model.generate(num_samples, seed=seed)` too.
- A RealNVP's `serving_default` scores 8-bit images given in [-1, 1], as
  `model.log_likelihood(images)` does: log p(v) in nats of one
  dequantization v = k + u of each image, u ~ U[0, 1) drawn with the fixed
  seed 0 for the request's batch (a request gives the values
  `log_likelihood` gives for the same array), and the bits per dimension
  -log p(v) / (D ln 2); values outside [-1, 1] (or NaN) fail with an
  `INVALID_ARGUMENT` error. Its `sample` inverts the flow on the normals
  `generate` draws, so it equals `model.generate(num_samples, seed=seed)`.
- `encode` returns the posterior q(z|x) of a VAE (`mean()` and `stddev()`
  of `model.encode(images, labels)`); a plain `Autoencoder` is
  deterministic, so `mean` is its code and `stddev` is zeros: one contract
  for the whole family.
- Labels outside [0, num_classes) and `num_samples` < 1 fail with an
  `INVALID_ARGUMENT` error that says so. `num_samples` has no upper bound:
  a public server should cap it in front of TF Serving.
- Every image model returns images in [-1, 1]; a GAN on flat data (e.g.
  `WGANGP(image_shape=(2,))`) still names its output `images`, in the
  generator's own range.
- `classify` is `model.classify(images)`: the softmax of the
  discriminator's K class logits (`training=False`: no noise), p(y | x)
  for a real image x.

The export holds only the graph and the variables the signatures use (no
optimizer or Python code, and no discriminator except the semi-supervised
GAN's, which `classify` uses, and the critic of a GAN with discriminator
optimal transport, which `sample` uses; the TFP distributions are traced into plain
TensorFlow ops): serving needs TensorFlow (or the TF Serving binary), never
keras-gen or TensorFlow Probability.
"""

import numbers
import os
import re
import shutil
import tempfile

import keras
import tensorflow as tf

from keras_gen.models.adversarial_model import AdversarialModel
from keras_gen.models.autoencoder import Autoencoder
from keras_gen.models.pixelcnn import PixelCNN
from keras_gen.models.real_nvp import EVALUATION_SEED
from keras_gen.models.real_nvp import RealNVP
from keras_gen.models.real_nvp import dequantization_noise
from keras_gen.models.semi_supervised_gan import SemiSupervisedGAN
from keras_gen.models.vae import VAE
from keras_gen.utils import files

MODEL_CONFIG_FILENAME = "models.config"
_NAME_PATTERN = re.compile(r"[a-z0-9_]+")
_VERSION_PATTERN = re.compile(r"[0-9]+")
_MAX_VERSION = 2**63 - 1  # TF Serving parses versions as int64.


def export_model(model, base_dir, name, version=None, serving_base_path="/models"):
    """Exports `model` as a TF Serving SavedModel in `base_dir/<name>/<version>/`.

    The SavedModel is written to a temporary folder inside `base_dir/<name>/`
    and renamed to its version folder (`os.replace`), so TF Serving, which
    polls the folder, never loads half an export. Then
    `base_dir/models.config` is rewritten (`write_model_config`) to list
    every model in `base_dir`. The signatures are listed in this module's
    docstring; check them with `saved_model_cli show --dir <path> --all`.

    Args:
        model: a `keras_gen.models.AdversarialModel` subclass (`GAN`,
            `DCGAN`, `WGAN`, `WGANGP`, `ConditionalGAN`), an
            `Autoencoder`, `VAE` or `CVAE`, a `PixelCNN` or a `RealNVP`.
        base_dir: str or path, the model base folder TF Serving serves (the
            container mounts it at `serving_base_path`).
        name: str, the served model name, lowercase letters, digits and
            underscores (`[a-z0-9_]+`, e.g. `"dcgan_mnist"`); it is the
            folder name and the name in request URLs.
        version: positive int, or None (default) for one more than the
            largest existing integer version folder (1 for a new model).
            An existing version is never overwritten.
        serving_base_path: str, where the serving container sees
            `base_dir`; `models.config` points each model at
            `<serving_base_path>/<name>`. Defaults to `"/models"`, the
            mount point of the official `tensorflow/serving` image.

    Returns:
        str, the path of the new SavedModel folder, `base_dir/<name>/<version>`.

    Raises:
        TypeError: if `model` is not a keras-gen GAN, autoencoder,
            PixelCNN or RealNVP model.
        ValueError: if `name` or `version` is invalid, or the version exists.

    Example:

    ```python
    gan = keras_gen.models.DCGAN(image_shape=(28, 28, 1))
    gan.compile()
    gan.fit(keras_gen.data.load("mnist", batch_size=128), epochs=5)
    keras_gen.serving.export_model(gan, "serving", "dcgan_mnist")
    # -> "serving/dcgan_mnist/1"; again -> "serving/dcgan_mnist/2"
    reloaded = tf.saved_model.load("serving/dcgan_mnist/1")
    images = reloaded.signatures["sample"](
        num_samples=tf.constant(16), seed=tf.constant(0)
    )["images"]
    ```
    """
    _check_name(name)
    _check_model(model)
    _check_serving_base_path(serving_base_path)
    if version is not None:
        version = _checked_version(version)
    base_dir = os.fspath(base_dir)
    model_dir = os.path.join(base_dir, name)
    os.makedirs(model_dir, exist_ok=True)
    existing = model_versions(model_dir)
    if version is None:
        version = max(existing, default=0) + 1
    elif version in existing:
        raise _version_exists_error(name, version, existing)
    path = os.path.join(model_dir, str(version))

    archive = keras.export.ExportArchive()
    for endpoint, fn, signature in _endpoints(model):
        archive.add_endpoint(endpoint, fn, input_signature=signature)
    temporary = tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=model_dir)
    try:
        # The weights written are those `generate` samples with (e.g. a GAN
        # generator's moving average).
        with model.sampling_weights():
            archive.write_out(temporary, verbose=False)
        # `mkdtemp` makes a private (0700) folder; the server may run as
        # another user.
        os.chmod(temporary, 0o755)
        # Checked again: another process may have exported this version
        # meanwhile (`os.replace` would silently replace an empty folder).
        if os.path.lexists(path):
            raise _version_exists_error(name, version, model_versions(model_dir))
        try:
            os.replace(temporary, path)
        except OSError as error:
            if os.path.lexists(path):  # Created by another process in between.
                raise _version_exists_error(
                    name, version, model_versions(model_dir)
                ) from error
            raise
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    write_model_config(base_dir, serving_base_path)
    return path


def model_versions(model_dir):
    """The integer versions in a model folder, as a sorted list of ints.

    Args:
        model_dir: str or path, a folder such as `base_dir/dcgan_mnist`.

    Returns:
        sorted list of ints: the names of its sub-folders that are integers
        (the versions TF Serving sees); empty if the folder does not exist.

    Example:

    ```python
    keras_gen.serving.model_versions("serving/dcgan_mnist")  # [1, 2]
    ```
    """
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(entry)
        for entry in os.listdir(model_dir)
        if _VERSION_PATTERN.fullmatch(entry)
        and os.path.isdir(os.path.join(model_dir, entry))
    )


def write_model_config(base_dir, serving_base_path="/models"):
    """(Re)writes `base_dir/models.config` listing every model in `base_dir`.

    A model is a folder of `base_dir` (not hidden) with at least one integer
    version folder. The file is a TF Serving `ModelServerConfig` in text
    protobuf format, written atomically; pass it to the server with
    `--model_config_file`. Each `base_path` is `<serving_base_path>/<name>`:
    the default assumes the container mounts `base_dir` at `/models`. TF
    Serving's default version policy serves the latest version of each
    model.

    Args:
        base_dir: str or path, the folder holding the model folders.
        serving_base_path: str, where the server sees `base_dir` (a
            container path such as `"/models"`, or a `gs://`/`s3://` URI).

    Returns:
        str, the path of the config file.

    Example:

    ```python
    keras_gen.serving.write_model_config("serving")
    # model_config_list {
    #   config {
    #     name: "dcgan_mnist"
    #     base_path: "/models/dcgan_mnist"
    #     model_platform: "tensorflow"
    #   }
    # }
    ```
    """
    _check_serving_base_path(serving_base_path)
    base_dir = os.fspath(base_dir)
    names = sorted(
        entry
        for entry in os.listdir(base_dir)
        if not entry.startswith(".")
        and os.path.isdir(os.path.join(base_dir, entry))
        and model_versions(os.path.join(base_dir, entry))
    )
    root = serving_base_path.rstrip("/")
    configs = "".join(
        "  config {\n"
        f"    name: {_quote(name)}\n"
        f"    base_path: {_quote(f'{root}/{name}')}\n"
        '    model_platform: "tensorflow"\n'
        "  }\n"
        for name in names
    )
    path = os.path.join(base_dir, MODEL_CONFIG_FILENAME)
    files.atomic_write_bytes(path, f"model_config_list {{\n{configs}}}\n".encode())
    return path


# ----------------------------------------------------------------------
# Validation.
# ----------------------------------------------------------------------


def _check_name(name):
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            "name must be a simple model name of lowercase letters, digits "
            f"and underscores ([a-z0-9_]+), e.g. 'dcgan_mnist'; received "
            f"{name!r}. It becomes a folder name and part of the request URL."
        )


def _checked_version(version):
    if (
        not isinstance(version, numbers.Integral)
        or isinstance(version, bool)
        or not 0 < version <= _MAX_VERSION
    ):
        raise ValueError(
            "version must be a positive int (TF Serving's integer version "
            f"folders), or None for the next free version; received {version!r}."
        )
    return int(version)


def _check_serving_base_path(serving_base_path):
    if not isinstance(serving_base_path, str) or not serving_base_path:
        raise ValueError(
            "serving_base_path must be the folder (or URI) where the server "
            f"sees base_dir, e.g. '/models'; received {serving_base_path!r}."
        )


def _version_exists_error(name, version, existing):
    return ValueError(
        f"Version {version} of model {name!r} already exists (versions: "
        f"{existing}); exported versions are never overwritten. Pass "
        "version=None for the next free version, or delete the folder first."
    )


def _check_model(model):
    if not isinstance(model, (AdversarialModel, Autoencoder, PixelCNN, RealNVP)):
        raise TypeError(
            "export_model() exports keras-gen models of the GAN family "
            "(AdversarialModel subclasses: GAN, DCGAN, WGAN, WGANGP, "
            "ConditionalGAN), the autoencoder family (Autoencoder, VAE, "
            f"CVAE), PixelCNN or RealNVP; received {type(model).__name__}."
        )


def _quote(text):
    """`text` as a text-protobuf string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# ----------------------------------------------------------------------
# Signatures.
# ----------------------------------------------------------------------


def _endpoints(model):
    """`(name, fn, input_signature)` of each signature, `serving_default` first.

    Each `fn` takes named tensors (the argument names and `TensorSpec` names
    are the signature's input names) and returns a dict of float32 tensors
    (the output names). Conditional and unconditional models get separate
    functions because a signature's inputs are its arguments.
    """
    if isinstance(model, PixelCNN):
        return _pixelcnn_endpoints(model)
    if isinstance(model, RealNVP):
        return _real_nvp_endpoints(model)
    latent_dim = model.latent_dim
    num_classes = model.num_classes
    latent_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="latent")
    label_spec = tf.TensorSpec([None], tf.int32, name="label")
    num_samples_spec = tf.TensorSpec([], tf.int32, name="num_samples")
    seed_spec = tf.TensorSpec([], tf.int32, name="seed")
    decode = _data_from_latent(model)
    prior_to_latent = _prior_to_latent(model)

    def draw_latent(num_samples, seed):
        num_samples = _checked_num_samples(num_samples)
        if getattr(model, "truncation_keep", None) is not None:
            # Jacobian-based truncation, as `generate` draws it.
            latent = model.truncated_latent(num_samples, seed)
        else:
            latent = prior_to_latent(tf.random.stateless_normal(
                tf.stack([num_samples, latent_dim]), seed=tf.stack([seed, 0])
            ))
        if getattr(model, "transport_steps", None) is not None:
            # Discriminator optimal transport, as `generate` moves them.
            latent = model.transported_latent(latent)
        return latent

    if model.is_conditional:

        def serving_default(latent, label):
            return {"images": decode(latent, _checked_labels(label, num_classes))}

        def sample(num_samples, seed, label):
            latent = draw_latent(num_samples, seed)
            labels = _labels_per_sample(
                _checked_labels(label, num_classes), tf.shape(latent)[0]
            )
            return {"images": decode(latent, labels)}

        endpoints = [
            ("serving_default", serving_default, [latent_spec, label_spec]),
            ("sample", sample, [num_samples_spec, seed_spec, label_spec]),
        ]
    else:

        def serving_default(latent):
            return {"images": decode(latent, None)}

        def sample(num_samples, seed):
            return {"images": decode(draw_latent(num_samples, seed), None)}

        endpoints = [
            ("serving_default", serving_default, [latent_spec]),
            ("sample", sample, [num_samples_spec, seed_spec]),
        ]

    if isinstance(model, Autoencoder):
        images_spec = tf.TensorSpec(
            [None, *model.image_shape], tf.float32, name="images"
        )
        posterior = _posterior(model)
        if model.is_conditional:

            def encode(images, label):
                return posterior(images, _checked_labels(label, num_classes))

            endpoints.append(("encode", encode, [images_spec, label_spec]))
        else:

            def encode(images):
                return posterior(images, None)

            endpoints.append(("encode", encode, [images_spec]))
    if isinstance(model, SemiSupervisedGAN):
        images_spec = tf.TensorSpec(
            [None, *model.image_shape], tf.float32, name="images"
        )

        def classify(images):
            logits = model.class_logits(images, training=False)
            return {"probabilities": tf.nn.softmax(tf.cast(logits, tf.float32))}

        endpoints.append(("classify", classify, [images_spec]))
    return endpoints


def _pixelcnn_endpoints(model):
    """`serving_default` (exact log p(x) of images) and `sample`."""
    num_classes = model.num_classes
    images_spec = tf.TensorSpec([None, *model.image_shape], tf.float32, name="images")
    label_spec = tf.TensorSpec([None], tf.int32, name="label")
    num_samples_spec = tf.TensorSpec([], tf.int32, name="num_samples")
    seed_spec = tf.TensorSpec([], tf.int32, name="seed")

    def log_likelihood(images, labels):
        return {
            "log_likelihood": tf.cast(
                model.log_prob(_checked_binary_images(images), labels),
                tf.float32,
            )
        }

    def draw(num_samples, seed, labels):
        noise = tf.random.stateless_normal(
            tf.stack([_checked_num_samples(num_samples), model.latent_dim]),
            seed=tf.stack([seed, 0]),
        )
        if labels is not None:
            labels = _labels_per_sample(labels, tf.shape(noise)[0])
        return {"images": model.sample_from_noise(noise, labels)}

    if model.is_conditional:

        def serving_default(images, label):
            return log_likelihood(images, _checked_labels(label, num_classes))

        def sample(num_samples, seed, label):
            return draw(num_samples, seed, _checked_labels(label, num_classes))

        return [
            ("serving_default", serving_default, [images_spec, label_spec]),
            ("sample", sample, [num_samples_spec, seed_spec, label_spec]),
        ]

    def serving_default(images):
        return log_likelihood(images, None)

    def sample(num_samples, seed):
        return draw(num_samples, seed, None)

    return [
        ("serving_default", serving_default, [images_spec]),
        ("sample", sample, [num_samples_spec, seed_spec]),
    ]


def _checked_binary_images(images):
    """`images` after an in-graph check that every pixel is -1 or 1."""
    check = tf.debugging.Assert(
        tf.reduce_all(tf.equal(tf.abs(images), 1.0)),
        ["images must be binary: every pixel -1 or 1 (binarize them first)"],
    )
    with tf.control_dependencies([check]):
        return tf.identity(images)


def _real_nvp_endpoints(model):
    """`serving_default` (log p of dequantized 8-bit images) and `sample`."""
    images_spec = tf.TensorSpec([None, *model.image_shape], tf.float32, name="images")
    num_samples_spec = tf.TensorSpec([], tf.int32, name="num_samples")
    seed_spec = tf.TensorSpec([], tf.int32, name="seed")

    def serving_default(images):
        images = _checked_image_range(images)
        noise = dequantization_noise(
            tf.shape(images), EVALUATION_SEED, model.dequantization
        )
        log_likelihood = tf.cast(model.log_prob(images, noise), tf.float32)
        return {
            "log_likelihood": log_likelihood,
            "bits_per_dim": model.nats_to_bits_per_dim(-log_likelihood),
        }

    def sample(num_samples, seed):
        latent = tf.random.stateless_normal(
            tf.stack([_checked_num_samples(num_samples), model.latent_dim]),
            seed=tf.stack([seed, 0]),
        )
        return {"images": tf.cast(model.decode(latent), tf.float32)}

    return [
        ("serving_default", serving_default, [images_spec]),
        ("sample", sample, [num_samples_spec, seed_spec]),
    ]


def _checked_image_range(images):
    """`images` after an in-graph check that every value is in [-1, 1]."""
    check = tf.debugging.Assert(
        # NaN fails the comparison, so it is refused too.
        tf.reduce_all(tf.abs(images) <= 1.0 + 1e-3),
        ["images must be in [-1, 1] (8-bit images scaled by x / 127.5 - 1)"],
    )
    with tf.control_dependencies([check]):
        return tf.identity(images)


def _data_from_latent(model):
    """`fn(latent, labels or None)` -> float32 data, the model's own mapping."""
    if isinstance(model, AdversarialModel):

        def decode(latent, labels):
            inputs = latent if labels is None else [latent, labels]
            return tf.cast(model.generator(inputs, training=False), tf.float32)

    else:

        def decode(latent, labels):
            return tf.cast(model.decode(latent, labels), tf.float32)

    return decode


def _prior_to_latent(model):
    """Maps z ~ N(0, I) to the latent vectors the model samples from.

    The model's own `latent_from_noise`, the map `generate` uses: the
    identity for an N(0, I) prior, the Gaussian fit of the training codes
    for the plain `Autoencoder`, the categorical and uniform codes of
    `InfoGAN`.
    """
    return lambda noise: tf.cast(model.latent_from_noise(noise), tf.float32)


def _posterior(model):
    """`fn(images, labels or None)` -> {"mean", "stddev"} of q(z|x)."""
    if isinstance(model, VAE):

        def posterior(images, labels):
            distribution = model.encode(images, labels)
            return {
                "mean": tf.cast(distribution.mean(), tf.float32),
                "stddev": tf.cast(distribution.stddev(), tf.float32),
            }

    else:

        def posterior(images, labels):
            code = tf.cast(model.encode(images, labels), tf.float32)
            return {"mean": code, "stddev": tf.zeros_like(code)}

    return posterior


def _checked_labels(label, num_classes):
    """`label` after an in-graph check that it is in [0, num_classes)."""
    checks = [
        tf.debugging.assert_non_negative(
            label, message="label must be a class index >= 0"
        ),
        tf.debugging.assert_less(
            label,
            tf.constant(num_classes, tf.int32),
            message=f"label must be a class index < num_classes={num_classes}",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(label)


def _checked_num_samples(num_samples):
    check = tf.debugging.assert_positive(
        num_samples, message="num_samples must be a positive int"
    )
    with tf.control_dependencies([check]):
        return tf.identity(num_samples)


def _labels_per_sample(labels, num_samples):
    """One label per sample: a single label is repeated `num_samples` times."""
    size = tf.size(labels)
    check = tf.debugging.Assert(
        tf.logical_or(tf.equal(size, 1), tf.equal(size, num_samples)),
        [
            "sample: label must hold 1 class (for every sample) or "
            "num_samples classes; num_samples and the number of labels were",
            num_samples,
            size,
        ],
    )
    with tf.control_dependencies([check]):
        return tf.broadcast_to(labels, tf.reshape(num_samples, [1]))
