"""Reading the rule files (tags.yaml, region.yaml): YAML, typed fields, and errors that name file and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from workers.errors import ConfigError

__all__ = ["WORD", "as_mapping", "as_number", "as_strings", "check_keys", "file_mtime", "read_yaml"]

# Letters only: a hyphen splits a word into its parts ("EU-Agrarminister"), digits never match.
WORD = re.compile(r"[^\W\d_]+")


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{path}: file not found; create it or set FEEDWORKERS_CONFIG_DIR to the folder that holds it"
        raise ConfigError(msg) from None
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise ConfigError(msg) from None
    return as_mapping(str(path), "the file", document)


def as_mapping(where: str, name: str, value: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        msg = f"{where}: {name} must be a mapping, got {value!r}"
        raise ConfigError(msg)
    return value


def as_number(where: str, name: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        msg = f"{where}: {name} must be a number ≥ {minimum:g}, got {value!r}"
        raise ConfigError(msg)
    return float(value)


def as_strings(where: str, name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        msg = f"{where}: {name} must be a list of non-empty strings, got {value!r}"
        raise ConfigError(msg)
    return [item.strip() for item in value]


def check_keys(where: str, raw: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        msg = f"{where}: unknown field {unknown[0]!r}; known fields are {', '.join(sorted(known))}"
        raise ConfigError(msg)


def file_mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1  # _read_yaml names the missing file
