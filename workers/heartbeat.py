"""Workers announce themselves in Redis, so `status` sees who is alive without a broadcast round.

Each worker process writes `fw:workers:<node name>` (host, pid, queues, concurrency, last heartbeat) every
few seconds with a short expiry: a killed worker disappears by itself. Each finished task adds one to a
per-minute counter of its worker, which gives "tasks in the last 5 minutes". Celery's own `inspect` needs
every worker to answer a broadcast within a timeout; this needs none to be idle.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
import structlog

__all__ = ["INTERVAL", "alive", "count_task", "start", "stop"]

INTERVAL = 5.0
_EXPIRE = 20  # seconds: four missed beats
_WORKERS = "fw:workers:"
_TASKS = "fw:tasks:"
_log = structlog.get_logger("workers.heartbeat")
_stopping = threading.Event()
# This process's worker node name, set at worker start; prefork children inherit it (a task's own
# `request.hostname` is the machine's name in some pools, not the node's).
_node: str | None = None


def _announce(client: redis.Redis, controller: Any) -> None:
    # The queues the worker consumes right now (an operator may have cancelled or added one since it started).
    task_consumer = getattr(getattr(controller, "consumer", None), "task_consumer", None)
    if task_consumer is not None:
        queues = sorted({queue.name for queue in list(task_consumer.queues)})
    else:
        queues = sorted(getattr(controller.app.amqp.queues, "consume_from", None) or controller.app.amqp.queues)
    info = {
        "worker": controller.hostname,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "queues": queues,
        "concurrency": controller.concurrency,
        "last_heartbeat": time.time(),
    }
    client.set(_WORKERS + controller.hostname, orjson.dumps(info), ex=_EXPIRE)


def start(client: redis.Redis, controller: Any) -> None:
    """Beat for this worker until `stop` (a daemon thread: it never holds a shutdown up)."""
    global _node  # noqa: PLW0603 - one worker node per process, by Celery's design
    _node = controller.hostname
    _stopping.clear()

    def beat() -> None:
        while not _stopping.is_set():
            try:
                _announce(client, controller)
            except redis.RedisError as error:  # Redis restarting: the next beat tries again
                _log.warning("heartbeat failed", worker=controller.hostname, reason=str(error))
            _stopping.wait(INTERVAL)

    threading.Thread(target=beat, name="feedworkers-heartbeat", daemon=True).start()


def stop(client: redis.Redis, hostname: str) -> None:
    """Stop beating and leave at once (a clean shutdown is not a death)."""
    _stopping.set()
    try:
        client.delete(_WORKERS + hostname)
    except redis.RedisError:
        pass  # the key expires by itself


def count_task(client: redis.Redis) -> None:
    """One finished task of this process's worker, counted in the current minute."""
    if _node is None:
        return  # not a worker (a task run in a test client or a shell)
    key = f"{_TASKS}{_node}:{int(time.time() // 60)}"
    with client.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, 600)
        pipe.execute()


def alive(client: redis.Redis, now: float | None = None) -> list[dict[str, Any]]:
    """Workers with a recent heartbeat: worker, host, pid, queues, concurrency, last_heartbeat, tasks_5m."""
    now = time.time() if now is None else now
    keys = sorted(client.scan_iter(match=_WORKERS + "*", count=500))
    workers = [orjson.loads(raw) for raw in client.mget(keys) if raw] if keys else []
    minute = int(now // 60)
    with client.pipeline(transaction=False) as pipe:
        for worker in workers:
            pipe.mget([f"{_TASKS}{worker['worker']}:{minute - back}" for back in range(5)])
        counts = pipe.execute()
    for worker, values in zip(workers, counts, strict=True):
        worker["tasks_5m"] = sum(int(value) for value in values if value)
        worker["last_heartbeat"] = datetime.fromtimestamp(worker["last_heartbeat"], UTC).isoformat(timespec="seconds")
    return workers
