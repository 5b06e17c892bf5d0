"""Category and free tags of a story, from the weighted terms of `config/tags.yaml`.

Everything here is plain word matching with weights from the two config files, so an editor can see why a story
got its category or flag and tune it without code. The rules describe kinds of news, not single stories.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from workers.errors import ConfigError
from workers.rule_files import WORD, as_number, as_strings, check_keys, file_mtime, read_yaml

__all__ = ["Rules", "Taxonomy", "categorize", "load_taxonomy"]


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
        if not WORD.fullmatch(core):
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
    check_keys(where, raw, known)
    groups = raw.get("keywords")
    if not isinstance(groups, dict) or not groups:
        msg = f"{where}: keywords must map weights to lists of terms, e.g. {{3: [Bundestag, Minister*]}}"
        raise ConfigError(msg)
    terms: dict[tuple[_Part, ...], float] = {}
    for weight, listed in groups.items():
        number = as_number(where, "weight", weight)
        for term in as_strings(where, f"keywords of weight {weight}", listed):
            if (parts := _parse_term(where, term)) in terms:
                msg = f"{where}: term {term!r} is listed twice"
                raise ConfigError(msg)
            terms[parts] = number
    hints = {hint.casefold() for hint in as_strings(where, "hints", raw.get("hints", []))} | {name.casefold()}
    return Rules(name, tuple(terms.items()), frozenset(hints), as_number(where, "min_score", raw.get("min_score", 1)))


def load_taxonomy(path: Path) -> Taxonomy:
    """The taxonomy in `path`, cached until the file changes; raise ConfigError naming the file, entry and field."""
    return _load_taxonomy(path, file_mtime(path))


@lru_cache(maxsize=4)
def _load_taxonomy(path: Path, _mtime: int) -> Taxonomy:
    document, where = read_yaml(path), str(path)
    settings = {"title_weight", "lead_weight", "lead_chars", "max_hits", "hint_weight"}
    check_keys(where, document, settings | {"default", "categories", "tags"})
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
        key: as_number(where, key, document[key], 1 if key == "max_hits" else 0) for key in settings & set(document)
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
        matches = list(WORD.finditer(text))
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
