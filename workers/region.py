"""The regional flag: is a story ABOUT the magazine's region (`config/region.yaml`), or does it merely name a town?

Plain word matching with weights from the config file, so an editor can see why a story got its flag.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from workers.errors import ConfigError
from workers.rule_files import WORD, as_mapping, as_number, as_strings, check_keys, file_mtime, read_yaml

__all__ = ["Region", "is_regional", "load_region", "regional_score"]


@dataclass(frozen=True, slots=True)
class _Name:
    canonical: str
    factor: float  # region words may weigh less than towns
    weak: bool  # shared with places elsewhere: counts fully only next to other regional evidence
    dateline: bool  # towns and aliases can be datelines; districts and region words cannot


@dataclass(frozen=True, slots=True)
class Region:
    """The magazine's region: names that place a story in it, and what each kind of evidence weighs."""

    name: str
    towns: tuple[str, ...]
    threshold: float = 3.0
    title: float = 3.0
    dateline: float = 3.0
    lead: float = 1.5
    body: float = 1.0
    national_penalty: float = 1.5
    max_mentions: int = 4
    lead_chars: int = 400
    reporting_verbs: frozenset[str] = frozenset()
    national_markers: frozenset[str] = frozenset()
    # first word of a name form -> (the form's words, name), longest first; casefolded dateline form -> name
    _names: dict[str, list[tuple[tuple[str, ...], _Name]]] = field(default_factory=dict, repr=False, compare=False)
    _datelines: dict[str, _Name] = field(default_factory=dict, repr=False, compare=False)
    _canonical: frozenset[str] = field(default=frozenset(), repr=False, compare=False)


def _forms(last: str, adjectives: bool) -> set[str]:
    """Forms of a name's last word: genitive, and for places the adjective (Mannheimer, Schwetzinger)."""
    forms = {last, last + "s", last + "es"}
    if adjectives:
        adjective = last[:-2] + "er" if last.endswith("ingen") else last + "er"
        forms |= {adjective, adjective + "n", adjective + "s", adjective + "in", adjective + "innen"}
    return forms


def load_region(path: Path) -> Region:
    """The region in `path`, cached until the file changes; raise ConfigError naming the file, entry and field."""
    return _load_region(path, file_mtime(path))


@lru_cache(maxsize=4)
def _load_region(path: Path, _mtime: int) -> Region:
    document, where = read_yaml(path), str(path)
    lists = {"towns", "ambiguous", "districts", "reporting_verbs", "national_markers"}
    numbers = {"threshold", "max_mentions", "lead_chars"}
    check_keys(where, document, lists | numbers | {"name", "weights", "aliases", "region_words"})
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        msg = f"{path}: name must be the region's name, got {document.get('name')!r}"
        raise ConfigError(msg)
    listed = {key: as_strings(where, key, document.get(key, [])) for key in lists}
    if not listed["towns"]:
        msg = f"{path}: towns must list the region's towns"
        raise ConfigError(msg)
    ambiguous = set(listed["ambiguous"])
    aliases = as_mapping(where, "aliases", document.get("aliases") or {})
    for alias, town in aliases.items():
        if town not in listed["towns"]:
            msg = f"{path}: alias '{alias}': town must be one of the towns, got {town!r}"
            raise ConfigError(msg)
    weights = as_mapping(where, "weights", document.get("weights") or {})
    check_keys(f"{path}: weights", weights, {"title", "dateline", "lead", "body", "national_penalty"})
    # (surface form, name, has adjective forms): places have "Mannheimer", region words do not.
    forms = [(town, _Name(town, 1.0, town in ambiguous, True), True) for town in listed["towns"]]
    forms += [(str(alias), _Name(town, 1.0, str(alias) in ambiguous, True), True) for alias, town in aliases.items()]
    forms += [(district, _Name(district, 1.0, district in ambiguous, False), True) for district in listed["districts"]]
    for word, factor in as_mapping(where, "region_words", document.get("region_words") or {}).items():
        factor = as_number(f"{path}: region word '{word}'", "weight", factor)
        forms.append((str(word), _Name(str(word), factor, False, False), False))
    names: dict[str, list[tuple[tuple[str, ...], _Name]]] = defaultdict(list)
    for surface, entry, adjectives in forms:
        if not (words := tuple(WORD.findall(surface))):
            msg = f"{path}: name {surface!r} has no letters"
            raise ConfigError(msg)
        for last in _forms(words[-1], adjectives):
            names[words[0] if len(words) > 1 else last].append(((*words[:-1], last), entry))
    values = {key: as_number(where, key, document[key]) for key in numbers & set(document)}
    values |= {key: as_number(f"{path}: weights", key, value) for key, value in weights.items()}
    return Region(
        name=document["name"].strip(),
        towns=tuple(listed["towns"]),
        reporting_verbs=frozenset(verb.casefold() for verb in listed["reporting_verbs"]),
        national_markers=frozenset(listed["national_markers"]),
        _names={key: sorted(value, key=lambda item: -len(item[0])) for key, value in names.items()},
        _datelines={" ".join(surface.split()).casefold(): entry for surface, entry, _ in forms if entry.dateline},
        _canonical=frozenset(entry.canonical for _, entry, _ in forms),
        **{key: int(value) if key in ("max_mentions", "lead_chars") else value for key, value in values.items()},
    )


