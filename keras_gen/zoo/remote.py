"""Remote zoo entries: fetched into a local cache and checked before use.

An entry URI names an entry directory: `https://host/zoo/dcgan_mnist`,
`gs://bucket/zoo/dcgan_mnist` or `file:///srv/zoo/dcgan_mnist`. Its
`entry.json` is read first; then every file it lists is downloaded to a
temporary name in the cache, its sha256 compared with the one in
`entry.json`, and only a matching file is renamed into place. Append
`#sha256=<hex>` to pin the `entry.json` itself.
"""

import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
import warnings

from keras_gen.zoo.entry import ENTRY_FILE
from keras_gen.zoo.entry import Entry
from keras_gen.zoo.entry import IntegrityError
from keras_gen.zoo.entry import sha256_of

CACHE_DIR_ENV_VAR = "KERAS_GEN_CACHE_DIR"
SCHEMES = ("http", "https", "gs", "file")
_CHUNK = 1 << 20


def is_remote(name_or_path):
    scheme = urllib.parse.urlsplit(str(name_or_path)).scheme
    return scheme in SCHEMES


def default_cache_dir():
    return os.environ.get(
        CACHE_DIR_ENV_VAR, os.path.join(os.path.expanduser("~"), ".cache", "keras_gen")
    )


def _open(uri):
    """A readable binary stream for an http(s), gs or file URI."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return urllib.request.urlopen(uri, timeout=60)
    import tensorflow as tf

    path = parts.path if parts.scheme == "file" else uri
    return tf.io.gfile.GFile(path, "rb")


def _download(uri, destination):
    """Streams `uri` to `destination`; returns the sha256 of the bytes."""
    digest = hashlib.sha256()
    try:
        with _open(uri) as source, open(destination, "wb") as target:
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                digest.update(chunk)
                target.write(chunk)
    except OSError as error:
        raise OSError(f"Could not fetch {uri}: {error}") from None
    return digest.hexdigest()


def _fetch_verified(uri, destination, expected_sha256):
    """Downloads to a temporary file, renames it to `destination` if it matches."""
    directory = os.path.dirname(destination)
    handle, temporary = tempfile.mkstemp(prefix=".download.", dir=directory)
    os.close(handle)
    try:
        actual = _download(uri, temporary)
        if expected_sha256 is not None and actual != expected_sha256:
            raise IntegrityError(
                f"{uri} does not match its sha256 (expected "
                f"{expected_sha256[:12]}..., received {actual[:12]}...): it "
                "was not used."
            )
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def fetch_entry(uri, cache_dir=None):
    """Fetches a remote entry into the cache; returns its local directory.

    Files already in the cache with the right sha256 are not downloaded
    again.
    """
    base, _, fragment = uri.partition("#")
    pinned = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
    base = base.rstrip("/")
    name = os.path.basename(urllib.parse.urlsplit(base).path) or "entry"
    key = hashlib.sha256(base.encode()).hexdigest()[:16]
    directory = os.path.join(cache_dir or default_cache_dir(), f"{name}-{key}")
    os.makedirs(directory, exist_ok=True)
    staged_entry = os.path.join(directory, ENTRY_FILE + ".new")
    cached_entry = os.path.join(directory, ENTRY_FILE)
    try:
        _fetch_verified(f"{base}/{ENTRY_FILE}", staged_entry, pinned)
    except OSError as error:
        if not os.path.isfile(cached_entry):
            raise
        # Offline: the cached copy is used (and verified by the caller).
        warnings.warn(f"{error}; using the cached copy in {directory}.")
        return directory
    with open(staged_entry, encoding="utf-8") as f:
        entry = Entry.from_json(f.read(), source=f"{base}/{ENTRY_FILE}")
    for file_name, expected in entry.files.items():
        local = os.path.join(directory, file_name)
        if os.path.isfile(local) and sha256_of(local) == expected:
            continue
        _fetch_verified(f"{base}/{file_name}", local, expected)
    os.replace(staged_entry, cached_entry)
    return directory
