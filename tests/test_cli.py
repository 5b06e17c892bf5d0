"""The `feedworkers` console script, run as a new user runs it: a fresh folder, no FEEDWORKERS_* settings."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import STORY_FIELDS
from workers.embedded_redis import EmbeddedRedis
from workers.feeds_config import load_feeds
from workers.store.migrate import head_revision

ROOT = Path(__file__).resolve().parent.parent
FEEDWORKERS = Path(sys.executable).with_name("feedworkers")
RUN_TIMEOUT = 120.0
FEED = "beispiel-agentur"
FIELDS = STORY_FIELDS


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class RunOnce:
    """`feedworkers run --once`, and the pid of the embedded Redis seen while it ran."""

    result: Result
    redis_pid: int | None
    redis_alive_after: bool
    socket_left_after: bool


def _environment() -> dict[str, str]:
    """The test process's environment without any feedworkers setting, so the CLI uses its defaults."""
    return {key: value for key, value in os.environ.items() if not key.startswith("FEEDWORKERS_")}


def _new_workdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "config", path / "config")
    shutil.copytree(ROOT / "examples", path / "examples")
    return path


def _redis_pidfile(cwd: Path) -> Path:
    return cwd / "var" / "redis" / "redis.pid"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _stop_embedded_redis(cwd: Path) -> None:
    """Stop an embedded Redis a command left running in `cwd` (finalizer; never fails the test)."""
    try:
        pid = int(_redis_pidfile(cwd).read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def feedworkers(cwd: Path, *args: str, timeout: float = 60.0) -> Result:
    """Run the console script in `cwd` and return its exit code and output."""
    completed = subprocess.run(
        [str(FEEDWORKERS), *args],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def run_once(cwd: Path, name: str) -> RunOnce:
    """`feedworkers run --once` in `cwd`, watching for the embedded Redis it starts; output goes to files
    because the worker processes inherit it."""
    stdout_path, stderr_path = cwd / f"{name}.stdout", cwd / f"{name}.stderr"
    pidfile = _redis_pidfile(cwd)
    redis_pid = None
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(FEEDWORKERS), "run", "--once"], cwd=cwd, env=_environment(), stdout=stdout, stderr=stderr
        )
        deadline = time.monotonic() + RUN_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if redis_pid is None and pidfile.exists():
                try:
                    redis_pid = int(pidfile.read_text().strip())
                except ValueError:
                    pass  # being written
            time.sleep(0.05)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # the CLI stops its workers and its Redis on SIGINT
            process.wait(60)
            pytest.fail(f"`feedworkers run --once` did not finish within {RUN_TIMEOUT:.0f} s")
    alive_after = redis_pid is not None and _alive(redis_pid)
    socket_after = EmbeddedRedis(cwd / "var").socket.exists()
    return RunOnce(
        Result(process.returncode, stdout_path.read_text(), stderr_path.read_text()),
        redis_pid,
        alive_after,
        socket_after,
    )


