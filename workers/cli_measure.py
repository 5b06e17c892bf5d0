"""`feedworkers eval` and `feedworkers bench`: score and measure the pipeline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from workers.errors import ConfigError

__all__ = ["bench", "evaluate"]


@click.group(name="eval")
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
    private data folder with its own Redis and store; your configuration's rule files are used.

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
        score = evaluate_dedup(corpus_dir, config_dir=get_settings().config_dir, concurrency=concurrency, keep=keep)
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


@evaluate.command("tags")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--concurrency", type=int, default=2, show_default=True, help="Story worker processes.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", is_flag=True, help="List every miss, not only the figures.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep the run's data in this folder.")
def eval_tags(corpus_dir: Path, concurrency: int, as_json: bool, verbose: bool, keep: Path | None) -> None:
    """Run CORPUS_DIR through the real pipeline and score cleaning and tagging of what is published.

    Prints precision, recall and F1 of persons, organizations and places, category accuracy with a
    confusion table, regional and language accuracy, and the share of stories whose boilerplate is gone
    and whose own sentences are kept. Your configuration's rule files (clean, tags, region) are used.

    \b
    Examples:
      feedworkers eval tags ../shared/corpus/dev
      feedworkers eval tags corpus/ --json | jq .places
    """
    from workers.eval_tags import ENTITY_FIELDS, evaluate_tags
    from workers.logs import configure_logging
    from workers.settings import get_settings

    configure_logging(os.environ.get("FEEDWORKERS_LOG_LEVEL", "WARNING"))
    try:
        score = evaluate_tags(corpus_dir, config_dir=get_settings().config_dir, concurrency=concurrency, keep=keep)
    except (ConfigError, RuntimeError) as error:
        raise click.ClickException(str(error)) from None
    result = score.as_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(f"stories scored: {score.scored} ({score.linked} entries linked as duplicates, not scored)")
    for name in ENTITY_FIELDS:
        entity = score.entities[name]
        line = f"{name:<14} precision {entity.precision:.3f}  recall {entity.recall:.3f}  F1 {entity.f1:.3f}"
        click.echo(line)
    click.echo(f"category       accuracy {result['category_accuracy']:.3f}")
    for pair, count in result["category_confusion"].items():
        want, got = pair.split(" → ")
        if want != got:
            click.echo(f"  {pair}: {count}")
    click.echo(f"regional       accuracy {result['regional_accuracy']:.3f}")
    click.echo(f"language       accuracy {result['language_accuracy']:.3f}")
    click.echo(f"boilerplate    {result['boilerplate_clean']:.1%} of stories clean")
    for failure in score.boilerplate_failures:
        click.echo(f"  {failure}")
    if verbose:
        for item in score.wrong:
            click.echo(f"  wrong: {item}")
        for name in ENTITY_FIELDS:
            for miss in score.entities[name].misses:
                click.echo(f"  {name}: {miss}")


@click.group()
def bench() -> None:
    """Measure the pipeline's parts at scale."""


@bench.command("index")
@click.option("--stories", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Stories indexed.")
@click.option("--lookups", type=click.IntRange(min=2), default=10_000, show_default=True, help="Lookups timed.")
@click.option("--buckets", type=click.IntRange(min=1), default=None, help="Hashes per band and slot (default: 4096).")
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


@bench.command("stages")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True, help="Passes over the stories.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def bench_stages(corpus_dir: Path, repeat: int, as_json: bool) -> None:
    """Time clean and tag per story on one core, over the feed files of CORPUS_DIR/feeds.

    The budget is 2 ms median for clean and tag together per 2 KB story, timed on 2 KB stories made of the
    corpus's paragraphs (the corpus stories as they are, often shorter, are timed too).

    \b
    Examples:
      feedworkers bench stages ../shared/corpus/dev
      feedworkers bench stages ../shared/corpus/dev --repeat 20 --json
    """
    from workers.bench_stages import bench_stages as run_bench
    from workers.logs import configure_logging
    from workers.settings import get_settings

    configure_logging("WARNING")
    try:
        result = run_bench(corpus_dir, get_settings(), repeat=repeat)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:<34} {value}")
    met = result["two_kb_stories"] > 0 and result["two_kb_clean_and_tag_median_ms"] <= 2.0
    click.echo(f"target clean + tag ≤ 2 ms median per 2 KB story: {'PASS' if met else 'MISS'}")
