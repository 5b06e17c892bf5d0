"""Secrets never reach a log line: passwords in URLs, bearer tokens, and values of secret-named keys.

A structlog processor, so it sees every event: ours, Celery's and kombu's (which log broker URLs, e.g.
"Connected to redis://:s3cret@queue:6379/0"), and formatted tracebacks.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "redact_event", "redact_text"]

REDACTED = "***"
# scheme://user:password@host -> scheme://user:***@host (also scheme://:password@host)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)(?P<secret>[^@\s/]+)(?=@)", re.IGNORECASE)
_BEARER = re.compile(r"(?P<head>\b(?:Bearer|Basic|Token)\s+)(?P<secret>[A-Za-z0-9._~+/=-]{6,})", re.IGNORECASE)
# key=value and "key": "value" forms in free text (query strings, reprs)
_PAIR = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|token|api[_-]?key|secret|access[_-]?token)\b[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<secret>[^\s\"'&,;)}]+)",
    re.IGNORECASE,
)
_SECRET_KEYS = re.compile(r"password|passwd|secret|token|api[_-]?key|authorization|cookie", re.IGNORECASE)


def redact_text(text: str) -> str:
    """`text` with URL passwords, bearer/basic credentials and key=secret values replaced by ***."""
    if not any(mark in text for mark in ("@", "earer", "asic", "oken", "=", ":")):
        return text
    for pattern in (_URL_PASSWORD, _BEARER, _PAIR):
        text = pattern.sub(lambda match: match.group("head") + REDACTED, text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: REDACTED if _secret_key(key) else _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(item) for item in value)
    return value


def _secret_key(key: Any) -> bool:
    return isinstance(key, str) and _SECRET_KEYS.search(key) is not None


def redact_event(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: redact every value of the event (keys named like secrets entirely)."""
    return {
        key: REDACTED if _secret_key(key) and key != "event" else _clean(value) for key, value in event_dict.items()
    }
