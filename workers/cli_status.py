"""`feedworkers status`: queues, workers, feed health and totals, as tables, JSON or a live view."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from workers.cli_common import startup

__all__ = ["status"]

_HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "failing": "bold red", "disabled": "dim"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--watch", is_flag=True, help="Redraw every few seconds until Ctrl-C.")
@click.option("--interval", type=click.FloatRange(min=0.5), default=2.0, show_default=True, help="With --watch.")
def status(as_json: bool, watch: bool, interval: float) -> None:
    """Queues (waiting, in flight, oldest), workers alive, feed health and totals of the last hour and day.

    \b
    Feed health: ok, degraded (1-2 failed polls in a row, a warning, or overdue), failing (3 or more),
    disabled; "quiet" marks a feed with nothing new for much longer than its usual rhythm.

    \b
    Examples:
      feedworkers status
      feedworkers status --watch
      feedworkers status --json | jq '.feeds[] | select(.health != "ok")'
    """
    from workers.broker import broker_url, redis_client
    from workers.monitor import status_report

    settings = startup(sync=False)
    broker_url()  # the embedded Redis, when it is the broker, must run to be asked
    if as_json:
        click.echo(json.dumps(status_report(settings, redis_client()), indent=2, ensure_ascii=False))
        return
    if not watch:
        _console().print(*_tables(status_report(settings, redis_client())))
        return
    from rich.console import Group
    from rich.live import Live

    with Live(Group(*_tables(status_report(settings, redis_client()))), console=_console(), screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(Group(*_tables(status_report(settings, redis_client()))))
        except KeyboardInterrupt:
            pass


def _clock(iso: str | None) -> str:
    """'14:02:05' for a time today (UTC), 'Nov 24 14:02' otherwise: status tables must fit a terminal."""
    if not iso:
        return "-"
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(iso)
    return moment.strftime("%H:%M:%S" if moment.date() == datetime.now(UTC).date() else "%b %d %H:%M")


def _console() -> Any:
    from rich.console import Console

    return Console()


def _tables(report: dict[str, Any]) -> list[Any]:
    from rich.table import Table

    queues = Table(title="queues", title_justify="left")
    for column in ("queue", "waiting", "in flight", "oldest waiting"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    for name, depth in report["queues"].items():
        oldest = depth.get("oldest_age_seconds")
        queues.add_row(name, str(depth["waiting"]), str(depth["in_flight"]), "-" if oldest is None else f"{oldest} s")
    workers = Table(title=f"workers alive: {len(report['workers'])}", title_justify="left")
    for column in ("worker", "host", "pid", "queues", "concurrency", "heartbeat", "tasks 5 min"):
        workers.add_column(column, no_wrap=True)
    for row in report["workers"]:
        workers.add_row(
            row["worker"], row["host"], str(row["pid"]), ",".join(row["queues"]), str(row["concurrency"]),
            _clock(row["last_heartbeat"]), str(row["tasks_5m"]),
        )  # fmt: skip
    feeds = Table(title="feeds", title_justify="left")
    columns = ("feed", "health", "last poll", "HTTP", "errors", "next poll", "24 h", "stories", "origin")
    for column, width in zip(columns, (12, 8, 9, 4, 6, 9, 4, 7, 7), strict=True):
        feeds.add_column(column, no_wrap=True, min_width=width)
    feeds.add_column("last error", overflow="ellipsis", no_wrap=True, max_width=50)
    for row in report["feeds"]:
        health = f"[{_HEALTH_STYLE[row['health']]}]{row['health']}[/]" + (" [yellow]quiet[/]" if row["quiet"] else "")
        keyed = f" (keyed by {row['keyed_by']})" if row.get("keyed_by") == "link" else ""
        feeds.add_row(
            row["feed"] + keyed, health, _clock(row["last_poll"]), str(row["last_status"] or "-"),
            str(row["consecutive_errors"]), _clock(row["next_poll"]), str(row["stories_24h"]),
            str(row["stories"]), row.get("origin") or "-", row["last_error"] or "",
        )  # fmt: skip
    totals = Table(title="totals", title_justify="left")
    for column in ("", "published", "updated", "duplicates merged", "failed"):
        totals.add_column(column)
    for label, counts in report["totals"].items():
        totals.add_row(f"last {label}", *(str(counts[key]) for key in ("published", "updated", "duplicates", "failed")))
    return [queues, workers, feeds, totals]
