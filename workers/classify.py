"""Category, free tags, regional flag and keywords of a story, from `config/tags.yaml` and `config/region.yaml`.

Everything here is plain word matching with weights from the two config files, so an editor can see why a story
got its category or flag and tune it without code. The rules describe kinds of news, not single stories.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from workers.errors import ConfigError

__all__ = [
    "Region", "Taxonomy", "categorize", "is_regional", "load_region", "load_taxonomy", "regional_score",
]  # fmt: skip

# Letters only: a hyphen splits a word into its parts ("EU-Agrarminister"), digits never match.
_WORD = re.compile(r"[^\W\d_]+")


# --- config reading, shared by both files -------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{path}: file not found; create it or set FEEDWORKERS_CONFIG_DIR to the folder that holds it"
        raise ConfigError(msg) from None
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise ConfigError(msg) from None
    return _mapping(str(path), "the file", document)


def _mapping(where: str, name: str, value: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        msg = f"{where}: {name} must be a mapping, got {value!r}"
        raise ConfigError(msg)
    return value


def _number(where: str, name: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        msg = f"{where}: {name} must be a number ≥ {minimum:g}, got {value!r}"
        raise ConfigError(msg)
    return float(value)


def _strings(where: str, name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        msg = f"{where}: {name} must be a list of non-empty strings, got {value!r}"
        raise ConfigError(msg)
    return [item.strip() for item in value]


def _check_keys(where: str, raw: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        msg = f"{where}: unknown field {unknown[0]!r}; known fields are {', '.join(sorted(known))}"
        raise ConfigError(msg)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1  # _read_yaml names the missing file


# --- taxonomy: categories and free tags from weighted terms -------------------------------------------------------

# A term part is (mode, text): "=" the whole word, "^" the word starts with, "$" a longer word ends with, "~" contains.
_Part = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Rules:
    """The weighted terms of one category or free tag; `hints` are feed category names that point to it."""

    name: str
    terms: tuple[tuple[tuple[_Part, ...], float], ...]
    hints: frozenset[str] = frozenset()
    min_score: float = 1.0


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Categories (in order of preference on a tie), their weighted terms and the free-tag rules."""

    categories: tuple[str, ...]
    rules: tuple[Rules, ...]
    tags: tuple[Rules, ...]
    default: str
    title_weight: float = 3.0
    lead_weight: float = 1.5
    lead_chars: int = 400
    max_hits: int = 3
    hint_weight: float = 2.0
    _index: _TermIndex | None = field(default=None, repr=False, compare=False)


class _TermIndex:
    """Every term of every category and tag (the groups), found per word by the term's first part."""

    def __init__(self, groups: Sequence[Rules]) -> None:
        self.terms = [(group, parts, weight) for group, rules in enumerate(groups) for parts, weight in rules.terms]
        self.by_mode: dict[str, dict[str, list[int]]] = {mode: defaultdict(list) for mode in "=^$~"}
        for term_id, (_, parts, _) in enumerate(self.terms):
            self.by_mode[parts[0][0]][parts[0][1]].append(term_id)
        self.prefix_sizes = sorted({len(text) for text in self.by_mode["^"]})
        self.suffix_sizes = sorted({len(text) for text in self.by_mode["$"]})
        self.cache: dict[str, list[int]] = {}  # words repeat across stories

    def first_part(self, word: str) -> list[int]:
        """Ids of the terms whose first part matches the (casefolded) word."""
        ids = self.cache.get(word)
        if ids is None:
            ids = list(self.by_mode["="].get(word, ()))
            ids += [
                i for size in self.prefix_sizes if size <= len(word) for i in self.by_mode["^"].get(word[:size], ())
            ]
            # "*minister" means compounds with that head, not the bare word (English "brand" is no "*brand").
            ids += [
                i for size in self.suffix_sizes if size < len(word) for i in self.by_mode["$"].get(word[-size:], ())
            ]
            ids += [i for text, found in self.by_mode["~"].items() if text in word for i in found]
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[word] = ids
        return ids


def _part_matches(part: _Part, word: str) -> bool:
    mode, text = part
    if mode == "=":
        return word == text
    if mode == "^":
        return word.startswith(text)
    return word.endswith(text) and word != text if mode == "$" else text in word


