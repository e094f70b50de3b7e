"""A zoo entry's metadata (`entry.json`) and the integrity of its files."""

import dataclasses
import hashlib
import json
import re

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
ENTRY_FILE = "entry.json"
MODEL_FILE = "model.keras"
CARD_FILE = "card.md"
SAMPLES_FILE = "samples.png"
FORMAT_VERSION = 1


class IntegrityError(ValueError):
    """A zoo file is missing or does not match the sha256 in `entry.json`."""


def check_name(name):
    """Raises ValueError unless `name` is a plain entry name.

    Names are lowercase letters, digits and underscores: they cannot hold a
    path separator or `..`, so a name never leads outside the zoo folder.
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(
            f"Invalid zoo entry name {name!r}: use lowercase letters, digits "
            "and underscores (e.g. 'dcgan_mnist')."
        )
    return name


def sha256_of(path, chunk_size=1 << 20):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclasses.dataclass
class Entry:
    """The metadata of a zoo entry, as stored in its `entry.json`.

    Args:
        name: str, the readable name (`dcgan_mnist`).
        version: int, the entry's version, also its TF Serving version folder.
        model_class: str, the keras-gen class (`DCGAN`).
        dataset: str, the training data set.
        image_shape: list of int, the shape of one sample.
        latent_dim: int, the latent size.
        num_classes: int or None, classes of a conditional model.
        parameters: int, number of weights.
        license: str, the license of the weights.
        paper: str, the reference of the model.
        metrics: dict, measured quality (e.g. `fid`, `classifier_score`).
        files: dict, file name -> sha256 of every file of the entry (but
            `entry.json` itself).
        description: str, one line on what the entry generates.
        notes: str, markdown appended to the generated model card (how to
            reproduce the entry, reference scores, known limits).
        optimizer_state: bool, whether `model.keras` holds the optimizers'
            state (moments, step counts) or fresh optimizers (a smaller
            file; fine-tuning restarts Adam's moments).
        keras_gen_version: str, the version that saved it.
        keras_version: str, the Keras version that saved it.
        format_version: int, the version of this metadata format.
    """

    name: str
    version: int
    model_class: str
    dataset: str
    image_shape: list
    latent_dim: int
    num_classes: int | None = None
    parameters: int = 0
    license: str = "Apache-2.0"
    paper: str = ""
    metrics: dict = dataclasses.field(default_factory=dict)
    files: dict = dataclasses.field(default_factory=dict)
    description: str = ""
    notes: str = ""
    optimizer_state: bool = True
    weights_dtype: str = "float32"
    keras_gen_version: str = ""
    keras_version: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self):
        check_name(self.name)
        if not isinstance(self.version, int) or self.version < 1:
            raise ValueError(
                f"Entry version must be a positive int, received {self.version!r}."
            )
        for file_name in self.files:
            if "/" in file_name or "\\" in file_name or file_name.startswith("."):
                raise ValueError(f"Invalid file name in entry: {file_name!r}.")

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text, source="entry.json"):
        """Parses `entry.json` text; a clear ValueError if it is not valid."""
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source} is not valid JSON: {error}") from None
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(fields, dict) or not {"name", "version"} <= set(fields):
            raise ValueError(f"{source} is not a keras-gen zoo entry.")
        try:
            return cls(**{k: v for k, v in fields.items() if k in known})
        except TypeError as error:
            raise ValueError(f"{source} is missing fields: {error}") from None
