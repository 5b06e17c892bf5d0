"""Prometheus metrics for `GET /metrics`, computed at scrape time from what Redis and the store already hold.

A custom Collector instead of module-level counters: the API process does none of the work it reports
(the workers do), so the numbers are read from the shared state on each scrape, and each app gets its own
CollectorRegistry so two apps in one process (the tests) never register a family twice. Labels are bounded
sets (stage, outcome, queue, health state): never a story id or feed id, which would grow without limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from workers.settings import Settings

__all__ = ["PipelineCollector", "metrics_registry", "render_metrics"]


class PipelineCollector(Collector):
    """Reads the stage counters, stage timings, queue depths and feed health on every collect()."""

    def __init__(self, settings: Settings, client: Callable[[], redis.Redis]) -> None:
        # The client is a factory: the broker's client is created lazily, after the embedded Redis started.
        self._settings = settings
        self._client = client

    def collect(self) -> Iterator[Metric]:
        from workers.monitor import HEALTH_STATES, status_report
        from workers.trace import stage_counts, stage_durations

        client = self._client()
        stories = CounterMetricFamily(
            "feedworkers_stories", "Stage events of stories by stage and outcome.", labels=["stage", "outcome"]
        )
        for (stage, outcome), count in sorted(stage_counts(client).items()):
            stories.add_metric([stage, outcome], count)
        yield stories

        durations = HistogramMetricFamily(
            "feedworkers_stage_duration_seconds", "How long each pipeline stage took per story.", labels=["stage"]
        )
        for stage, (buckets, total_seconds, _count) in sorted(stage_durations(client).items()):
            durations.add_metric([stage], _buckets(buckets), total_seconds)
        yield durations

        report = status_report(self._settings, client)
        yield from _queue_metrics(report.get("queues", {}))

        feeds = GaugeMetricFamily("feedworkers_feeds", "Feeds per health state.", labels=["health"])
        per_state = dict.fromkeys(HEALTH_STATES, 0)
        for feed in report.get("feeds", []):
            state = feed.get("health", "ok")
            per_state[state] = per_state.get(state, 0) + 1
        for state, count in per_state.items():
            feeds.add_metric([state], count)
        yield feeds

        yield GaugeMetricFamily(
            "feedworkers_workers_alive", "Workers with a recent heartbeat.", value=len(report.get("workers", []))
        )
        yield GaugeMetricFamily(
            "feedworkers_dead_letters",
            "Messages given up on and kept for inspection.",
            value=report.get("dead_letters", 0),
        )


def _buckets(cumulative: list[tuple[float, int]]) -> list[tuple[str, float]]:
    """Prometheus bucket labels ("0.05", "+Inf") for cumulative (upper bound, count) pairs."""
    buckets = [(floatToGoString(bound), float(count)) for bound, count in cumulative]
    if not cumulative or not math.isinf(cumulative[-1][0]):
        # The exposition format requires a +Inf bucket; the last count is the total then.
        buckets.append(("+Inf", float(cumulative[-1][1]) if cumulative else 0.0))
    return buckets


def _queue_metrics(queues: dict[str, dict[str, Any]]) -> Iterator[Metric]:
    messages = GaugeMetricFamily(
        "feedworkers_queue_messages", "Messages per queue waiting or delivered but not acknowledged.",
        labels=["queue", "state"],
    )  # fmt: skip
    oldest = GaugeMetricFamily(
        "feedworkers_queue_oldest_age_seconds", "Age of the oldest waiting message per queue.", labels=["queue"]
    )
    for queue, depth in sorted(queues.items()):
        messages.add_metric([queue, "waiting"], depth.get("waiting", 0))
        messages.add_metric([queue, "in_flight"], depth.get("in_flight", 0))
        # An empty queue has no oldest message: 0 keeps the series continuous for alerts on age.
        oldest.add_metric([queue], depth.get("oldest_age_seconds") or 0.0)
    yield messages
    yield oldest


def metrics_registry(settings: Settings, client: Callable[[], redis.Redis]) -> CollectorRegistry:
    """A private registry holding only the pipeline collector (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(settings, client))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of the registry."""
    return generate_latest(registry)
