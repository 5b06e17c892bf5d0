"""Engines and transactions for SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["dispose_engines", "get_engine", "insert", "transaction"]

_engines: dict[str, Engine] = {}
_makers: dict[tuple[str, bool], sessionmaker[Session]] = {}
_lock = threading.Lock()


def _sqlite_engine(url: str) -> Engine:
    # Several worker processes write to one file: WAL lets readers run beside the writer, the busy
    # timeout makes writers wait instead of failing, and BEGIN IMMEDIATE takes the write lock up front
    # so two transactions never deadlock upgrading a read lock.
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get("readonly") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = _sqlite_engine(url)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
            _engines[url] = engine
            _makers[(url, False)] = sessionmaker(engine, expire_on_commit=False)
            _makers[(url, True)] = sessionmaker(engine.execution_options(readonly=True), expire_on_commit=False)
        return engine


@contextmanager
def transaction(url: str, *, readonly: bool = False) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception.

    `readonly` transactions do not take SQLite's write lock, so they never wait for a writer.
    """
    get_engine(url)
    with _makers[(url, readonly)]() as session, session.begin():
        yield session


def insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which offers ON CONFLICT on both SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def dispose_engines() -> None:
    """Drop pooled connections, e.g. in a freshly forked worker child (sockets must not be shared)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