def _parse_term(where: str, term: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    for piece in term.replace("-", " ").split():
        core = piece.strip("*").casefold()
        if not _WORD.fullmatch(core):
            msg = f"{where}: term {term!r} must be words of letters, with * only at a word's start or end"
            raise ConfigError(msg)
        starts, ends = piece.startswith("*"), piece.endswith("*")
        parts.append(("~" if starts and ends else "$" if starts else "^" if ends else "=", core))
    return tuple(parts)


def _rules(path: Path, kind: str, raw: Any, known: set[str]) -> Rules:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        msg = f"{path}: every {kind} needs a mapping with a 'name', got {raw!r}"
        raise ConfigError(msg)
    name = raw["name"].strip()
    where = f"{path}: {kind} '{name}'"
    _check_keys(where, raw, known)
    groups = raw.get("keywords")
    if not isinstance(groups, dict) or not groups:
        msg = f"{where}: keywords must map weights to lists of terms, e.g. {{3: [Bundestag, Minister*]}}"
        raise ConfigError(msg)
    terms: dict[tuple[_Part, ...], float] = {}
    for weight, listed in groups.items():
        number = _number(where, "weight", weight)
        for term in _strings(where, f"keywords of weight {weight}", listed):
            if (parts := _parse_term(where, term)) in terms:
                msg = f"{where}: term {term!r} is listed twice"
                raise ConfigError(msg)
            terms[parts] = number
    hints = {hint.casefold() for hint in _strings(where, "hints", raw.get("hints", []))} | {name.casefold()}
    return Rules(name, tuple(terms.items()), frozenset(hints), _number(where, "min_score", raw.get("min_score", 1)))


def load_taxonomy(path: Path) -> Taxonomy:
    """The taxonomy in `path`, cached until the file changes; raise ConfigError naming the file, entry and field."""
    return _load_taxonomy(path, _mtime(path))


@lru_cache(maxsize=4)
def _load_taxonomy(path: Path, _mtime: int) -> Taxonomy:
    document, where = _read_yaml(path), str(path)
    settings = {"title_weight", "lead_weight", "lead_chars", "max_hits", "hint_weight"}
    _check_keys(where, document, settings | {"default", "categories", "tags"})
    if not isinstance(document.get("categories"), list) or not document["categories"]:
        msg = f"{path}: expected a non-empty list under 'categories'"
        raise ConfigError(msg)
    rules = tuple(_rules(path, "category", raw, {"name", "hints", "keywords"}) for raw in document["categories"])
    tags = tuple(_rules(path, "tag", raw, {"name", "keywords", "min_score"}) for raw in document.get("tags") or [])
    for kind, group in (("category", rules), ("tag", tags)):
        names = [item.name for item in group]
        if twice := next((name for name in names if names.count(name) > 1), None):
            msg = f"{path}: {kind} '{twice}': name is used twice"
            raise ConfigError(msg)
    categories = tuple(item.name for item in rules)
    default = document.get("default", categories[0])
    if default not in categories:
        msg = f"{path}: default must be one of the categories ({', '.join(categories)}), got {default!r}"
        raise ConfigError(msg)
    values = {
        key: _number(where, key, document[key], 1 if key == "max_hits" else 0) for key in settings & set(document)
    }
    for key in ("lead_chars", "max_hits"):
        if key in values:
            values[key] = int(values[key])
    return Taxonomy(categories, rules, tags, default, **values, _index=_TermIndex(rules + tags))  # type: ignore[arg-type]


def _scores(title: str, body_text: str, taxonomy: Taxonomy) -> list[float]:
    """Score per group (categories, then tags): each word adds its best term per group, each term ≤ max_hits."""
    index = taxonomy._index or _TermIndex(taxonomy.rules + taxonomy.tags)  # a Taxonomy made by hand has no index
    scores = [0.0] * (len(taxonomy.rules) + len(taxonomy.tags))
    hits: Counter[int] = Counter()
    for text, is_title in ((title, True), (body_text, False)):
        matches = list(_WORD.finditer(text))
        words = [match.group().casefold() for match in matches]
        for i, word in enumerate(words):
            best: dict[int, tuple[float, int]] = {}
            for term_id in index.first_part(word):
                group, parts, weight = index.terms[term_id]
                if len(parts) > 1 and not (
                    i + len(parts) <= len(words) and all(map(_part_matches, parts[1:], words[i + 1 : i + len(parts)]))
                ):
                    continue
                if weight > best.get(group, (-1.0, 0))[0]:
                    best[group] = (weight, term_id)
            if not best:
                continue
            # Where a word stands says how central it is: the headline most, then the lead.
            place = taxonomy.title_weight if is_title else 1.0
            if not is_title and matches[i].start() < taxonomy.lead_chars:
                place = taxonomy.lead_weight
            for group, (weight, term_id) in best.items():
                hits[term_id] += 1
                if hits[term_id] <= taxonomy.max_hits:
                    scores[group] += weight * place
    return scores


def categorize(
    title: str, body_text: str, taxonomy: Taxonomy, *, hint: str | None = None, places: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """The story's one category and its free tags.

    `hint` (the feed's category, a category name or one of its `hints`) is a prior worth `hint_weight`: it decides
    close calls, not clear ones. `places` is accepted for symmetry with `is_regional`; where a story happens says
    little about its kind.
    """
    del places
    scores = _scores(title, body_text, taxonomy)
    count = len(taxonomy.rules)
    category_scores = scores[:count]
    wanted = (hint or "").strip().casefold()
    for number, rules in enumerate(taxonomy.rules):
        if wanted in rules.hints:
            category_scores[number] += taxonomy.hint_weight
            break
    best = max(category_scores)
    # On a tie the first category in config order wins; with no evidence at all, the configured default.
    category = taxonomy.categories[category_scores.index(best)] if best > 0 else taxonomy.default
    return category, [rules.name for rules, score in zip(taxonomy.tags, scores[count:]) if score >= rules.min_score]


# --- region -------------------------------------------------------------------------------------------------------


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
    return _load_region(path, _mtime(path))


@lru_cache(maxsize=4)
def _load_region(path: Path, _mtime: int) -> Region:
    document, where = _read_yaml(path), str(path)
    lists = {"towns", "ambiguous", "districts", "reporting_verbs", "national_markers"}
    numbers = {"threshold", "max_mentions", "lead_chars"}
    _check_keys(where, document, lists | numbers | {"name", "weights", "aliases", "region_words"})
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        msg = f"{path}: name must be the region's name, got {document.get('name')!r}"
        raise ConfigError(msg)
    listed = {key: _strings(where, key, document.get(key, [])) for key in lists}
    if not listed["towns"]:
        msg = f"{path}: towns must list the region's towns"
        raise ConfigError(msg)
    ambiguous = set(listed["ambiguous"])
    aliases = _mapping(where, "aliases", document.get("aliases") or {})
    for alias, town in aliases.items():
        if town not in listed["towns"]:
            msg = f"{path}: alias '{alias}': town must be one of the towns, got {town!r}"
            raise ConfigError(msg)
    weights = _mapping(where, "weights", document.get("weights") or {})
    _check_keys(f"{path}: weights", weights, {"title", "dateline", "lead", "body", "national_penalty"})
    # (surface form, name, has adjective forms): places have "Mannheimer", region words do not.
    forms = [(town, _Name(town, 1.0, town in ambiguous, True), True) for town in listed["towns"]]
    forms += [(str(alias), _Name(town, 1.0, str(alias) in ambiguous, True), True) for alias, town in aliases.items()]
    forms += [(district, _Name(district, 1.0, district in ambiguous, False), True) for district in listed["districts"]]
    for word, factor in _mapping(where, "region_words", document.get("region_words") or {}).items():
        factor = _number(f"{path}: region word '{word}'", "weight", factor)
        forms.append((str(word), _Name(str(word), factor, False, False), False))
    names: dict[str, list[tuple[tuple[str, ...], _Name]]] = defaultdict(list)
    for surface, entry, adjectives in forms:
        if not (words := tuple(_WORD.findall(surface))):
            msg = f"{path}: name {surface!r} has no letters"
            raise ConfigError(msg)
        for last in _forms(words[-1], adjectives):
            names[words[0] if len(words) > 1 else last].append(((*words[:-1], last), entry))
    values = {key: _number(where, key, document[key]) for key in numbers & set(document)}
    values |= {key: _number(f"{path}: weights", key, value) for key, value in weights.items()}
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
    matches = list(_WORD.finditer(text))
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
            word.casefold() for word in _WORD.findall(clause)
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
        _WORD.findall(f"{title} {body_text[: region.lead_chars]}")
    ):
        total -= region.national_penalty
    return total
