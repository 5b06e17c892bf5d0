"""Dead letters on real parts: stories that fail on their content, a store down through every retry and a
message that kills its worker process every time end up as one dead letter each, and the queue keeps flowing;
`feedworkers dead` lists, shows, replays and purges them and `status` counts them.

Real worker (in-process, threads; a prefork subprocess for the poison message), real Redis, real store
(SQLite; PostgreSQL too where `any_settings` runs it).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import update

from tests.feeds import story_text
from tests.helpers import Entry, configure, stories
from workers import app
from workers.broker import redis_client
from workers.celeryapp import set_deliveries
from workers.dead_letters import (
    PARKED_KEY,
    count_dead_letters,
    count_parked,
    get_dead_letter,
    list_dead_letters,
    record_dead_letter,
    replay,
)
from workers.feeds_config import FeedConfig
from workers.report import queue_status
from workers.settings import get_settings
from workers.store.db import transaction
from workers.store.models import DeadLetter
from workers.story import Story, story_key
from workers.tasks import process_story
from workers.trace import story_trace

FEEDWORKERS = Path(sys.executable).with_name("feedworkers")
FEED = "wire-west"


@pytest.fixture(autouse=True)
def _nothing_parked(environment: Path) -> None:
    redis_client().delete(PARKED_KEY)


def _wire(guid: str, **changes: Any) -> dict[str, Any]:
    """The wire form of a publishable story of FEED, with `changes` applied to the wire form."""
    story = Story(
        id=story_key(FEED, guid), feed_id=FEED, guid=guid, url=f"https://wire.example/{guid}",
        title=f"Meldung {guid}", content_html=f"<p>{story_text(guid, sentences=6)}</p>",
        fetched_at=datetime.now(UTC).isoformat(), source_hash=f"raw-{guid}", poll_id=f"poll-{guid}", language_hint="de",
    )  # fmt: skip
    return story.to_wire() | changes


def _configure(settings: Any) -> None:
    configure(settings, FeedConfig(id=FEED, url="https://wire.example/feed.xml"))


def _wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout} s")


def _settled() -> bool:
    return all(q["waiting"] == 0 and q["in_flight"] == 0 for q in queue_status(redis_client()).values())


def _only_dead_letter(settings: Any) -> dict[str, Any]:
    [row] = list_dead_letters(settings.resolved_database_url)
    detail = get_dead_letter(settings.resolved_database_url, row["id"])
    assert detail is not None
    return detail


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The `feedworkers` console script on this test's Redis and store (the environment conftest set)."""
    return subprocess.run(
        [str(FEEDWORKERS), *args], env=dict(os.environ, FEEDWORKERS_LOG_LEVEL="WARNING"), cwd=Path(__file__).parent,
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _dead_letter_through_the_worker(settings: Any, payload: dict[str, Any], task_id: str | None = None) -> None:
    process_story.apply_async((payload,), task_id=task_id)
    _wait_for(lambda: count_dead_letters(settings.resolved_database_url) == 1 and _settled(), what="a dead letter")


# --- stories that fail on their content -----------------------------------------------------------


@pytest.mark.usefixtures("worker")
def test_a_story_failing_on_its_content_is_one_dead_letter_and_the_next_story_is_published(any_settings):
    """A story the publish stage rejects (its date is not a date) is kept with payload, error and traceback,
    is tried once only, and the story behind it in the queue is published."""
    _configure(any_settings)
    store = "pg" if any_settings.resolved_database_url.startswith("postgresql") else "lite"  # traces stay in Redis
    bad, good = _wire(f"bad-date-{store}", published_at="not a date"), _wire(f"good-after-{store}")

    process_story.apply_async((bad,))
    process_story.apply_async((good,))
    _wait_for(lambda: count_dead_letters(any_settings.resolved_database_url) == 1, what="a dead letter")
    _wait_for(lambda: len(stories(any_settings)) == 1 and _settled(), what="the next story published")

    detail = _only_dead_letter(any_settings)
    assert [story["guid"] for story in stories(any_settings)] == [f"good-after-{store}"]
    assert detail["payload"] == {"args": [bad], "kwargs": {}}
    assert (
        detail["error"]
        == f"story {bad['id']} of feed '{FEED}' failed: ValueError: Invalid isoformat string: 'not a date'"
    )
    assert detail["traceback"].startswith("Traceback (most recent call last):")
    assert "fromisoformat" in detail["traceback"]
    assert (detail["task"], detail["story"], detail["feed"], detail["poll"]) == (
        "workers.process_story", bad["id"], FEED, f"poll-bad-date-{store}",
    )  # fmt: skip
    assert (detail["attempts"], detail["state"], detail["replayed_at"]) == (1, "dead", None)
    failed = [e["stage"] for e in story_trace(redis_client(), bad["id"]) if e["outcome"] == "failed"]
    assert failed == ["publish"], "bad content is never retried"
    with transaction(any_settings.resolved_database_url, readonly=True) as session:
        entry = session.get(Entry, (FEED, bad["id"]))
        assert entry is not None and entry.last_outcome == "failed", "record_failure still marks the entry"


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (_wire("bad-title", title=42), "failed: TypeError: expected string or bytes-like object, got 'int'"),
        ({"title": "Ohne Kennung"}, "is not a story (Story.__init__() missing 5 required positional arguments"),
    ],
    ids=["title-not-text", "not-a-story"],
)
def test_the_same_message_dead_lettered_twice_is_one_row_with_two_attempts(settings, payload, error):
    """A redelivery (same task id) of a message that fails again adds an attempt to its row, never a row."""
    _configure(settings)
    _dead_letter_through_the_worker(settings, payload, task_id="dead-twice")

    process_story.apply_async((payload,), task_id="dead-twice")
    _wait_for(lambda: _only_dead_letter(settings)["attempts"] == 2 and _settled(), what="a second attempt")

    detail = _only_dead_letter(settings)
    assert error in detail["error"]
    assert detail["payload"]["args"] == [payload]
    assert detail["story"] == payload.get("id")
    assert stories(settings) == []


