"""Atomic file writes: write to a temporary file beside the target, then rename.

A crash mid-write leaves either the old file or the new one, never half of
one: `os.replace` is atomic on POSIX and Windows within one file system.
"""

import contextlib
import os
import tempfile


def umasked(mode):
    """`mode` with the process's umask applied: what `open` would give.

    `tempfile` makes private files (0600) and folders (0700); a file renamed
    into place gets the permissions any other new file would.
    """
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path beside `path`; renames it to `path` on success.

    Args:
        path: the final file name.
        suffix: suffix of the temporary name, for writers that insist on an
            extension (Keras requires `.keras`).
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=f".tmp{suffix}", dir=directory
    )
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, umasked(0o666))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def atomic_write_bytes(path, data):
    """Writes `data` (bytes) to `path` atomically."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(data)


def save_model_atomically(model, path):
    """`model.save(path)` for a `.keras` path, atomically."""
    if not str(path).endswith(".keras"):
        raise ValueError(f"Expected a path ending in '.keras', received {path!r}.")
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)
