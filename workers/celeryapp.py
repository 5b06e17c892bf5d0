"""The Celery app: queues, delivery settings and the base Task every task uses.

Why these settings: shared notes "Celery on Redis". Redis has no real acks, so every task acks late, is
requeued when its worker dies, and is idempotent; results are never stored; messages are JSON only.
"""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any

import structlog
from celery import Celery, Task, signals
from kombu import Exchange, Queue
from redis import Redis
from redis.exceptions import RedisError

from workers import heartbeat
from workers.boilerplate import load_rules
from workers.broker import broker_url, configured_broker_url, redis_client
from workers.dead_letters import record_dead_letter
from workers.errors import ConfigError
from workers.logs import configure_logging
from workers.settings import get_settings
from workers.store.db import dispose_engines
from workers.tag import warm_up

__all__ = [
    "FEEDS_QUEUE",
    "MAX_DELIVERIES",
    "RETRY_MAX_SECONDS",
    "STORIES_QUEUE",
    "TASK_TIME_LIMIT",
    "BaseTask",
    "app",
    "set_deliveries",
]

FEEDS_QUEUE = "feeds"
STORIES_QUEUE = "stories"

# A killed worker's unacknowledged messages return after this many seconds (plus the 5 s restore sweep),
# so within a minute. It must stay above the longest hard time limit (TASK_TIME_LIMIT) or a task still
# running is delivered a second time. A retry is a message with an ETA that its worker holds, unacked, until
# then: RETRY_MAX_SECONDS stays well below the visibility timeout so a waiting retry is never restored twice.
VISIBILITY_TIMEOUT = 55
TASK_SOFT_TIME_LIMIT = 40
TASK_TIME_LIMIT = 45
RETRY_MAX_SECONDS = 30
# Poison guard: a message delivered this many times without completing killed its worker each time and is not
# run again; the counts outlive any redelivery loop (requeued at once, or after the visibility timeout).
MAX_DELIVERIES = 3
_DELIVERIES_TTL = 24 * 3600

_log = structlog.get_logger("workers.celeryapp")


class BaseTask(Task):
    """Owns what every task shares: late acks, no results, log context, and the poison guard.

    The guard: a message whose worker process dies (out of memory, crash, kill) is requeued
    (`reject_on_worker_lost`), so one that kills its worker every time would loop forever. Each delivery is
    counted per task id in Redis and the count is dropped when the task completes (success, failure or
    retry); a message delivered again after `MAX_DELIVERIES` deliveries without completing is kept as a
    dead letter and acked instead of run (shared notes §1.5, §3.2).
    """

    acks_late = True
    ignore_result = True
    reject_on_worker_lost = True
    typing = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        structlog.contextvars.bind_contextvars(task=self.name, task_id=self.request.id)
        counted = self.request.delivery_info and not (self.request.called_directly or self.request.is_eager)
        task_id = self.request.id if counted else None
        deliveries = _count_delivery(task_id)
        completed = False
        try:
            if deliveries > MAX_DELIVERIES:
                result = self._bury_poison(args, kwargs, deliveries - 1)
            else:
                result = super().__call__(*args, **kwargs)
            completed = True
            return result
        except Exception:
            completed = True  # failed or retried: it completed all the same
            raise
        finally:
            # Not on SystemExit: billiard turns a terminating signal to a pool process (SIGTERM, SIGHUP, SIGQUIT,
            # SIGUSR1) into SystemExit, which runs this block while the process dies; that delivery stays counted.
            if completed and task_id is not None:
                with suppress(RedisError):
                    redis_client().delete(_deliveries_key(task_id))
            structlog.contextvars.clear_contextvars()

    def _bury_poison(self, args: tuple[Any, ...], kwargs: dict[str, Any], deliveries: int) -> None:
        reason = f"task {self.name} {self.request.id} killed its worker {deliveries} times; it was not run again"
        try:
            dead_letter_id = record_dead_letter(
                get_settings().resolved_database_url, task=self.name, args=args, kwargs=kwargs, error=reason,
                attempts=deliveries, client=redis_client(),
            )  # fmt: skip
        except Exception as error:  # noqa: BLE001 - running it again would kill another worker: ack it regardless
            _log.error("dead letter lost", reason=reason, error=f"{type(error).__name__}: {error}")
            return
        _log.error("poison message", reason=reason, dead_letter_id=dead_letter_id)


def _deliveries_key(task_id: str) -> str:
    return f"fw:deliveries:{task_id}"


