"""The `feedworkers` command line."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from workers.errors import ConfigError

__all__ = ["main"]

_EXTRA = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["-h", "--help"]}


def _startup(*, migrate: bool = False, sync: bool = True) -> Any:
    """Validate the configuration and make sure the store is ready; exit 1 with a clear message if not."""
    from workers.boilerplate import load_rules
    from workers.feeds_config import load_feeds
    from workers.logs import configure_logging
    from workers.schedule import sync_feeds
    from workers.settings import get_settings
    from workers.store.migrate import current_revision, head_revision, upgrade

    configure_logging(os.environ.get("FEEDWORKERS_LOG_LEVEL", "INFO"))
    settings = get_settings()
    database_url = settings.resolved_database_url
    try:
        configs = load_feeds(settings.feeds_file)
        load_rules(settings.clean_file)
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

    settings = _startup(migrate=True)
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

    _startup()
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

    settings = _startup()
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
    from workers.refetch import refetch as enqueue_refetch
    from workers.refetch import wait_for_polls
    from workers.schedule import known_feeds

    if bool(feeds) == all_feeds:
        raise click.UsageError("name one or more feeds, or pass --all")
    settings = _startup()
    broker_url()  # the embedded Redis, when it is the broker, must run before anything is enqueued
    known = known_feeds(settings.resolved_database_url)
    if all_feeds:
        feeds = tuple(feed for feed, enabled in known.items() if enabled)
    unknown = [feed for feed in feeds if feed not in known]
    if unknown:
        msg = f"refetch: unknown feed '{unknown[0]}'; known feeds: {', '.join(known) or 'none'}"
        raise click.ClickException(msg)
    polls = enqueue_refetch(settings, list(feeds), force=force)
    for feed, poll_id in polls:
        click.echo(f"refetch: feed '{feed}' enqueued as poll {poll_id}")
    if wait:
        if not wait_for_polls(settings, [poll_id for _, poll_id in polls], timeout):
            click.echo(f"refetch: not finished after {timeout:.0f} s (are workers running?)", err=True)
        _print_summary(settings, [poll_id for _, poll_id in polls])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Queues (waiting, in flight), workers alive, and every feed's polling state.

    \b
    Examples:
      feedworkers status
      feedworkers status --json | jq '.feeds[] | select(.consecutive_errors > 0)'
    """
    from workers.broker import broker_url, redis_client
    from workers.report import feed_status, queue_status, workers_alive

    settings = _startup(sync=False)
    broker_url()  # the embedded Redis, when it is the broker, must run to be asked
    report = {
        "queues": queue_status(redis_client()),
        "workers": workers_alive(),
        "feeds": feed_status(settings.resolved_database_url),
    }
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    _print_status(report)


