"""The `feedworkers` command line."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

import click

from workers.cli_common import startup

__all__ = ["main"]

_EXTRA = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["-h", "--help"]}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """feedworkers: poll news feeds, clean, deduplicate, tag and publish their stories.

    \b
    Examples:
      feedworkers run                 # everything on this machine until Ctrl-C
      feedworkers run --once          # poll every feed now, process all, print a summary
      feedworkers refetch wire-west --force --wait
      feedworkers status --json
    """


@main.command()
@click.option(
    "--once", is_flag=True, help="Poll every enabled feed now, wait until all is processed, print a summary, exit."
)
@click.option("--concurrency", type=int, default=None, help="Story worker processes (default: number of CPUs).")
@click.option(
    "--timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="With --once: longest wait for the queues to drain (seconds).",
)
def run(once: bool, concurrency: int | None, timeout: float) -> None:
    """Run workers for all queues and the scheduler on this machine.

    Starts the embedded Redis when FEEDWORKERS_REDIS_URL is not set, applies migrations, syncs
    config/feeds.yaml into the store, then runs until Ctrl-C and shuts down cleanly.

    \b
    Examples:
      feedworkers run
      feedworkers run --once
      FEEDWORKERS_REDIS_URL=redis://10.0.0.5:6379/0 feedworkers run --concurrency 4
    """
    from workers.embedded_redis import EmbeddedRedis
    from workers.supervisor import Supervisor, SupervisorError

    settings = startup(migrate=True)
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    started_redis = embedded.ensure() if embedded else False
    supervisor = Supervisor(settings, concurrency or os.cpu_count() or 2, beat=not once)
    stopping = False

    def _stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    def _should_stop() -> bool:
        # Checking the processes while waiting turns workers that cannot start into an error, not a hang.
        supervisor.check()
        return stopping

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    supervisor.start()
    try:
        if once:
            _run_once(settings, timeout, _should_stop)
        else:
            click.echo(f"feedworkers: running {', '.join(supervisor.processes)}; Ctrl-C stops", err=True)
            while not stopping:
                for name in supervisor.check():
                    click.echo(f"feedworkers: {name} stopped unexpectedly; restarted it", err=True)
                time.sleep(0.5)
    except SupervisorError as error:
        raise click.ClickException(str(error)) from None
    finally:
        click.echo("feedworkers: stopping workers (warm shutdown)…", err=True)
        supervisor.stop()
        if embedded and started_redis:
            embedded.stop()


def _run_once(settings: Any, timeout: float, stopping: Any) -> None:
    from workers.refetch import refetch, wait_for_polls
    from workers.schedule import enabled_feed_ids

    polls = refetch(settings, enabled_feed_ids(settings.resolved_database_url), force=False, trigger="run-once")
    settled = wait_for_polls(settings, [poll_id for _, poll_id in polls], timeout, stopping=stopping)
    _print_summary(settings, [poll_id for _, poll_id in polls])
    if not settled:
        click.echo(
            f"feedworkers: gave up waiting after {timeout:.0f} s; the rest is processed on the next run", err=True
        )


def _print_summary(settings: Any, poll_ids: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from workers.report import poll_summaries

    rows = poll_summaries(settings.resolved_database_url, poll_ids)
    table = Table(title="feedworkers: poll summary")
    counted = ("new", "updated", "duplicates", "skipped", "errors")
    for column in ("feed", "status", *counted):
        table.add_column(column, justify="right" if column not in ("feed", "status") else "left")
    for row in rows:
        table.add_row(row["feed"], row["status"], *(str(row[k]) for k in counted))
    total = {k: sum(r[k] for r in rows) for k in counted}
    table.add_row("total", "", *(str(total[k]) for k in counted), style="bold")
    console = Console(width=120)
    console.print(table)
    for row in rows:
        if row["error"]:
            console.print(f"{row['feed']}: {row['error']}", markup=False, highlight=False)


@main.command(context_settings=_EXTRA)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Start a Celery worker; extra arguments go to Celery.

    \b
    Examples:
      feedworkers worker                              # all queues
      feedworkers worker -Q stories --concurrency 4   # story work only
      feedworkers worker -Q feeds -P threads -c 16    # polls only
    """
    from workers.supervisor import celery_command

    startup()
    args = list(celery_args) or ["-Q", "feeds,stories"]
    command = celery_command("worker", *args)
    os.execv(command[0], command)


@main.command(context_settings=_EXTRA)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Start the scheduler (run exactly one); extra arguments go to Celery beat.

    \b
    Examples:
      feedworkers beat
      feedworkers beat --loglevel DEBUG
    """
    from workers.supervisor import celery_command

    settings = startup()
    args = list(celery_args)
    if "-s" not in args and "--schedule" not in args:
        args += ["-s", str(settings.data_dir / "celerybeat-schedule")]
    command = celery_command("beat", *args)
    os.execv(command[0], command)


@main.command()
@click.argument("feeds", nargs=-1)
@click.option("--all", "all_feeds", is_flag=True, help="Every enabled feed.")
@click.option(
    "--force", is_flag=True, help="Ignore ETag/Last-Modified and process every entry again (dedup still applies)."
)
@click.option("--wait", is_flag=True, help="Wait until the polls and their stories are done and print what came in.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="With --wait: longest wait (seconds).")
def refetch(feeds: tuple[str, ...], all_feeds: bool, force: bool, wait: bool, timeout: float) -> None:
    """Enqueue a poll of FEEDS now (needs running workers).

    \b
    Examples:
      feedworkers refetch wire-west
      feedworkers refetch --all --force
      feedworkers refetch wire-west press-office --wait
    """
    from workers.broker import broker_url
    from workers.refetch import RefetchRefused, manual_refetch, wait_for_polls
    from workers.schedule import known_feeds

    if bool(feeds) == all_feeds:
        raise click.UsageError("name one or more feeds, or pass --all")
    settings = startup()
    broker_url()  # the embedded Redis, when it is the broker, must run before anything is enqueued
    if all_feeds:
        feeds = tuple(feed for feed, enabled in known_feeds(settings.resolved_database_url).items() if enabled)
    try:
        polls = manual_refetch(settings, list(feeds), force=force, trigger="cli")
    except (ValueError, RefetchRefused) as error:
        raise click.ClickException(str(error)) from None
    for feed, poll_id in polls:
        click.echo(f"refetch: feed '{feed}' enqueued as poll {poll_id}")
    if wait:
        if not wait_for_polls(settings, [poll_id for _, poll_id in polls], timeout):
            click.echo(f"refetch: not finished after {timeout:.0f} s (are workers running?)", err=True)
        _print_summary(settings, [poll_id for _, poll_id in polls])


@main.group()
def db() -> None:
    """Store maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the store's migrations (also done by `feedworkers run`).

    \b
    Examples:
      feedworkers db upgrade
      FEEDWORKERS_DATABASE_URL=postgresql+psycopg://feedworkers@db/feedworkers feedworkers db upgrade
    """
    settings = startup(migrate=True, sync=False)
    click.echo(f"db: store at {_redact(settings.resolved_database_url)} is up to date")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# Commands that read stories and measure the pipeline live in their own modules.
from workers.cli_dead import dead
from workers.cli_feeds import feeds
from workers.cli_measure import bench, evaluate
from workers.cli_serve import serve
from workers.cli_status import status
from workers.cli_stories import stories, story

for _command in (status, stories, story, feeds, evaluate, bench, serve, dead):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
