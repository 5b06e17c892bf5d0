"""structlog for every process: JSON lines when stdout is not a TTY, coloured lines on a TTY.

Celery's and the standard library's records go through the same processors, so one process writes one format.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import structlog

from workers.redact import redact_event

__all__ = ["configure_logging", "get_logger", "stage_event"]

_configured = False


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is at the time of the record (it may be swapped after set-up)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(level: int | str = "INFO", *, json: bool | None = None) -> None:
    """Set up structlog and route the standard library (Celery, kombu, alembic) through it."""
    global _configured  # noqa: PLW0603 - logging is process-wide state by nature
    if json is None:
        json = not sys.stdout.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any
    if json:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=True)
    shared.append(redact_event)  # last: it also sees the formatted traceback
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: loggers then follow a later reconfiguration (tests capture logs that way).
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


def get_logger(name: str) -> Any:
    """A structlog logger; configures logging with defaults on first use in a process."""
    if not _configured:
        configure_logging()
    return structlog.get_logger(name)


_log = structlog.get_logger("workers.stage")


@contextmanager
def stage_event(
    stage: str, *, on_done: Callable[[str, dict[str, Any], float], None] | None = None, **context: Any
) -> Iterator[dict[str, Any]]:
    """Log one event for a stage with `stage`, `outcome` and `duration_ms`.

    The body may set `outcome` (default "ok") and `reason` or any other key in the yielded dict.
    An exception logs outcome "failed" with the error as reason and propagates. `on_done(stage, fields,
    duration_ms)` is called after the log line (the story's trace and the stage metrics use it).
    """
    fields: dict[str, Any] = {"outcome": "ok"}
    started = time.perf_counter()
    try:
        yield fields
    except Exception as exc:
        fields["outcome"] = "failed"
        fields.setdefault("reason", str(exc) or type(exc).__name__)
        raise
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        level = "warning" if fields["outcome"] == "failed" else "info"
        getattr(_log, level)(stage, stage=stage, **context, **fields, duration_ms=duration_ms)
        if on_done is not None:
            on_done(stage, fields, duration_ms)
