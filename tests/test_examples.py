"""The examples run end to end and show what they claim (slow)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_wgan_gp_covers_the_8_gaussians(tmp_path):
    script = os.path.join(ROOT, "examples", "gan_vs_wgan_gp_8gaussians.py")
    subprocess.run(
        [sys.executable, script, "--models", "wgan_gp", "--epochs", "4",
         "--out", str(tmp_path)],
        check=True, timeout=1200,
    )
    with open(tmp_path / "mode_coverage.json") as f:
        report = json.load(f)["wgan_gp"]
    assert report["covered_modes"] >= 7, report
    assert (tmp_path / "wgan_gp.png").stat().st_size > 0
