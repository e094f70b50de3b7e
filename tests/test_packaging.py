"""`pip install .` ships the zoo: a wheel built offline holds every entry and loads it."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What a fresh clone does not have (build outputs, local runs, caches).
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", ".ci-out", "runs", "build", "dist", "*.egg-info",
    "__pycache__", ".pytest_cache",
)


def _shipped_entries():
    """{entry name: files it must ship}, read from the repository's zoo/."""
    entries = {}
    zoo_dir = os.path.join(ROOT, "zoo")
    for name in sorted(os.listdir(zoo_dir)):
        entry_file = os.path.join(zoo_dir, name, "entry.json")
        if os.path.isfile(entry_file):
            with open(entry_file) as f:
                entries[name] = set(json.load(f)["files"]) | {"entry.json"}
    return entries


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = tmp_path_factory.mktemp("clone") / "keras-gen"
    shutil.copytree(ROOT, source, ignore=_NOT_IN_A_CLONE)
    out = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: offline, with the setuptools of this environment.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )
    (path,) = out.glob("keras_gen-*.whl")
    return path


def test_wheel_ships_every_entry_and_the_classifier(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for entry, files in _shipped_entries().items():
        shipped = {n.split("/")[-1] for n in names
                   if n.startswith(f"keras_gen/pretrained/{entry}/")}
        assert shipped == files, entry
    assert "keras_gen/metrics/weights/mnist_classifier.weights.h5" in names
    # Recipes and stray files stay in the repository.
    assert not [n for n in names if "recipes" in n or n.endswith(".h5")
                and "metrics/weights" not in n]


def test_installed_wheel_loads_every_entry_offline(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
         "--quiet", "--target", str(site), str(wheel)],
        check=True, capture_output=True, text=True,
    )
    script = textwrap.dedent(f"""
        import json, keras_gen
        assert keras_gen.__file__.startswith({str(site)!r}), keras_gen.__file__
        names = keras_gen.zoo.list_entries()
        for name in names:
            model = keras_gen.zoo.load(name)
            labels = 3 if model.is_conditional else None
            assert model.generate(2, seed=0, labels=labels).shape[0] == 2
        print(json.dumps(names))
    """)
    # Run from an empty directory, so nothing resolves to the repository.
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("KERAS_GEN_ZOO_PATH", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == sorted(_shipped_entries())