def summary_row(stdout: str, feed: str) -> dict[str, Any]:
    """The poll summary table's row of `feed`: status, new, updated, duplicates, skipped, errors."""
    match = re.search(
        rf"^\W*{re.escape(feed)}\s*\W\s*(\S.*?)" + r"\s*\W\s*(\d+)" * 5 + r"\s*\W*$",
        stdout,
        re.MULTILINE,
    )
    assert match, f"no summary row for {feed!r} in:\n{stdout}"
    status, *counts = match.groups()
    names = ("new", "updated", "duplicates", "skipped", "errors")
    return {"status": status, **dict(zip(names, map(int, counts), strict=True))}


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A fresh working folder with copies of config/ and examples/, as a new user has after cloning."""
    cwd = _new_workdir(tmp_path / "wd")
    yield cwd
    _stop_embedded_redis(cwd)


@dataclass
class Bundled:
    cwd: Path
    first: RunOnce
    stories: Result
    second: RunOnce
    status: Result


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundled]:
    """One folder where the bundled config ran twice with `run --once`, then `stories --json` and `status --json`."""
    cwd = _new_workdir(tmp_path_factory.mktemp("bundled") / "wd")
    try:
        first = run_once(cwd, "run-1")
        stories = feedworkers(cwd, "stories", "--json", "--limit", "100")
        second = run_once(cwd, "run-2")
        status = feedworkers(cwd, "status", "--json")
        yield Bundled(cwd, first, stories, second, status)
    finally:
        _stop_embedded_redis(cwd)


def _stories(bundled: Bundled) -> list[dict[str, Any]]:
    assert bundled.stories.returncode == 0, bundled.stories.stderr
    return json.loads(bundled.stories.stdout)


# --- run --once on the bundled configuration ---------------------------------------------------


@pytest.mark.slow
def test_first_run_once_exits_0_and_reports_5_new(bundled):
    """`run --once` on the bundled config exits 0 and its summary shows the sample feed with 5 new stories."""
    result = bundled.first.result

    assert result.returncode == 0, result.stderr[-3000:]
    assert "poll summary" in result.stdout
    row = summary_row(result.stdout, FEED)
    assert (row["new"], row["updated"], row["errors"]) == (5, 0, 0)


@pytest.mark.slow
def test_second_run_once_exits_0_and_reports_0_new(bundled):
    """A second `run --once` on the same folder exits 0 and reports no new story."""
    result = bundled.second.result

    assert result.returncode == 0, result.stderr[-3000:]
    row = summary_row(result.stdout, FEED)
    assert (row["new"], row["updated"], row["errors"]) == (0, 0, 0)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["first", "second"])
def test_run_once_stops_the_embedded_redis_it_started(bundled, which):
    """`run --once` without FEEDWORKERS_REDIS_URL starts the embedded Redis under ./var/redis and stops it before exiting."""
    run: RunOnce = getattr(bundled, which)

    assert run.redis_pid is not None, "no embedded Redis pid file appeared under ./var/redis"
    assert not run.redis_alive_after, f"embedded Redis pid {run.redis_pid} still runs after `run --once` exited"
    assert not run.socket_left_after, "the embedded Redis socket is still there after `run --once` exited"


@pytest.mark.slow
def test_stories_json_lists_the_5_sample_stories_with_every_field(bundled):
    """`stories --json` lists the 5 stories of the sample feed, each with every documented field."""
    stories = _stories(bundled)

    assert sorted(story["guid"] for story in stories) == [f"{FEED}-{n}" for n in range(10481, 10486)]
    for story in stories:
        assert FIELDS <= story.keys()
        assert story["feed"] == FEED
        assert story["revision"] == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("guid", "language"),
    [pytest.param(f"{FEED}-{n}", "de", id=str(n)) for n in range(10481, 10485)]
    + [pytest.param(f"{FEED}-10485", "en", id="10485-english")],
)
def test_story_language_is_detected(bundled, guid, language):
    """Each sample story is tagged with the language it is written in."""
    by_guid = {story["guid"]: story for story in _stories(bundled)}

    assert by_guid[guid]["language"] == language


@pytest.mark.slow
def test_every_story_carries_the_configured_attribution(bundled):
    """Every story carries the attribution of config/feeds.yaml, not pasted into its body."""
    (config,) = load_feeds(bundled.cwd / "config" / "feeds.yaml")
    assert config.attribution

    for story in _stories(bundled):
        assert story["attribution"] == config.attribution
        assert config.attribution not in story["body_text"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "furniture",
    ["Pressemitteilung", "Ähnliche Artikel", "Zurück zum Anfang", "Teilen:", "trackView"],
    ids=["press-release", "related-articles", "back-to-top", "share-bar", "tracking-script"],
)
def test_no_story_body_keeps_page_furniture(bundled, furniture):
    """No published body_text keeps the boilerplate the sample feed carries."""
    for story in _stories(bundled):
        assert furniture not in story["body_text"], story["guid"]


@pytest.mark.slow
def test_photo_credit_is_moved_into_credits(bundled):
    """The photo credit of the Mannheim story is in its credits field and no longer in its body."""
    credited = {story["guid"]: story for story in _stories(bundled) if story.get("credits")}

    assert list(credited) == [f"{FEED}-10482"]
    story = credited[f"{FEED}-10482"]
    assert story["credits"] == ["Foto: Stadt Mannheim/Archiv"]
    assert "Foto:" not in story["body_text"]


# --- status --json -----------------------------------------------------------------------------


def _status(bundled: Bundled) -> dict[str, Any]:
    assert bundled.status.returncode == 0, bundled.status.stderr[-3000:]
    return json.loads(bundled.status.stdout)


@pytest.mark.slow
def test_status_json_reports_both_queues_empty(bundled):
    """`status --json` reports the feeds and stories queues, both drained after `run --once`."""
    queues = _status(bundled)["queues"]

    empty = {"waiting": 0, "in_flight": 0, "oldest_age_seconds": None}
    assert queues == {"feeds": empty, "stories": empty}


@pytest.mark.slow
def test_status_json_reports_no_worker_left_behind(bundled):
    """`status --json` lists workers as a list, empty because `run --once` stopped its workers."""
    assert _status(bundled)["workers"] == []


@pytest.mark.slow
def test_status_json_reports_the_feed_state(bundled):
    """`status --json` lists the sample feed with HTTP 200, 5 stories and no errors."""
    (feed,) = _status(bundled)["feeds"]

    assert (feed["feed"], feed["last_status"], feed["stories"], feed["consecutive_errors"]) == (FEED, 200, 5, 0)


# --- refetch ----------------------------------------------------------------------------------

REFETCH_DIRS = [
    pytest.param("after-run", marks=pytest.mark.slow),
    pytest.param("fresh-folder"),
]


@pytest.fixture(params=REFETCH_DIRS)
def refetch_dir(request: pytest.FixtureRequest) -> Path:
    """The folder `refetch` runs in: the one `run --once` used, or a fresh one."""
    if request.param == "after-run":
        return request.getfixturevalue("bundled").cwd
    return request.getfixturevalue("workdir")


def test_refetch_of_an_unknown_feed_exits_1_naming_it(refetch_dir):
    """`refetch nosuchfeed` exits 1 with a message naming the unknown feed."""
    result = feedworkers(refetch_dir, "refetch", "nosuchfeed")

    assert result.returncode == 1
    assert "unknown feed 'nosuchfeed'" in result.stderr


def test_refetch_without_feeds_or_all_is_a_usage_error(refetch_dir):
    """`refetch` with neither a feed nor --all is a usage error (exit 2)."""
    result = feedworkers(refetch_dir, "refetch")

    assert result.returncode == 2
    assert "name one or more feeds, or pass --all" in result.stderr


# --- commands in a fresh folder ---------------------------------------------------------------


@pytest.mark.parametrize("command", [["run", "--once"], ["status"]], ids=["run-once", "status"])
def test_invalid_config_stops_the_command_with_a_one_line_error(workdir, command):
    """With interval 0 in feeds.yaml the command exits 1 printing exactly which file, feed and field are wrong."""
    feeds = workdir / "config" / "feeds.yaml"
    text = feeds.read_text(encoding="utf-8")
    assert "interval: 60" in text
    feeds.write_text(text.replace("interval: 60", "interval: 0"), encoding="utf-8")

    result = feedworkers(workdir, *command)

    assert result.returncode == 1
    assert (
        f"Error: config/feeds.yaml: feed '{FEED}': interval must be ≥ 30 seconds, got 0" in result.stderr.splitlines()
    )


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["worker"], ["beat"], ["refetch"], ["status"], ["stories"], ["db", "upgrade"]],
    ids=["main", "run", "worker", "beat", "refetch", "status", "stories", "db-upgrade"],
)
def test_help_shows_examples(workdir, command):
    """`--help` of the program and of every command exits 0 and shows examples."""
    result = feedworkers(workdir, *command, "--help")

    assert result.returncode == 0, result.stderr
    assert "Examples" in result.stdout


def test_db_upgrade_creates_the_sqlite_store(workdir):
    """`db upgrade` in a fresh folder creates var/feedworkers.db and says the store is up to date."""
    result = feedworkers(workdir, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert (workdir / "var" / "feedworkers.db").is_file()
    assert "up to date" in result.stdout


def test_stories_with_an_invalid_since_is_a_usage_error(workdir):
    """`stories --since not-a-date` exits 2 with a message naming --since."""
    result = feedworkers(workdir, "stories", "--since", "not-a-date")

    assert result.returncode == 2
    assert "--since" in result.stderr
    assert "not-a-date" in result.stderr


POSTGRES_URL = os.environ.get("FEEDWORKERS_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES_URL, reason="FEEDWORKERS_TEST_POSTGRES_URL is not set")
def test_a_shared_store_behind_the_code_is_not_migrated_behind_the_operators_back(tmp_path):
    """On PostgreSQL only `db upgrade` and `run` migrate; other commands stop and say what to run."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    name = f"feedworkers_empty_{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        _new_workdir(tmp_path)
        env = _environment() | {
            "FEEDWORKERS_DATABASE_URL": url.set(database=name).render_as_string(hide_password=False)
        }

        status = subprocess.run(
            [str(FEEDWORKERS), "stories"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        upgrade = subprocess.run(
            [str(FEEDWORKERS), "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        after = subprocess.run(
            [str(FEEDWORKERS), "stories"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert status.returncode == 1
    assert (
        f"store: the schema is at revision none, this version needs {head_revision('sqlite://')}; run `feedworkers db upgrade`"
        in status.stderr
    )
    assert (upgrade.returncode, after.returncode) == (0, 0)
