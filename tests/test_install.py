"""`make run` on a fresh machine: the project installed WITHOUT the dev extras runs the bundled config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_the_runtime_install_alone_runs_the_bundled_config(tmp_path):
    """Every import the pipeline needs is a declared dependency (not one that only the test tools bring)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-e", str(ROOT)],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "config", work / "config")
    shutil.copytree(ROOT / "examples", work / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWORKERS_")}

    result = subprocess.run(
        [str(venv / "bin" / "feedworkers"), "run", "--once", "--timeout", "120"],
        cwd=work, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assert "beispiel-agentur" in result.stdout
    assert "No module named" not in result.stdout + result.stderr
    total = next(line for line in result.stdout.splitlines() if "total" in line)
    assert total.split("│")[3].strip() == "5", result.stdout
