"""`feedworkers feeds`: change the feeds while workers run, without restarting them.

Every command here works on the store, which the running scheduler reads at every tick. They start with
`startup(sync=False)`: applying config/feeds.yaml is what `feeds sync` does on purpose, so `feeds disable`
is not undone by the very command that lists the result.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from workers.cli_common import short_time, startup

__all__ = ["feeds"]


@click.group(name="feeds")
def feeds() -> None:
    """List and change feeds at run time; running workers pick changes up at the next scheduler tick.

    config/feeds.yaml stays the declarative source: `feeds sync` (and `run`, `beat` at start) apply it
    to the feeds of origin "config". Feeds added with `feeds add` have origin "runtime"; sync leaves them alone.

    \b
    Examples:
      feedworkers feeds list
      feedworkers feeds add lokal-nord https://example.org/rss.xml --interval 120 --language de --tag lokal
      feedworkers feeds disable lokal-nord
      feedworkers feeds sync
    """


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per feed.")
def list_command(as_json: bool) -> None:
    """Every feed in the store: id, enabled, origin, url, interval, priority, last poll, consecutive errors.

    \b
    Examples:
      feedworkers feeds list
      feedworkers feeds list --json | jq '.[] | select(.origin == "runtime")'
    """
    from workers.feeds_admin import list_feeds

    settings = startup(sync=False)
    rows = list_feeds(settings.resolved_database_url)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif sys.stdout.isatty():
        _print_table(rows)
    else:
        for row in rows:
            click.echo(
                f"{row['feed']:<24} {'yes' if row['enabled'] else 'no':<3} {row['origin']:<7} {row['interval']:>6}s "
                f"p{row['priority']:<3} {short_time(row['last_poll']):<19} {row['consecutive_errors']:>3}  {row['url']}"
            )


@feeds.command("add")
@click.argument("feed_id", metavar="ID")
@click.argument("url")
@click.option("--interval", metavar="N", help="Seconds between polls, at least 30 (default 300).")
@click.option("--language", help="Two-letter ISO 639-1 hint for stories too short to detect, e.g. de.")
@click.option("--attribution", metavar="TEXT", help="Credit or disclaimer stored with each story.")
@click.option("--tag", "tags", metavar="T", multiple=True, help="A tag every story gets; repeat for more.")
@click.option("--priority", metavar="N", help="Higher wins when duplicates meet (default 0).")
@click.option("--full-text", is_flag=True, help="Fetch each story's page for its full text (summary-only feeds).")
@click.option("--category", metavar="C", help="A category of tags.yaml the feed's stories lean to.")
@click.option("--title", metavar="T", help="A display name.")
def add_command(
    feed_id: str,
    url: str,
    interval: str | None,
    language: str | None,
    attribution: str | None,
    tags: tuple[str, ...],
    priority: str | None,
    full_text: bool,
    category: str | None,
    title: str | None,
) -> None:
    """Add feed ID polling URL, checked like an entry of config/feeds.yaml; it is polled at the next tick.

    \b
    Examples:
      feedworkers feeds add lokal-nord https://example.org/rss.xml
      feedworkers feeds add presse-stadt https://stadt.example/presse.rss --interval 600 --language de \\
          --attribution "Pressemitteilung der Stadt" --tag presse --tag lokal --priority 1
    """
    from workers.feeds_admin import FeedAdminError, add_feed
    from workers.schedule import known_feeds

    settings = startup(sync=False)
    database_url = settings.resolved_database_url
    if feed_id in _config_ids(settings) and feed_id not in known_feeds(database_url):
        _fail(f"feeds: feed '{feed_id}' is in config/feeds.yaml; run `feedworkers feeds sync` to add it from there")
    # Numbers stay text when they are not numbers, so the feeds.yaml check names the field, not click.
    options = {
        "interval": _number(interval), "language": language, "attribution": attribution, "tags": list(tags) or None,
        "priority": _number(priority), "full_text": full_text or None, "category": category, "title": title,
    }  # fmt: skip
    raw = {"id": feed_id, "url": url} | {key: value for key, value in options.items() if value is not None}
    try:
        row = add_feed(database_url, raw)
    except FeedAdminError as error:
        _fail(str(error))
    click.echo(f"feeds: added feed '{row['feed']}' (origin runtime); the running scheduler polls it at its next tick")


@feeds.command("enable")
@click.argument("feed_id", metavar="ID")
def enable_command(feed_id: str) -> None:
    """Poll feed ID again from the scheduler's next tick.

    \b
    Examples:
      feedworkers feeds enable lokal-nord
    """
    _set_enabled(feed_id, True)


@feeds.command("disable")
@click.argument("feed_id", metavar="ID")
def disable_command(feed_id: str) -> None:
    """Stop polling feed ID; its stories stay published.

    \b
    Examples:
      feedworkers feeds disable lokal-nord
    """
    _set_enabled(feed_id, False)


@feeds.command("remove")
@click.argument("feed_id", metavar="ID")
def remove_command(feed_id: str) -> None:
    """Delete feed ID with its entries and poll runs; only a feed without stories (else: disable it).

    A feed still listed in config/feeds.yaml is refused: remove it there first, then run `feeds sync`.

    \b
    Examples:
      feedworkers feeds remove lokal-nord
    """
    from workers.feeds_admin import FeedAdminError, remove_feed

    settings = startup(sync=False)
    try:
        remove_feed(settings.resolved_database_url, feed_id, _config_ids(settings))
    except FeedAdminError as error:
        _fail(str(error))
    click.echo(f"feeds: removed feed '{feed_id}'")


@feeds.command("sync")
def sync_command() -> None:
    """Apply config/feeds.yaml to the store now: add and update its feeds, disable config feeds no longer in it.

    Runtime feeds (added with `feeds add`) are left as they are.

    \b
    Examples:
      feedworkers feeds sync
    """
    from workers.feeds_admin import FeedAdminError, sync_from_config

    settings = startup(sync=False)
    try:
        counts = sync_from_config(settings.resolved_database_url, settings.feeds_file)
    except FeedAdminError as error:
        _fail(str(error))
    click.echo(
        f"feeds: synced {settings.feeds_file}: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['disabled']} disabled"
    )


def _set_enabled(feed_id: str, enabled: bool) -> None:
    from workers.feeds_admin import FeedAdminError, set_enabled

    settings = startup(sync=False)
    try:
        row = set_enabled(settings.resolved_database_url, feed_id, enabled)
    except FeedAdminError as error:
        _fail(str(error))
    click.echo(f"feeds: feed '{feed_id}' {'enabled' if enabled else 'disabled'}")
    if row["origin"] == "config":
        click.echo(
            f"feeds: note: feed '{feed_id}' comes from config/feeds.yaml; the next `feedworkers feeds sync` "
            "(and `feedworkers run` at start) applies feeds.yaml again",
            err=True,
        )


def _config_ids(settings: Any) -> set[str]:
    """The ids in feeds.yaml (startup has validated the file already)."""
    from workers.errors import ConfigError
    from workers.feeds_config import load_feeds

    try:
        return {config.id for config in load_feeds(settings.feeds_file)}
    except ConfigError as error:
        _fail(f"feeds: {error}")


def _number(value: str | None) -> int | str | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="feeds")
    # A narrow terminal folds the URL and the time; ids and numbers are what people copy, so they stay whole.
    for column in ("feed", "on", "origin", "url", "every", "prio", "last poll", "errors"):
        numeric = column in ("every", "prio", "errors")
        whole = column not in ("url", "last poll")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=whole, overflow="fold")
    for row in rows:
        cells = (
            row["feed"], "yes" if row["enabled"] else "no", row["origin"], row["url"], f"{row['interval']} s",
            str(row["priority"]), short_time(row["last_poll"]), str(row["consecutive_errors"]),
        )  # fmt: skip
        table.add_row(*(Text(cell) for cell in cells))  # Text: a "[" in a URL is not rich markup
    Console().print(table)
