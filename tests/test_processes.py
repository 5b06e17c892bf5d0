"""`celery -A workers worker` and `celery -A workers beat` as real processes: the tick polls due feeds."""

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

from tests.feeds import numbered, rss
from tests.helpers import stories

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _celery(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


@pytest.fixture
def process_env(settings, tmp_path) -> dict[str, str]:
    """The test's settings, on a Redis database of their own so the in-process test worker stays out."""
    (tmp_path / "config").mkdir()
    for name in ("clean.yaml", "tags.yaml", "region.yaml"):
        shutil.copy(ROOT / "config" / name, tmp_path / "config" / name)
    env = dict(os.environ)
    env["FEEDWORKERS_CONFIG_DIR"] = str(tmp_path / "config")
    env["FEEDWORKERS_REDIS_URL"] = settings.redis_url + "?virtual_host=3"
    env["FEEDWORKERS_TICK_SECONDS"] = "1"
    env["FEEDWORKERS_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_beat_and_a_worker_poll_a_due_feed_and_publish_its_stories(settings, feed_server, process_env, tmp_path):
    """Beat brings feeds.yaml into the store, ticks, and the worker polls the due feed and publishes."""
    url = feed_server.serve("/wire.xml", rss(numbered(6)))
    (tmp_path / "config" / "feeds.yaml").write_text(f"feeds:\n  - id: wire-west\n    url: {url}\n    interval: 300\n")
    worker = _celery(
        "worker",
        "-Q",
        "feeds,stories",
        "-c",
        "2",
        "--loglevel",
        "INFO",
        "-n",
        "test@%h",
        env=process_env,
        log=tmp_path / "worker.log",
    )
    beat = _celery(
        "beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule"), env=process_env, log=tmp_path / "beat.log"
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(stories(settings)) < 6:
            time.sleep(0.2)
        published = stories(settings)
        status = subprocess.run(
            [str(Path(sys.executable).with_name("feedworkers")), "status", "--json"],
            env=process_env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    finally:
        beat_exit = _stop(beat)
        worker_exit = _stop(worker)
    assert len(published) == 6, (tmp_path / "worker.log").read_text()[-3000:]
    assert feed_server.hits("/wire.xml") == 1, "one tick, one poll: the feed is not due again for 300 s"
    report = json.loads(status.stdout)
    assert [(w["queues"], w["concurrency"]) for w in report["workers"]] == [(["feeds", "stories"], 2)]
    assert report["feeds"][0] | {"last_poll": None, "next_poll": None} == {
        "feed": "wire-west", "enabled": True, "url": url, "last_poll": None, "last_status": 200,
        "consecutive_errors": 0, "last_error": None, "stories": 6, "next_poll": None,
        "priority": 0, "keyed_by": "guid", "keyed_by_reason": None, "title": None, "origin": "config",
        "interval": 300, "health": "ok", "quiet": False, "stories_24h": 6,
    }  # fmt: skip
    assert (worker_exit, beat_exit) == (0, 0), "SIGTERM is a clean, warm shutdown"
    worker_log = (tmp_path / "worker.log").read_text()
    first = next(line for line in worker_log.splitlines() if '"stage":"publish"' in line)
    assert {"story_id", "feed_id", "stage", "outcome", "duration_ms"} <= json.loads(first).keys()


def test_beat_refuses_to_start_on_invalid_configuration(settings, process_env, tmp_path):
    (tmp_path / "config" / "feeds.yaml").write_text(
        "feeds:\n  - id: wire-west\n    url: https://wire.example/rss\n    interval: 0\n"
    )

    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers", "beat", "-s", str(tmp_path / "beat-schedule")],
        env=process_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode != 0
    assert "feeds.yaml: feed 'wire-west': interval must be ≥ 30 seconds, got 0" in result.stdout + result.stderr


def _bare_env(tmp_path: Path) -> dict[str, str]:
    """No feedworkers setting at all: a new user's environment, with the data dir in `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWORKERS_")}
    return env | {"FEEDWORKERS_DATA_DIR": str(tmp_path / "var"), "FEEDWORKERS_CONFIG_DIR": str(ROOT / "config")}


def test_reading_the_celery_configuration_starts_no_server(tmp_path):
    """Importing the app and its tasks and reading their configuration has no side effects."""
    script = "from workers import app; import workers.tasks as t; app.finalize(); print(app.conf.broker_url, t.process_story.acks_late)"

    result = subprocess.run(
        [sys.executable, "-c", script], env=_bare_env(tmp_path), capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"redis+socket://{tmp_path / 'var' / 'redis' / 'redis.sock'}", "True"]
    assert not (tmp_path / "var").exists()


def test_a_plain_celery_worker_starts_the_embedded_redis_when_none_is_configured(tmp_path):
    from workers.embedded_redis import EmbeddedRedis

    worker = _celery(
        "worker", "-Q", "stories", "-c", "1", "--loglevel", "INFO", env=_bare_env(tmp_path), log=tmp_path / "worker.log"
    )
    embedded = EmbeddedRedis(tmp_path / "var")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "ready." not in (tmp_path / "worker.log").read_text():
            time.sleep(0.2)
        running = embedded.is_running()
    finally:
        exit_code = _stop(worker)
        embedded.stop()
    assert running, (tmp_path / "worker.log").read_text()[-2000:]
    assert exit_code == 0