# --- the store unavailable ------------------------------------------------------------------------


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _store_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every process's settings at a PostgreSQL server that is not there: each connection is refused."""
    monkeypatch.setenv("FEEDWORKERS_DATABASE_URL", f"postgresql+psycopg://feedworkers@127.0.0.1:{_unused_port()}/gone")
    get_settings.cache_clear()


def _store_back(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setenv("FEEDWORKERS_DATABASE_URL", settings.resolved_database_url)
    get_settings.cache_clear()


@pytest.mark.usefixtures("worker")
def test_a_store_outage_is_retried_and_the_story_published_once_the_store_is_back(settings, monkeypatch):
    """A transient store error retries the story (after 1-2 s on the first retry) instead of burying it."""
    _configure(settings)
    story = _wire("outage-retried")
    _store_down(monkeypatch)

    process_story.apply_async((story,))
    _wait_for(
        lambda: any(e["stage"] == "dedup" and e["outcome"] == "failed" for e in story_trace(redis_client(), story["id"])),
        what="the first attempt failing on the store",
    )  # fmt: skip
    _store_back(monkeypatch, settings)
    _wait_for(lambda: len(stories(settings)) == 1 and _settled(), what="the retry publishing the story")

    assert count_dead_letters(settings.resolved_database_url) == 0
    assert count_parked(redis_client()) == 0


@pytest.mark.usefixtures("worker")
def test_a_store_outage_through_every_retry_keeps_the_story_as_a_dead_letter(settings, monkeypatch):
    """The last retry failing on the store parks the dead letter in Redis (the store is down); the next
    `feedworkers dead` command moves it into the store, with 9 attempts (8 retries spent)."""
    _configure(settings)
    story = _wire("outage-exhausted")
    _store_down(monkeypatch)

    # A message on its last retry, as Celery sends it after 8 retries (waiting them out takes ~80 s).
    process_story.apply_async((story,), retries=process_story.max_retries)
    _wait_for(lambda: count_parked(redis_client()) == 1 and _settled(), what="a parked dead letter")
    _store_back(monkeypatch, settings)
    assert count_dead_letters(settings.resolved_database_url) == 0, "not in the store while it was down"
    listed = _cli("dead", "list", "--json")

    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["error"].startswith(
        f"story {story['id']} of feed '{FEED}': the store stayed unavailable through 9 attempts (OperationalError: "
    )
    assert row["error"].endswith("; replay it once the store is back")
    detail = get_dead_letter(settings.resolved_database_url, row["id"])
    assert detail is not None
    assert (detail["attempts"], detail["state"], detail["payload"]["args"]) == (9, "dead", [story])
    assert "OperationalError" in detail["traceback"]
    assert count_parked(redis_client()) == 0
    assert stories(settings) == []


# --- the poison guard -----------------------------------------------------------------------------


@pytest.mark.usefixtures("worker")
def test_a_message_back_after_3_deliveries_without_completing_is_acked_as_a_dead_letter_not_run(settings):
    """The guard's count is preset to 3 deliveries that killed their worker; the 4th is not run. A message
    that completes leaves no count behind."""
    _configure(settings)
    client = redis_client()
    process_story.apply_async((_wire("completes"),), task_id="completes-task")
    _wait_for(lambda: len(stories(settings)) == 1 and _settled(), what="a story published")
    assert client.exists("fw:deliveries:completes-task") == 0
    poison = _wire("poison-preset")
    set_deliveries(client, "poison-task", 3)

    _dead_letter_through_the_worker(settings, poison, task_id="poison-task")

    detail = _only_dead_letter(settings)
    assert detail["error"] == "task workers.process_story poison-task killed its worker 3 times; it was not run again"
    assert (detail["attempts"], detail["story"], detail["payload"]["args"], detail["traceback"]) == (
        3, poison["id"], [poison], "",
    )  # fmt: skip
    assert [story["guid"] for story in stories(settings)] == ["completes"]
    assert client.exists("fw:deliveries:poison-task") == 0


def _limit_cpu_of_children(parent: int, seconds: int) -> None:
    """What a CPU quota does to a runaway process: the kernel kills a pool child (SIGXCPU) past `seconds`."""
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        return
    for child in map(int, children):
        try:
            if resource.prlimit(child, resource.RLIMIT_CPU)[0] != seconds:
                resource.prlimit(child, resource.RLIMIT_CORE, (0, 0))
                resource.prlimit(child, resource.RLIMIT_CPU, (seconds, seconds + 2))
        except (ProcessLookupError, PermissionError):
            continue


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
def test_a_story_that_kills_its_worker_process_every_time_is_dead_lettered_after_3_deliveries(settings, tmp_path):
    """A prefork worker whose pool processes may use 2 s of CPU each; a 3.5 MB story needs ~4 s, so the kernel
    kills the process running it, every time. Requeued (reject_on_worker_lost) after each death, it is kept
    as a dead letter on its 4th delivery, and the story behind it is published meanwhile."""
    _configure(settings)
    redis_url = f"{settings.redis_url}?virtual_host=4"  # a database of its own: the in-process worker stays out
    env = dict(os.environ, FEEDWORKERS_REDIS_URL=redis_url, FEEDWORKERS_DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "stories", "-P", "prefork", "-c", "1",
             "-n", "poison@%h", "--loglevel", "INFO"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    words = story_text("poison", sentences=20)
    poison = _wire("poison-cpu", content_html="".join(f"<p>{words} {n}</p>" for n in range(1500)))
    good = _wire("behind-poison")
    try:
        _wait_for(lambda: "ready." in log.read_text(), timeout=60, what="the worker starting")
        with app.connection_for_write(redis_url) as connection:
            poison_task = process_story.apply_async((poison,), connection=connection).id
            process_story.apply_async((good,), connection=connection)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count_dead_letters(settings.resolved_database_url) == 0:
            _limit_cpu_of_children(worker.pid, 2)
            time.sleep(0.02)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(stories(settings)) < 1:
            time.sleep(0.05)
        survived = worker.poll() is None
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    output = log.read_text()
    deaths = output.count("exited with 'signal 24 (SIGXCPU)'")

    counted = redis.Redis(unix_socket_path=settings.redis_url.removeprefix("redis+socket://"), db=4).get(
        f"fw:deliveries:{poison_task}"
    )
    assert len(list_dead_letters(settings.resolved_database_url)) == 1, f"{deaths} deaths, count {counted}"
    detail = _only_dead_letter(settings)
    assert detail["error"].endswith("killed its worker 3 times; it was not run again")
    assert (detail["attempts"], detail["story"], detail["payload"]["args"]) == (3, poison["id"], [poison])
    assert [story["guid"] for story in stories(settings)] == ["behind-poison"]
    assert deaths == 3, output[-4000:]
    assert survived, "the worker's main process survives its children"


# --- replay, purge, the CLI and status -------------------------------------------------------------


@pytest.mark.usefixtures("worker")
def test_replay_through_the_cli_publishes_the_story_and_leaves_its_row_replayed(settings):
    _configure(settings)
    set_deliveries(redis_client(), "replayed-task", 3)
    _dead_letter_through_the_worker(settings, _wire("replayed"), task_id="replayed-task")
    dead_letter_id = _only_dead_letter(settings)["id"]

    result = _cli("dead", "replay", str(dead_letter_id))
    _wait_for(lambda: len(stories(settings)) == 1 and _settled(), what="the replayed story published")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"dead letter {dead_letter_id}: sent back to the queue\n"
    detail = _only_dead_letter(settings)
    assert (detail["state"], detail["attempts"]) == ("replayed", 3)
    assert detail["replayed_at"] is not None
    assert count_dead_letters(settings.resolved_database_url) == 0
    assert [story["guid"] for story in stories(settings)] == ["replayed"]


@pytest.mark.usefixtures("worker")
def test_a_replayed_story_that_fails_again_is_dead_again_with_one_attempt_more(settings):
    _configure(settings)
    _dead_letter_through_the_worker(settings, _wire("fails-again", published_at="never"))

    assert replay(settings, None) == [_only_dead_letter(settings)["id"]]
    _wait_for(lambda: _only_dead_letter(settings)["attempts"] == 2 and _settled(), what="the replay failing")

    detail = _only_dead_letter(settings)
    assert (detail["state"], detail["attempts"]) == ("dead", 2)
    assert detail["replayed_at"] is not None
    assert replay(settings, None) == [detail["id"]], "--all picks it up again"
    _wait_for(lambda: _only_dead_letter(settings)["attempts"] == 3 and _settled(), what="the second replay failing")


@pytest.mark.usefixtures("worker")
def test_dead_list_and_show_through_the_cli(settings):
    _configure(settings)
    bad = _wire("listed", published_at="yesterday")
    _dead_letter_through_the_worker(settings, bad)
    dead_letter_id = _only_dead_letter(settings)["id"]

    as_json, plain = _cli("dead", "list", "--json"), _cli("dead", "list")
    shown, missing = _cli("dead", "show", str(dead_letter_id)), _cli("dead", "show", "999999")
    no_ids = _cli("dead", "replay")

    assert (as_json.returncode, plain.returncode, shown.returncode) == (0, 0, 0), as_json.stderr + shown.stderr
    [row] = json.loads(as_json.stdout)
    assert {"id", "when", "feed", "story", "attempts", "error", "state"} <= row.keys()
    assert (row["id"], row["feed"], row["story"], row["attempts"]) == (dead_letter_id, FEED, bad["id"], 1)
    line = plain.stdout.rstrip("\n")
    assert line.startswith(f"{dead_letter_id:>5}  ") and FEED in line and bad["id"][:12] in line
    assert line.endswith("ValueError: Invalid isoformat string: 'yesterday'")
    assert "Traceback (most recent call last):" in shown.stdout
    assert '"published_at": "yesterday"' in shown.stdout
    assert f"story {bad['id']}  feed {FEED}  poll poll-listed" in shown.stdout
    assert missing.returncode == 1
    assert "dead letter 999999 does not exist; list them with `feedworkers dead list`" in missing.stderr
    assert no_ids.returncode == 2
    assert "name one or more dead letter ids, or pass --all" in no_ids.stderr


def _record(settings: Any, guid: str, *, state: str = "dead", days_ago: float = 0) -> int:
    dead_letter_id = record_dead_letter(
        settings.resolved_database_url, task="workers.process_story", args=(_wire(guid),), error=f"{guid} failed"
    )
    assert dead_letter_id is not None
    at = datetime.now(UTC) - timedelta(days=days_ago)
    with transaction(settings.resolved_database_url) as session:
        session.execute(
            update(DeadLetter).where(DeadLetter.id == dead_letter_id).values(state=state, last_failed_at=at)
        )
    return dead_letter_id


def _remaining(settings: Any) -> list[str]:
    return sorted(row["story"] for row in list_dead_letters(settings.resolved_database_url))


def test_purge_deletes_the_replayed_ones_or_with_older_than_the_old_ones(settings):
    fresh = _record(settings, "fresh")
    _record(settings, "replayed", state="replayed")
    _record(settings, "old", days_ago=40)
    ids = {guid: story_key(FEED, guid) for guid in ("fresh", "replayed", "old")}

    declined = _cli("dead", "purge", stdin="n\n")
    assert declined.returncode == 1 and len(_remaining(settings)) == 3, declined.stdout
    replayed = _cli("dead", "purge", "--yes")
    assert (replayed.returncode, replayed.stdout) == (0, "dead: deleted 1 dead letter(s) replayed\n"), replayed.stderr
    assert _remaining(settings) == sorted([ids["fresh"], ids["old"]])
    old = _cli("dead", "purge", "--older-than", "30", "--yes")
    assert old.stdout == "dead: deleted 1 dead letter(s) last failed more than 30 days ago\n", old.stderr
    assert _remaining(settings) == [ids["fresh"]]
    again = _cli("dead", "purge", "--older-than", "30", "--yes")
    assert again.stdout == "dead: no dead letter last failed more than 30 days ago\n"
    assert get_dead_letter(settings.resolved_database_url, fresh) is not None


@pytest.mark.usefixtures("worker")
def test_status_json_counts_the_dead_letters_not_replayed(settings):
    _configure(settings)
    _dead_letter_through_the_worker(settings, _wire("status-dead", published_at="soon"))
    _record(settings, "status-replayed", state="replayed")

    result = _cli("status", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dead_letters"] == 1