def _count_delivery(task_id: str | None) -> int:
    """This delivery's number (0 when not counted: called directly, or Redis is unavailable)."""
    if task_id is None:
        return 0
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            pipe.incr(_deliveries_key(task_id))
            pipe.expire(_deliveries_key(task_id), _DELIVERIES_TTL)
            count, _ = pipe.execute()
    except RedisError as error:
        _log.warning("delivery not counted", reason=f"{type(error).__name__}: {error}")
        return 0
    return int(count)


def set_deliveries(client: Redis, task_id: str, count: int) -> None:
    """Set how often `task_id` was delivered without completing: to reset the guard for a message by hand,
    or to preset it (tests)."""
    client.set(_deliveries_key(task_id), count, ex=_DELIVERIES_TTL)


def _config() -> dict[str, Any]:
    settings = get_settings()
    return {
        "broker_url": configured_broker_url(),
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": VISIBILITY_TIMEOUT,
            # kombu 5.7: sweep for lost messages every 5 s instead of roughly every 100 s.
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        },
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Each queue has its own exchange and routing key, so the bindings on the broker say where messages
        # go (by default Celery binds every queue to the default queue's exchange and key).
        "task_queues": tuple(
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (FEEDS_QUEUE, STORIES_QUEUE)
        ),
        "task_default_queue": STORIES_QUEUE,
        "task_default_exchange": STORIES_QUEUE,
        "task_default_routing_key": STORIES_QUEUE,
        "task_routes": {
            "workers.tick": {"queue": FEEDS_QUEUE},
            "workers.poll_feed": {"queue": FEEDS_QUEUE},
            "workers.process_story": {"queue": STORIES_QUEUE},
        },
        "task_soft_time_limit": TASK_SOFT_TIME_LIMIT,
        "task_time_limit": TASK_TIME_LIMIT,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_send_task_events": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 10.0,
        "worker_max_tasks_per_child": 2000,
        "beat_schedule": {
            "tick": {
                "task": "workers.tick",
                "schedule": settings.tick_seconds,
                # A tick nobody ran in time is worthless: the next one finds the same due feeds.
                "options": {"expires": settings.tick_seconds},
            }
        },
        "beat_schedule_filename": str(settings.data_dir / "celerybeat-schedule"),
    }


app = Celery("workers", task_cls=BaseTask, include=["workers.tasks"])
# The config is a promise, read when first needed; the embedded Redis is started only by the processes
# that connect (worker and beat start-up below, the CLI), never by reading the configuration.
app.add_defaults(_config)


@signals.setup_logging.connect
def _setup_logging(loglevel: int | str | None = None, **_: Any) -> None:
    # Connecting here stops Celery from installing its own handlers: its records go through structlog.
    configure_logging(loglevel or "INFO")


@signals.beat_init.connect
def _sync_feeds(**_: Any) -> None:
    broker_url()  # starts the embedded Redis when no FEEDWORKERS_REDIS_URL is set
    # Beat is the scheduler, so it brings config/feeds.yaml into the store when it starts, also when it
    # runs as plain `celery -A workers beat`; invalid configuration stops it with one clear message.
    from workers.feeds_config import load_feeds
    from workers.schedule import sync_feeds

    settings = get_settings()
    try:
        counts = sync_feeds(settings.resolved_database_url, load_feeds(settings.feeds_file))
    except ConfigError as error:
        _log.error("config invalid", reason=str(error))
        raise SystemExit(str(error)) from None
    _log.info("feeds synced", file=str(settings.feeds_file), **counts)


@signals.worker_init.connect
def _prepare_worker(sender: Any = None, **_: Any) -> None:
    # A worker fails at start, not on its first story, when a rule file is invalid; and it loads the
    # language model and gazetteers once here, before prefork children are forked and share them.
    broker_url()  # starts the embedded Redis when no FEEDWORKERS_REDIS_URL is set
    settings = get_settings()
    try:
        load_rules(settings.clean_file)
        warm_up(settings)
    except ConfigError as error:
        _log.error("config invalid", reason=str(error))
        raise SystemExit(str(error)) from None
    if sender is not None:
        heartbeat.start(redis_client(), sender)


@signals.worker_shutdown.connect
def _leave(sender: Any = None, **_: Any) -> None:
    if sender is not None:
        heartbeat.stop(redis_client(), sender.hostname)


@signals.task_postrun.connect
def _count_task(**_: Any) -> None:
    with suppress(RedisError):  # a count lost while Redis restarts is no reason to fail a task
        heartbeat.count_task(redis_client())


@signals.before_task_publish.connect
def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # When the message was sent: `status` shows the age of the oldest waiting message per queue.
    if headers is not None:
        headers["fw_sent_at"] = time.time()


@signals.worker_process_init.connect
def _reset_connections(**_: Any) -> None:
    # A forked pool child must not share the parent's database sockets.
    dispose_engines()
