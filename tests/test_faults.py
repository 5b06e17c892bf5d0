"""Nothing lost, nothing duplicated: workers SIGKILLed (main process, pool child), Redis killed and restarted,
the store unavailable for 30 s, all during a real ingest by real worker processes on a private Redis.

Each test prints its figures (kills, stories expected, stored, duplicated) as one line starting "faults:".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.feeds import numbered, rss
from workers.embedded_redis import EmbeddedRedis
from workers.store.db import dispose_engines, transaction
from workers.store.models import Story as StoryRow
from workers.store.models import StoryRevision

pytestmark = pytest.mark.slow

FEEDWORKERS = Path(sys.executable).with_name("feedworkers")


class Ingest:
    """A private Redis, feeds on the test HTTP server, and worker subprocesses that can be killed."""

    def __init__(self, settings: Any, feed_server: Any, tmp_path: Path, feeds: int, entries: int) -> None:
        self.settings, self.tmp = settings, tmp_path
        self.redis = EmbeddedRedis(tmp_path / "redis")
        self.redis.ensure()
        config = tmp_path / "config"
        config.mkdir()
        for name in ("clean.yaml", "tags.yaml", "region.yaml"):
            shutil.copy(settings.config_dir / name, config / name)
        lines = ["feeds:"]
        for number in range(feeds):
            url = feed_server.serve(f"/fault-{number}.xml", rss(numbered(entries, prefix=f"f{number}s")))
            lines.append(f"  - {{id: fault-{number}, url: '{url}', interval: 3600}}")
        (config / "feeds.yaml").write_text("\n".join(lines) + "\n")
        self.expected = feeds * entries
        self.env = dict(os.environ)
        self.env.update(
            FEEDWORKERS_CONFIG_DIR=str(config),
            FEEDWORKERS_DATA_DIR=str(tmp_path / "data"),
            FEEDWORKERS_REDIS_URL=self.redis.url,
            FEEDWORKERS_DATABASE_URL=settings.resolved_database_url,
            FEEDWORKERS_REFETCH_MIN_SECONDS="0",
        )
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.options: dict[str, tuple[str, int]] = {}
        self.kills = self.restarts = 0

    def start(self, queue: str, pool: str = "prefork", concurrency: int = 2) -> subprocess.Popen[bytes]:
        name = f"{queue}-{self.kills}-{time.monotonic_ns()}"
        log = (self.tmp / f"{queue}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", queue, "-P", pool, "-c",
             str(concurrency), "-n", f"{name}@%h", "--loglevel", "WARNING"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.workers[queue], self.options[queue] = process, (pool, concurrency)
        return process

    def keep_alive(self) -> None:
        """Restart a worker that exited, as `feedworkers run`'s supervisor and docker's restart policy do."""
        for queue, process in list(self.workers.items()):
            if process.poll() is not None:
                self.restarts += 1
                self.start(queue, *self.options[queue])

    def kill(self, queue: str) -> None:
        """SIGKILL the worker and every process of its session, as a lost machine or the OOM killer would."""
        process = self.workers[queue]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.kills += 1

    def refetch(self, *extra: str) -> None:
        subprocess.run([str(FEEDWORKERS), "refetch", "--all", *extra], env=self.env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip

    def stored(self) -> int:
        return _count(self.settings.resolved_database_url, sa.select(sa.func.count()).select_from(StoryRow))

    def duplicated(self) -> int:
        """Stories beyond one per entry (same feed and guid), and revisions beyond the first (none changed)."""
        url = self.settings.resolved_database_url
        distinct = _count(url, sa.select(sa.func.count(sa.distinct(StoryRow.guid))))
        revisions = _count(url, sa.select(sa.func.count()).select_from(StoryRevision))
        return (self.stored() - distinct) + (revisions - self.stored())

    def missing(self) -> list[tuple[Any, ...]]:
        """Entries that are no story's source (feed, guid, outcome, error): what to look at when one is short."""
        from workers.store.models import Entry

        query = sa.select(Entry.feed_id, Entry.guid, Entry.last_outcome, Entry.last_error, Entry.story_id).where(
            (Entry.story_id.is_(None)) | (Entry.role != "primary")
        )
        with transaction(self.settings.resolved_database_url, readonly=True) as session:
            return [tuple(row) for row in session.execute(query)]

    def wait_for(self, target: int, timeout: float, during: Callable[[], None] | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.stored() < target:
            if during is not None:
                during()
            time.sleep(0.5)
        return self.stored()

    def close(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        self.redis.stop()


def _count(url: str, query: Any) -> int:
    with transaction(url, readonly=True) as session:
        return int(session.scalar(query) or 0)


@pytest.fixture
def ingest(settings: Any, feed_server: Any, tmp_path: Path) -> Iterator[Callable[[int, int], Ingest]]:
    made: list[Ingest] = []

    def make(feeds: int, entries: int) -> Ingest:
        made.append(Ingest(settings, feed_server, tmp_path, feeds, entries))
        return made[-1]

    yield make
    for run in made:
        run.close()


FIGURES: list[str] = []


class _Figures:
    """A pytest plugin: the figures of every fault test, in the terminal summary (also when they pass)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def _figures(request: pytest.FixtureRequest) -> None:
    if request.config.pluginmanager.get_plugin("fault-figures") is None:
        request.config.pluginmanager.register(_Figures(), "fault-figures")


def _report(name: str, run: Ingest, stored: int, **extra: Any) -> None:
    figures = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in extra.items())
    line = f"faults: {name}: kills {run.kills}, expected {run.expected}, stored {stored}, duplicated {run.duplicated()}"
    FIGURES.append(f"{line}, {figures}" if figures else line)
    print(FIGURES[-1])


def test_sigkilled_story_workers_lose_and_double_nothing(ingest) -> None:
    run = ingest(40, 50)
    run.start("feeds", pool="threads", concurrency=4)
    run.start("stories")
    run.refetch()
    started = time.monotonic()
    while run.kills < 4 and time.monotonic() - started < 120:
        time.sleep(3.0)
        if run.stored() >= run.expected:
            break
        run.kill("stories")  # running and prefetched stories come back after the visibility timeout
        run.start("stories")
    # Running and prefetched stories come back after the visibility timeout (55 s) and the 5 s restore sweep.
    redelivered = run.wait_for(run.expected, timeout=75)
    stored = redelivered
    if stored < run.expected:
        # A message taken off the list in the instant its worker died never reached kombu's unacked set; the
        # entry has no seen mark, so the next poll sends it again.
        run.refetch()
        stored = run.wait_for(run.expected, timeout=60)
    _report("worker main process SIGKILLed", run, stored, stored_before_next_poll=redelivered,
            seconds=round(time.monotonic() - started))  # fmt: skip
    assert run.kills >= 3, "the ingest finished before the worker could be killed three times"
    assert (stored, run.duplicated()) == (run.expected, 0)


def _pool_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def test_sigkilled_pool_children_lose_and_double_nothing(ingest) -> None:
    run = ingest(30, 50)
    run.start("feeds", pool="threads", concurrency=4)
    main = run.start("stories")
    run.refetch()
    started = time.monotonic()

    def kill_a_child() -> None:
        children = _pool_children(main.pid)
        if children and run.kills < 8 and time.monotonic() - started > 2:
            os.kill(children[0], signal.SIGKILL)  # the task it ran is requeued at once (reject_on_worker_lost)
            run.kills += 1
            time.sleep(1.0)

    stored = run.wait_for(run.expected, timeout=150, during=kill_a_child)
    redelivered = stored
    if stored < run.expected:  # a story whose worker died 3 times is a dead letter; the next poll sends it again
        run.refetch()
        stored = run.wait_for(run.expected, timeout=60)
    _report("pool child SIGKILLed", run, stored, stored_before_next_poll=redelivered,
            seconds=round(time.monotonic() - started))  # fmt: skip
    assert run.kills >= 3
    assert main.poll() is None, "the worker's main process survives its children"
    assert (stored, run.duplicated()) == (run.expected, 0)


def test_a_redis_restart_during_ingest_loses_and_doubles_nothing(ingest) -> None:
    run = ingest(20, 40)
    run.start("feeds", pool="threads", concurrency=4)
    run.start("stories")
    run.refetch()
    run.wait_for(run.expected // 4, timeout=60)
    os.kill(run.redis.pid() or 0, signal.SIGKILL)  # no clean shutdown: what the append-only file kept is all
    time.sleep(3)
    run.redis.ensure()
    # Workers reconnect by themselves; one that kombu's Redis transport crashes on the lost connection (seen
    # with kombu 5.7: AttributeError in restore_unacked_once) is restarted like its supervisor would.
    after_restart = run.wait_for(run.expected, timeout=30, during=run.keep_alive)
    # What was in flight when Redis died is enqueued again by the next poll: seen marks are written with stories.
    run.refetch()
    stored = run.wait_for(run.expected, timeout=120, during=run.keep_alive)
    _report("redis SIGKILLed and restarted", run, stored, stored_before_next_poll=after_restart,
            worker_restarts=run.restarts)  # fmt: skip
    assert (stored, run.duplicated()) == (run.expected, 0), run.missing()


def _sqlite_outage(url: str, seconds: float) -> Callable[[], None]:
    path = sa.make_url(url).database or ""

    def hold() -> None:
        import sqlite3

        connection = sqlite3.connect(path, timeout=60, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")  # every writer (and WAL reader needing a lock) now waits or fails
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    return hold


def _postgres_outage(url: str, seconds: float) -> Callable[[], None]:
    database = sa.make_url(url).database
    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def hold() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"), {"db": database}
            )
            try:
                time.sleep(seconds)
            finally:
                connection.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        admin.dispose()

    return hold


@pytest.fixture
def store_settings(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """PostgreSQL when CI provides one (the production store), else the SQLite store: one outage is enough."""
    from tests.conftest import POSTGRES_URL, _truncate
    from workers.settings import get_settings

    if not POSTGRES_URL:
        yield settings
        return
    monkeypatch.setenv("FEEDWORKERS_DATABASE_URL", POSTGRES_URL)
    get_settings.cache_clear()
    _truncate(POSTGRES_URL)
    yield get_settings()
    get_settings.cache_clear()


def test_the_store_unavailable_for_30_seconds_loses_and_doubles_nothing(store_settings, feed_server, tmp_path) -> None:
    import threading

    any_settings = store_settings
    run = Ingest(any_settings, feed_server, tmp_path, 20, 40)
    try:
        run.start("feeds", pool="threads", concurrency=4)
        run.start("stories")
        run.refetch()
        run.wait_for(run.expected // 5, timeout=60)
        url = any_settings.resolved_database_url
        outage = _postgres_outage(url, 30) if url.startswith("postgresql") else _sqlite_outage(url, 30)
        holder = threading.Thread(target=outage)
        during = run.stored()
        began = time.monotonic()
        holder.start()
        holder.join()
        back = round(time.monotonic() - began)
        dispose_engines()  # this process's pooled connections died with the outage too
        stored = run.wait_for(run.expected, timeout=240)
        if stored < run.expected:  # a poll that failed during the outage is repeated by the next one
            run.refetch()
            stored = run.wait_for(run.expected, timeout=120)
        _report(f"store ({'postgresql' if url.startswith('postgresql') else 'sqlite'}) unavailable {back} s", run,
                stored, stored_when_it_went_away=during)  # fmt: skip
        assert (stored, run.duplicated()) == (run.expected, 0)
    finally:
        run.close()
