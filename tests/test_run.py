"""`feedworkers run` as an operator uses it: stories arrive, `refetch --wait` answers, Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FEEDWORKERS = Path(sys.executable).with_name("feedworkers")

pytestmark = pytest.mark.slow


def _stories(cwd: Path, env: dict[str, str]) -> list[dict]:
    result = subprocess.run(
        [str(FEEDWORKERS), "stories", "--json"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    return json.loads(result.stdout) if result.returncode == 0 else []


def test_run_publishes_answers_a_refetch_and_stops_cleanly_on_ctrl_c(tmp_path):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWORKERS_")} | {"FEEDWORKERS_TICK_SECONDS": "1"}
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen([str(FEEDWORKERS), "run"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(_stories(tmp_path, env)) < 5:
            time.sleep(0.5)
        refetch = subprocess.run(
            [str(FEEDWORKERS), "refetch", "beispiel-agentur", "--force", "--wait", "--timeout", "60"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        redis_pid = int((tmp_path / "var" / "redis" / "redis.pid").read_text())
    finally:
        run.send_signal(signal.SIGINT)
        exit_code = run.wait(60)
    assert len(_stories(tmp_path, env)) == 5, (tmp_path / "run.log").read_text()[-2000:]
    assert refetch.returncode == 0, refetch.stderr
    total = next(line for line in refetch.stdout.splitlines() if "total" in line)
    # new, updated, duplicates, skipped, errors
    assert [cell.strip() for cell in total.split("│")[3:8]] == ["0", "0", "0", "5", "0"], (
        "forced: 5 re-processed, all skipped"
    )
    assert exit_code == 0
    assert not Path(f"/proc/{redis_pid}").exists() or "Z" in Path(f"/proc/{redis_pid}/stat").read_text().split()[2]
    assert _processes_in(tmp_path) == [], "no worker, beat or Redis outlives `run`"


def _processes_in(folder: Path) -> list[str]:
    """Command lines of live processes whose working directory is `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cwd").resolve() == folder.resolve():
                stat = (proc / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found
