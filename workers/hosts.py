"""Per-host politeness shared by every worker, kept in Redis so that all processes and machines agree.

Three keys per host (`host:port`; the braces are a Redis Cluster hash tag, so one script sees all three):
- `fw:host:{h}:slots` a sorted set of the fetches running now, scored by when each slot expires: a worker
  killed mid-fetch never releases its slot, so a slot frees itself once it expires;
- `fw:host:{h}:next` when the next request to the host may start (the minimum gap between requests);
- `fw:host:{h}:not-before` the time the host asked for with a Retry-After (429/503): no request before it.

A turn is taken in one script: the not-before check, a free slot and the next start time are one atomic
decision, so two workers can never both take the last slot or the same start time. A worker waits a few
seconds at most for its turn; past that it is told when to come back instead (a deferral), so a busy or
stalled host never ties up the workers that other hosts' feeds need.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import redis
import structlog

from workers.broker import redis_client
from workers.settings import Settings

__all__ = [
    "BUSY_RETRY",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MIN_INTERVAL",
    "MAX_NOT_BEFORE",
    "TURN_WAIT",
    "Deferred",
    "Turn",
    "give_back",
    "host_key",
    "not_before",
    "pause_for",
    "set_not_before",
    "take_turn",
    "turn_for",
]

_log = structlog.get_logger("workers.hosts")

DEFAULT_CONCURRENCY = 2
DEFAULT_MIN_INTERVAL = 1.0
# The longest a poll waits for its turn before it is deferred: short, so a worker is never tied up for long.
TURN_WAIT = 5.0
# A poll deferred because the host's slots stayed taken comes back this much later.
BUSY_RETRY = 5.0
# A Retry-After further ahead than this is taken as this: a typo or a hostile server must not stop a host for years.
MAX_NOT_BEFORE = 24 * 3600.0
_RETRY_EVERY = 0.2
_DEFAULT_PORTS = {"http": 80, "https": 443}

# KEYS: slots, next, not-before. ARGV: now, token, hold, concurrency, gap, wait, respect not-before (1/0).
# Returns {state, time}: "ok" and the start time, "later" and the not-before time, "full" and the earliest
# slot expiry, or "gap" and the start time that lies beyond the wait. Times travel as strings: Redis turns
# Lua numbers into integers.
_TAKE = """
local now = tonumber(ARGV[1])
if ARGV[7] == '1' then
  local nb = tonumber(redis.call('GET', KEYS[3]) or '0')
  if nb > now then return {'later', tostring(nb)} end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'full', first[2]}
