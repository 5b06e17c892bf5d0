"""`feedworkers stories` and `feedworkers story`: what was published, and why."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from workers.cli_common import short_time, startup

__all__ = ["stories", "story"]


@click.command()
@click.option("--feed", help="Only stories of this feed.")
@click.option("--since", help="Only stories fetched at or after this ISO 8601 time, e.g. 2026-11-24T08:00:00+00:00.")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of full stories.")
def stories(feed: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Published stories, newest first.

    \b
    Examples:
      feedworkers stories --limit 5
      feedworkers stories --feed wire-west --since 2026-11-24T00:00:00Z --json
    """
    from datetime import UTC

    from workers.report import list_stories

    settings = startup(sync=False)
    since_at = None
    if since:
        try:
            since_at = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"not an ISO 8601 time: {since!r}", param_hint="--since") from None
        if since_at.tzinfo is None:
            since_at = since_at.replace(tzinfo=UTC)
    rows = list_stories(settings.resolved_database_url, feed=feed, since=since_at, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['id'][:12]}  {row['feed']:<20} {row['language'] or '--'}  r{row['revision']}  {row['title']}")


@click.command()
@click.argument("story_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--remove", "change", flag_value="remove", help="Remove the story for good: no poll or refetch brings it back."
)
@click.option("--restore", "change", flag_value="restore", help="Publish a removed story again.")
@click.option("--lock", "change", flag_value="lock", help="Staff edited it: keep new versions as pending revisions.")
@click.option("--unlock", "change", flag_value="unlock", help="Let new versions update the story again.")
@click.option("--trace", is_flag=True, help="Why it is (not) published: every stage event of it and its sources.")
def story(story_id: str, as_json: bool, change: str | None, trace: bool) -> None:
    """One story with its sources, revisions and the dedup decisions behind them.

    STORY_ID is a story id, the id an entry arrived with (a duplicate shows which story it joined), or a
    prefix of at least 8 characters.

    \b
    Examples:
      feedworkers story 3f2a9c1e
      feedworkers story 3f2a9c1e --json | jq '.decisions'
      feedworkers story 3f2a9c1e --remove
      feedworkers story 3f2a9c1e --trace
    """
    from workers.report import story_detail
    from workers.story_admin import StoryNotFound, set_story_state

    settings = startup(sync=False)
    if trace:
        _trace(settings, story_id, as_json)
        return
    detail = story_detail(settings.resolved_database_url, story_id)
    if detail is None:
        click.echo(f"story: no story or entry with id {story_id!r}; list ids with `feedworkers stories`", err=True)
        sys.exit(1)
    if change:
        try:
            set_story_state(settings.resolved_database_url, detail["id"], change)  # type: ignore[arg-type]
        except StoryNotFound as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"story {detail['id']}: {change} done")
        detail = story_detail(settings.resolved_database_url, detail["id"]) or detail
    if as_json:
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    _print_story(detail)


def _print_story(detail: dict[str, Any]) -> None:
    if "duplicate_of" in detail:
        click.echo(f"entry {detail['asked_for']} is a duplicate of story {detail['duplicate_of']}\n")
    flags = [detail["status"]] + (["locked"] if detail["locked"] else [])
    click.echo(f"{detail['title']}\n{detail['id']}  revision {detail['revision']}  {', '.join(flags)}")
    click.echo(f"feed {detail['feed']}  {detail['url'] or ''}  language {detail['language'] or '-'}")
    click.echo("\nsources:")
    for source in detail["sources"]:
        how = source["method"] or "-"
        if source["similarity"] is not None and source["role"] != "primary":
            how += f" {source['similarity']:.2f}"
        click.echo(f"  {source['role']:<9} {source['feed']:<20} {how:<16} {source['title'] or ''}")
    click.echo("\nrevisions:")
    for revision in detail["revisions"]:
        click.echo(
            f"  r{revision['revision']:<3} {revision['state']:<9} {revision['feed'] or '-':<20} "
            f"{short_time(revision['created_at'])}  {revision['reason'] or ''}"
        )
    click.echo("\ndecisions:")
    for decision in detail["decisions"]:
        click.echo(
            f"  {short_time(decision['at'])}  {decision['feed']:<20} {decision['action']:<8} "
            f"{decision['method'] or '-':<11} {decision['reason']}"
        )


def _trace(settings: Any, story_id: str, as_json: bool) -> None:
    from workers.broker import broker_url, redis_client
    from workers.lineage import story_lineage

    broker_url()  # the traces are in the broker's Redis (the embedded one starts when it is the broker)
    lineage = story_lineage(settings.resolved_database_url, redis_client(), story_id)
    if lineage is None:
        click.echo(f"story: no story, entry or trace with id {story_id!r}; ids are in `feedworkers stories`", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(lineage, indent=2, ensure_ascii=False))
        return
    click.echo(f"{story_id}: {lineage['verdict']}\n")
    for event in lineage["events"]:
        extra = {key: value for key, value in event.items() if key not in _SHOWN}
        details = " ".join(f"{key}={value}" for key, value in extra.items())
        click.echo(
            f"  {short_time(event['at'])}  {event['entry'][:12]}  {event['stage']:<8} {event['outcome']:<9} "
            f"{event['duration_ms']:>8.1f} ms  {event.get('reason', '')} {details}".rstrip()
        )


_SHOWN = frozenset({"at", "entry", "stage", "outcome", "duration_ms", "reason"})
