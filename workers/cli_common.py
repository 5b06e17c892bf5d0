"""What every `feedworkers` command shares: start-up checks and time formatting."""

from __future__ import annotations

import os
from typing import Any

import click

from workers.errors import ConfigError

__all__ = ["short_time", "startup"]


def startup(*, migrate: bool = False, sync: bool = True) -> Any:
    """Validate the configuration and make sure the store is ready; exit 1 with a clear message if not."""
    from workers.boilerplate import load_rules
    from workers.classify import load_taxonomy
    from workers.feeds_config import load_feeds
    from workers.logs import configure_logging
    from workers.region import load_region
    from workers.schedule import sync_feeds
    from workers.settings import get_settings
    from workers.store.migrate import current_revision, head_revision, upgrade

    configure_logging(os.environ.get("FEEDWORKERS_LOG_LEVEL", "INFO"))
    settings = get_settings()
    database_url = settings.resolved_database_url
    try:
        configs = load_feeds(settings.feeds_file)
        load_rules(settings.clean_file)
        load_taxonomy(settings.tags_file)
        load_region(settings.region_file)
        # The local SQLite default is created on first use by any command; a shared store (PostgreSQL)
        # is migrated only on purpose, by `db upgrade` or `run`.
        if migrate or database_url.startswith("sqlite"):
            upgrade(database_url)
        elif (current := current_revision(database_url)) != (head := head_revision(database_url)):
            msg = f"store: the schema is at revision {current or 'none'}, this version needs {head}; run `feedworkers db upgrade`"
            raise ConfigError(msg)
        if sync:
            sync_feeds(database_url, configs)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:
        msg = f"start-up failed: {type(error).__name__}: {error}"
        raise click.ClickException(msg) from None
    return settings


def short_time(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "-"
