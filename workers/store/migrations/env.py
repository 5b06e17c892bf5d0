"""Alembic environment: runs migrations on the engine feedworkers itself uses."""

from __future__ import annotations

from alembic import context

from workers.store.db import get_engine
from workers.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "alembic: sqlalchemy.url is not set; run migrations through `feedworkers db upgrade`"

with get_engine(url).connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it and dropping the old one; with foreign keys on, that drop
        # would cascade to the rows that point at it (revisions deleted, entries unlinked). The pragma
        # only takes effect outside a transaction, so it goes to the driver connection before any BEGIN.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