end
local start = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
if start - now > tonumber(ARGV[6]) then return {'gap', tostring(start)} end
local expires = start + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expires, ARGV[2])
local ttl = math.ceil((expires - now) * 1000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local gap = tonumber(ARGV[5])
if gap > 0 then
  redis.call('SET', KEYS[2], tostring(start + gap), 'PX', math.ceil((start + gap - now) * 1000) + 1000)
end
return {'ok', tostring(start)}
"""

# KEYS: not-before. ARGV: the new time, its time to live in ms. Keeps the later of the stored and the new time.
_EXTEND = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return tostring(current)
"""


@dataclass(frozen=True, slots=True)
class Turn:
    """A slot held on `host`; give it back with `give_back` when the fetch is done."""

    host: str
    token: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """No turn now: come back at `until` (epoch seconds). `why` is "retry-after" (the host asked for a pause)
    or "busy" (its slots are taken, or the queue of start times is longer than the wait)."""

    host: str
    until: float
    why: Literal["retry-after", "busy"]


def host_key(url: str) -> str | None:
    """`host:port` of an http(s) URL (the unit every limit applies to); None for other URLs (local files)."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _keys(host: str) -> list[str]:
    return [f"fw:host:{{{host}}}:slots", f"fw:host:{{{host}}}:next", f"fw:host:{{{host}}}:not-before"]


def take_turn(
    client: redis.Redis,
    host: str,
    *,
    concurrency: int,
    min_interval: float,
    hold: float,
    respect_not_before: bool = True,
    wait: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Turn | Deferred:
    """Take a slot on `host` and wait for the start time it comes with (at most `wait` seconds in all,
    TURN_WAIT unless given).

    `hold` is how long the slot may be held before it frees itself (longer than any fetch may take).
    `clock` is wall-clock time because the not-before times come from HTTP dates and are shared by machines.
    """
    wait = TURN_WAIT if wait is None else wait
    token = uuid.uuid4().hex
    script = client.register_script(_TAKE)
    give_up = clock() + wait
    while True:
        now = clock()
        args = [repr(now), token, repr(hold), max(1, concurrency), repr(max(0.0, min_interval)),
                repr(max(0.0, give_up - now)), "1" if respect_not_before else "0"]  # fmt: skip
        state, at = (_text(value) for value in script(keys=_keys(host), args=args))
        when = float(at)
        if state == "ok":
            sleep(max(0.0, when - clock()))
            return Turn(host, token)
        if state == "later":
            return Deferred(host, when, "retry-after")
        if state == "gap":
            # Waiting cannot help: the start times already handed out reach past the wait.
            return Deferred(host, when, "busy")
        if clock() + _RETRY_EVERY > give_up:
            return Deferred(host, clock() + BUSY_RETRY, "busy")
        sleep(_RETRY_EVERY)


def turn_for(url: str, settings: Settings, *, respect_not_before: bool = True) -> Turn | Deferred | None:
    """A turn on the host of `url` with the configured limits; None for local files, or when Redis cannot be
    asked (polling then goes on unthrottled rather than stopping: the broker is Redis too, so it is brief)."""
    host = host_key(url)
    if host is None:
        return None
    try:
        return take_turn(
            redis_client(),
            host,
            concurrency=getattr(settings, "host_concurrency", DEFAULT_CONCURRENCY),
            min_interval=getattr(settings, "host_min_interval", DEFAULT_MIN_INTERVAL),
            hold=settings.fetch_deadline + TURN_WAIT + 15,  # longer than the wait and the fetch together
            respect_not_before=respect_not_before,
        )
    except redis.RedisError as error:
        _log.warning("host limits unavailable", host=host, reason=f"hosts: limits of {host} not applied: {error}")
        return None


def give_back(turn: Turn | Deferred | None, client: redis.Redis | None = None) -> None:
    """Free a Turn's slot at once (anything else holds none); a slot never given back frees itself when it expires."""
    if isinstance(turn, Turn):
        with suppress(redis.RedisError):
            (client or redis_client()).zrem(_keys(turn.host)[0], turn.token)


def pause_for(url: str, seconds: float | None) -> None:
    """The server's Retry-After applies to its whole host: no worker requests any feed there before it."""
    host = host_key(url)
    if host and seconds:
        with suppress(redis.RedisError):
            set_not_before(redis_client(), host, time.time() + seconds)


def set_not_before(client: redis.Redis, host: str, until: float, *, now: float | None = None) -> float:
    """No request to `host` before `until` (epoch seconds, at most MAX_NOT_BEFORE ahead); an earlier pause
    already recorded never shortens a later one. Returns the time in force."""
    now = time.time() if now is None else now
    until = min(until, now + MAX_NOT_BEFORE)
    ttl_ms = max(1, int((until - now) * 1000) + 60_000)
    script = client.register_script(_EXTEND)
    return float(_text(script(keys=[_keys(host)[2]], args=[repr(until), ttl_ms])))


def not_before(client: redis.Redis, host: str, *, now: float | None = None) -> float | None:
    """The time before which `host` must not be requested, or None when it may be requested now."""
    now = time.time() if now is None else now
    raw = client.get(_keys(host)[2])
    value = float(_text(raw)) if raw is not None else 0.0
    return value if value > now else None


def _text(value: bytes | str | float) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
