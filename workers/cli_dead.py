"""`feedworkers dead`: the messages the workers gave up on; read them, send them back to the queue, delete them."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from workers.cli_common import short_time, startup

__all__ = ["dead"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def dead() -> None:
    """Dead letters: stories that failed on their content, whose store stayed down through every retry, or
    whose message killed its worker 3 times. Each is kept once, with its payload, error and traceback.

    \b
    Examples:
      feedworkers dead list
      feedworkers dead show 12
      feedworkers dead replay 12        # after fixing the cause
      feedworkers dead replay --all
      feedworkers dead purge --older-than 30 --yes
    """


def _settings() -> Any:
    """Start-up checks, then dead letters parked in Redis while the store was down go into the store."""
    from redis.exceptions import RedisError

    from workers.broker import redis_client
    from workers.dead_letters import flush_parked

    settings = startup(sync=False)
    try:
        flush_parked(settings.resolved_database_url, redis_client())
    except RedisError:
        pass  # no Redis to ask (e.g. the embedded one is not running): nothing can be parked there either
    return settings


@dead.command("list")
@click.option(
    "--state", type=click.Choice(["dead", "replayed", "all"]), default="all", show_default=True, help="Which ones."
)
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
def list_command(state: str, limit: int, as_json: bool) -> None:
    """Dead letters, the most recently failed first: id, when, feed, story, attempts, state and error.

    \b
    Examples:
      feedworkers dead list
      feedworkers dead list --state dead --json | jq '.[].story'
    """
    from workers.dead_letters import list_dead_letters

    settings = _settings()
    rows = list_dead_letters(settings.resolved_database_url, state=None if state == "all" else state, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("dead: no dead letters")
        return
    if not sys.stdout.isatty():
        for row in rows:
            click.echo(
                f"{row['id']:>5}  {short_time(row['when'])}  {row['feed'] or '-':<20} {(row['story'] or '-')[:12]:<12}  "
                f"{row['attempts']:>3}  {row['state']:<8}  {row['error']}"
            )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="dead letters", title_justify="left")
    for column in ("id", "when", "feed", "story", "attempts", "state"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("id", "attempts") else "left")
    table.add_column("error", overflow="fold", ratio=1)
    for row in rows:
        table.add_row(
            str(row["id"]), short_time(row["when"])[5:16], row["feed"] or "-", (row["story"] or "-")[:12],
            str(row["attempts"]), row["state"], row["error"],
        )  # fmt: skip
    Console().print(table)


@dead.command("show")
@click.argument("dead_letter_id", type=int, metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(dead_letter_id: int, as_json: bool) -> None:
    """Everything about one dead letter: error, attempts, times, traceback and the payload a replay sends.

    \b
    Examples:
      feedworkers dead show 12
      feedworkers dead show 12 --json | jq '.payload.args[0].title'
    """
    from workers.dead_letters import get_dead_letter

    settings = _settings()
    detail = get_dead_letter(settings.resolved_database_url, dead_letter_id)
    if detail is None:
        click.echo(
            f"dead: dead letter {dead_letter_id} does not exist; list them with `feedworkers dead list`", err=True
        )
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    click.echo(f"dead letter {detail['id']}  {detail['state']}  task {detail['task']}")
    click.echo(f"story {detail['story'] or '-'}  feed {detail['feed'] or '-'}  poll {detail['poll'] or '-'}")
    click.echo(
        f"attempts {detail['attempts']}  first failed {short_time(detail['first_failed_at'])}  "
        f"last failed {short_time(detail['when'])}  replayed {short_time(detail['replayed_at'])}"
    )
    click.echo(f"\nerror:\n  {detail['error']}")
    click.echo("\ntraceback:\n" + (detail["traceback"].rstrip() or "  (none: the worker process died running it)"))
    click.echo("\npayload:\n" + json.dumps(detail["payload"], indent=2, ensure_ascii=False))


@dead.command("replay")
@click.argument("ids", nargs=-1, type=int, metavar="[ID]...")
@click.option("--all", "all_dead", is_flag=True, help="Every dead letter not replayed yet.")
def replay_command(ids: tuple[int, ...], all_dead: bool) -> None:
    """Send dead letters back to their queue (needs running workers) and mark them replayed.

    A story that is published then stays "replayed"; one that fails again is "dead" again, one attempt more.

    \b
    Examples:
      feedworkers dead replay 12 13
      feedworkers dead replay --all
    """
    from workers.broker import broker_url
    from workers.dead_letters import DeadLetterNotFound, ReplayError, replay

    if bool(ids) == all_dead:
        raise click.UsageError("name one or more dead letter ids, or pass --all")
    settings = _settings()
    broker_url()  # the embedded Redis, when it is the broker, must run before anything is enqueued
    try:
        sent = replay(settings, None if all_dead else list(ids))
    except (DeadLetterNotFound, ReplayError) as error:
        raise click.ClickException(str(error)) from None
    if not sent:
        click.echo("dead: no dead letter to replay")
    for dead_letter_id in sent:
        click.echo(f"dead letter {dead_letter_id}: sent back to the queue")


@dead.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    help="Delete every dead letter (replayed or not) that last failed more than DAYS days ago.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_command(days: float | None, yes: bool) -> None:
    """Delete the replayed dead letters, or with --older-than every one older than DAYS days.

    \b
    Examples:
      feedworkers dead purge
      feedworkers dead purge --older-than 30 --yes
    """
    from workers.dead_letters import purge

    settings = _settings()
    url = settings.resolved_database_url
    count = purge(url, older_than_days=days, dry_run=True)
    what = "replayed" if days is None else f"last failed more than {days:g} days ago"
    if count == 0:
        click.echo(f"dead: no dead letter {what}")
        return
    if not yes:
        click.confirm(f"dead: delete {count} dead letter(s) {what}?", abort=True)
    click.echo(f"dead: deleted {purge(url, older_than_days=days)} dead letter(s) {what}")
