"""Which Redis the pipeline uses: FEEDWORKERS_REDIS_URL, or the embedded server under the data dir."""

from __future__ import annotations

from functools import lru_cache

import redis

from workers.embedded_redis import EmbeddedRedis
from workers.settings import get_settings

__all__ = ["broker_url", "configured_broker_url", "redis_client"]


def configured_broker_url() -> str:
    """The kombu URL of the broker, without starting anything (reading configuration has no side effects)."""
    settings = get_settings()
    return settings.redis_url or EmbeddedRedis(settings.data_dir).url


def broker_url() -> str:
    """The kombu URL of the broker, starting the embedded Redis first when none is configured."""
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    embedded = EmbeddedRedis(settings.data_dir)
    embedded.ensure()
    return embedded.url


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    if url.startswith("redis+socket://"):
        path, _, query = url.removeprefix("redis+socket://").partition("?")
        db = 0
        for part in query.split("&"):
            if part.startswith("virtual_host="):
                db = int(part.split("=", 1)[1] or 0)
        return redis.Redis(unix_socket_path=path, db=db, socket_connect_timeout=5, health_check_interval=30)
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def redis_client() -> redis.Redis:
    """A client for the broker's Redis (fetch locks, queue depths); it starts nothing, see `broker_url`."""
    return _client(configured_broker_url())