def _print_status(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    queues = Table(title="queues")
    for column in ("queue", "waiting", "in flight"):
        queues.add_column(column)
    for name, depth in report["queues"].items():
        queues.add_row(name, str(depth["waiting"]), str(depth["in_flight"]))
    console.print(queues)
    workers = Table(title=f"workers alive: {len(report['workers'])}")
    for column in ("worker", "pid", "concurrency", "queues"):
        workers.add_column(column)
    for row in report["workers"]:
        workers.add_row(row["worker"], str(row["pid"]), str(row["concurrency"]), ",".join(row["queues"]))
    console.print(workers)
    feeds = Table(title="feeds")
    for column in ("feed", "enabled", "last poll", "HTTP", "errors", "stories", "next poll", "keyed by", "last error"):
        feeds.add_column(column)
    for row in report["feeds"]:
        keyed_by = row["keyed_by"] if not row["keyed_by_reason"] else f"{row['keyed_by']} ({row['keyed_by_reason']})"
        feeds.add_row(
            row["feed"], "yes" if row["enabled"] else "no", _short(row["last_poll"]), str(row["last_status"] or "-"),
            str(row["consecutive_errors"]), str(row["stories"]), _short(row["next_poll"]), keyed_by,
            row["last_error"] or "",
        )  # fmt: skip
    console.print(feeds)


def _short(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "-"


@main.command()
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

    settings = _startup(sync=False)
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


@main.command()
@click.argument("story_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--remove", "change", flag_value="remove", help="Remove the story for good: no poll or refetch brings it back."
)
@click.option("--restore", "change", flag_value="restore", help="Publish a removed story again.")
@click.option("--lock", "change", flag_value="lock", help="Staff edited it: keep new versions as pending revisions.")
@click.option("--unlock", "change", flag_value="unlock", help="Let new versions update the story again.")
def story(story_id: str, as_json: bool, change: str | None) -> None:
    """One story with its sources, revisions and the dedup decisions behind them.

    STORY_ID is a story id, the id an entry arrived with (a duplicate shows which story it joined), or a
    prefix of at least 8 characters.

    \b
    Examples:
      feedworkers story 3f2a9c1e
      feedworkers story 3f2a9c1e --json | jq '.decisions'
      feedworkers story 3f2a9c1e --remove
    """
    from workers.report import story_detail
    from workers.story_admin import StoryNotFound, set_story_state

    settings = _startup(sync=False)
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
            f"{_short(revision['created_at'])}  {revision['reason'] or ''}"
        )
    click.echo("\ndecisions:")
    for decision in detail["decisions"]:
        click.echo(
            f"  {_short(decision['at'])}  {decision['feed']:<20} {decision['action']:<8} "
            f"{decision['method'] or '-':<11} {decision['reason']}"
        )


@main.group(name="eval")
def evaluate() -> None:
    """Score the pipeline on a labelled corpus."""


@evaluate.command("dedup")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--concurrency", type=int, default=2, show_default=True, help="Story worker processes.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep the run's data in this folder.")
def eval_dedup(corpus_dir: Path, concurrency: int, as_json: bool, keep: Path | None) -> None:
    """Run CORPUS_DIR (feeds/, feeds_v2/, labels.json) through the real pipeline and score dedup.

    Prints precision, recall and F1 over duplicate pairs, the hard-negative pairs wrongly merged, and
    update accuracy (material change → new revision, trivial change → none). The pipeline runs in a
    private data folder with its own Redis and store; your configuration's clean rules are used.

    \b
    Examples:
      feedworkers eval dedup ../shared/corpus/dev
      feedworkers eval dedup corpus/ --json | jq .f1
    """
    from workers.evaluate import evaluate_dedup
    from workers.logs import configure_logging
    from workers.settings import get_settings

    configure_logging(os.environ.get("FEEDWORKERS_LOG_LEVEL", "WARNING"))
    try:
        score = evaluate_dedup(corpus_dir, clean_file=get_settings().clean_file, concurrency=concurrency, keep=keep)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    result = score.as_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(f"duplicate pairs: precision {score.precision:.3f}  recall {score.recall:.3f}  F1 {score.f1:.3f}")
    click.echo(f"  true {score.true_pairs}, predicted {score.predicted_pairs}, correct {score.correct_pairs}")
    click.echo(f"hard negatives merged: {len(score.hard_negatives_merged)} of {score.hard_negatives}")
    click.echo(f"updates: {score.updates_right} of {score.updates} right ({score.update_accuracy:.0%})")
    for label, items in (
        ("missed pair", score.missed_pairs),
        ("wrongly merged", score.wrong_pairs),
        ("hard negative merged", score.hard_negatives_merged),
        ("wrong update", score.wrong_updates),
        ("record not found", score.unmatched_records),
    ):
        for item in items:
            click.echo(f"  {label}: {item}")


@main.group()
def bench() -> None:
    """Measure the pipeline's parts at scale."""


@bench.command("index")
@click.option("--stories", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Stories indexed.")
@click.option("--lookups", type=click.IntRange(min=2), default=10_000, show_default=True, help="Lookups timed.")
@click.option("--buckets", type=click.IntRange(min=1), default=None, help="Hashes per band and day (default: 2048).")
@click.option(
    "--window-days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Days the index covers; the stories' times are spread over them.",
)
@click.option("--redis-url", help="Use this empty Redis database instead of a private server started for the run.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def bench_index(
    stories: int, lookups: int, buckets: int | None, window_days: float, redis_url: str | None, as_json: bool
) -> None:
    """Fill the near-duplicate index with synthetic stories, then time lookups and weigh its memory.

    Half the lookups are for indexed signatures (each must find its story), half for fresh ones. The
    targets are a p99 lookup of at most 2 ms and at most 1 KiB of Redis memory per indexed story.

    \b
    Examples:
      feedworkers bench index
      feedworkers bench index --stories 20000 --lookups 2000
      feedworkers bench index --buckets 4096 --json | jq .bytes_per_story
    """
    from workers.bench_index import bench_index as run_bench

    try:
        result = run_bench(stories, lookups, buckets, window_days, redis_url)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    targets = {
        "lookup p99 ≤ 2 ms": result["lookup_p99_ms"] <= 2.0,
        "memory ≤ 1 KiB per story": result["bytes_per_story"] <= 1024,
    }
    if as_json:
        result["targets"] = {name: "PASS" if met else "MISS" for name, met in targets.items()}
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    latency = " ".join(f"{q} {result[f'lookup_{q}_ms']:.3f} ms" for q in ("p50", "p99", "max"))
    rows = [
        ("stories", f"{result['stories']:,} over {result['window_days']:g} days"),
        (
            "layout",
            (
                f"{result['bands']} bands × {result['buckets']} buckets per slot of {result['slot_hours']:g} h, "
                f"{result['index_keys']:,} keys"
            ),
        ),
        ("fill", f"{result['fill_seconds']:.1f} s ({result['inserts_per_second']:,} stories/s)"),
        ("memory", f"{result['used_memory_bytes'] / 2**20:,.1f} MiB, {result['bytes_per_story']:.0f} B per story"),
        (
            "hashes (sample)",
            f"{result['mean_fields_per_key']:g} fields on average, encodings {result['hash_encodings']}",
        ),
        ("lookup", latency),
        ("stored found", f"{result['stored_found_rate']:.2%}"),
        ("fresh candidates", f"{result['fresh_mean_candidates']:g} on average"),
        ("redis", result["redis_version"]),
    ]
    for name, value in rows:
        click.echo(f"{name:<17} {value}")
    for name, met in targets.items():
        click.echo(f"target {name}: {'PASS' if met else 'MISS'}")


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
    settings = _startup(migrate=True, sync=False)
    click.echo(f"db: store at {_redact(settings.resolved_database_url)} is up to date")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