# "MANNHEIM (ndw):", "Heidelberg (dnk) –", "Speyer.", "Viernheim, 9. November –": a place, then a separator.
_DATELINE = re.compile(r"\s*([^\W\d][^\n(–—:,/]{0,60}?)\s*(?:[(,:/–—]|\.\s|\s-\s)")
_CLAUSE_END = re.compile(r"[,;:!?()„“”\"]|[.–—](?=\s)")


def _mentions(text: str, region: Region) -> list[tuple[int, _Name]]:
    """(offset, name) of every regional name in `text`: case-sensitive, the longest form wins."""
    matches = list(WORD.finditer(text))
    words = [match.group() for match in matches]
    found: list[tuple[int, _Name]] = []
    i = 0
    while i < len(words):
        for form, entry in region._names.get(words[i], ()):
            if tuple(words[i : i + len(form)]) == form:
                found.append((matches[i].start(), entry))
                i += len(form) - 1
                break
        i += 1
    return found


def is_regional(title: str, body_text: str, places: Sequence[str], region: Region) -> bool:
    """True when the story is about the region: named in its title or dateline, or early and repeatedly.

    `places` (the tagger's canonical places, may be empty) confirms ambiguous names and adds regional places that
    the text names in a form this module does not know.
    """
    return regional_score(title, body_text, places, region) >= region.threshold


def regional_score(title: str, body_text: str, places: Sequence[str], region: Region) -> float:
    """The evidence that `is_regional` compares with the region's threshold (for tuning and explaining)."""
    evidence: list[tuple[float, _Name]] = []
    if title_hits := _mentions(title, region):
        evidence.append(max(((region.title * name.factor, name) for _, name in title_hits), key=lambda e: e[0]))
    body_start = 0
    dateline = _DATELINE.match(body_text[:80])
    if dateline and (name := region._datelines.get(" ".join(dateline.group(1).split()).casefold())):
        evidence.append((region.dateline, name))
        body_start = dateline.end()
    body_hits = [(offset, name) for offset, name in _mentions(body_text, region) if offset >= body_start]
    ends = [match.start() for match in _CLAUSE_END.finditer(body_text)] if body_hits else []
    counted = 0
    for offset, name in body_hits:
        # "..., wie das Institut in Mannheim mitteilte" names where a source sits, not what the story is about.
        after = bisect.bisect(ends, offset)
        clause = body_text[ends[after - 1] if after else 0 : ends[after] if after < len(ends) else len(body_text)]
        if counted < region.max_mentions and not region.reporting_verbs.intersection(
            word.casefold() for word in WORD.findall(clause)
        ):
            counted += 1
            evidence.append(((region.lead if offset < region.lead_chars else region.body) * name.factor, name))
    confirmed = set(places)
    for place in confirmed & region._canonical - {name.canonical for _, name in evidence}:
        evidence.append((region.body, _Name(place, 1.0, False, False)))  # named in a form unknown here
    strong = sum(points for points, name in evidence if not name.weak or name.canonical in confirmed)
    weak = sum(points for points, name in evidence if name.weak and name.canonical not in confirmed)
    total = strong + (weak if strong > 0 else weak / 2)
    # A headline without a regional name over a lead about "deutschen Maschinenbau" is a national story.
    if not title_hits and region.national_markers.intersection(
        WORD.findall(f"{title} {body_text[: region.lead_chars]}")
    ):
        total -= region.national_penalty
    return total
