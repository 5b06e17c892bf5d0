"""Alembic environment: runs migrations on the engine feedworkers itself uses."""

from __future__ import annotations

from alembic import context

from workers.store.db import get_engine
from workers.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "alembic: sqlalchemy.url is not set; run migrations through `feedworkers db upgrade`"

with get_engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
