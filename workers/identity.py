"""What makes two feed entries the same story: canonical URLs, text fingerprints and the words compared.

Used by the poller (entry keys) and by the dedup stage (cross-feed keys and near-duplicate evidence), so
both agree on one normalisation.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from url_normalize import url_normalize

__all__ = [
    "canonical_url",
    "contradictions",
    "dateline_place",
    "facts",
    "fold_text",
    "numbers",
    "shingles",
    "text_fingerprint",
    "url_key",
    "words",
]

# Query parameters that say who sent the reader, never which story it is.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "mtm_", "at_", "wt_", "oly_", "ga_", "hsa_", "_hs")
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mkt_tok",
    "_ga", "_gl", "ref", "ref_src", "cmpid", "wtmc", "ito", "soc_src", "soc_trk", "ncid", "sr_share",
    "xtor", "spm", "vero_id", "s_cid", "rss", "feed", "from",
})  # fmt: skip
_WORD = re.compile(r"\w+")
# A number as written in German or English copy: 3.000, 3,000, 1,2, 7.45, 3:1, 2028.
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_FACT_TOKEN = re.compile(r"\w+(?:[.,:]\d+)*")
# Words that date a story as surely as a number does ("das Wetter am Montag" is not Tuesday's).
_DAY_WORDS = frozenset({
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend", "sonntag",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "januar", "jänner", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober",
    "november", "dezember", "january", "february", "march", "may", "june", "july", "october", "december",
})  # fmt: skip


@lru_cache(maxsize=8192)  # dedup and publish both ask for each story's URL; normalising it is not cheap
def canonical_url(url: str | None) -> str | None:
    """The URL as an identity: scheme, `www.`, case, port, fragment, tracking parameters and a trailing
    slash folded, the remaining query sorted. Not meant to be fetched; None for non-web URLs."""
    if not url:
        return None
    try:
        given = urlsplit(url.strip())
        # url_normalize would make "https://not a url" of any text: only absolute web URLs qualify.
        if given.scheme.lower() not in ("http", "https") or not given.hostname or " " in given.netloc:
            return None
        parts = urlsplit(url_normalize(url.strip()) or "")
    except (ValueError, UnicodeError):
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name.lower())
    )
    path = parts.path.rstrip("/")
    # "https" stands for both schemes: the same article is served on either.
    return urlunsplit(("https", host, path, urlencode(query), ""))


def url_key(url: str | None) -> str | None:
    """SHA-256 of the canonical URL, or None when the URL is unusable."""
    canonical = canonical_url(url)
    return hashlib.sha256(canonical.encode()).hexdigest() if canonical else None


def _is_tracking(name: str) -> bool:
    return name in _TRACKING_NAMES or name.startswith(_TRACKING_PREFIXES)


def fold_text(text: str) -> str:
    """NFC, whitespace folded to single spaces: what "the same text" means (markup is already gone)."""
    return " ".join(unicodedata.normalize("NFC", text).split())  # str.split and \s agree on whitespace


def text_fingerprint(title: str, body_text: str) -> str:
    """SHA-256 of the folded title and body: equal exactly when a reader would see the same story."""
    return hashlib.sha256(f"{fold_text(title)}\n{fold_text(body_text)}".encode()).hexdigest()


def words(text: str) -> list[str]:
    """The words of `text`, compatibility-normalised and case-folded."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(tokens: list[str], size: int = 3) -> set[str]:
    """Overlapping word n-grams; a text shorter than `size` is one shingle."""
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def numbers(text: str) -> set[str]:
    """The numbers in `text`, separators dropped so "3.000" and "3000" agree."""
    return {re.sub(r"[.,:]", "", match) for match in _NUMBER.findall(text)}


def facts(text: str) -> dict[str, set[str]]:
    """Numbers and day or month names, grouped by the word before them and by kind
    ("am Donnerstag, 12. November" → {"am#": {"12"}, "am": {"donnerstag", "november"}})."""
    tokens = _FACT_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    found: dict[str, set[str]] = {}
    for i, token in enumerate(tokens):
        if not _is_fact(token):
            continue
        # "am Donnerstag, 12. November": both facts belong to "am", not to each other.
        j = i - 1
        while j >= 0 and _is_fact(tokens[j]):
            j -= 1
        word = tokens[j] if j >= 0 else ""
        if token in _DAY_WORDS:
            found.setdefault(word, set()).add(token)
        else:
            found.setdefault(word + "#", set()).add(_number(token))
    return found


def _number(token: str) -> str:
    """ "19.00" and "19:00" are "19" (a time); otherwise separators go, so "3.000" is "3000"."""
    token = re.sub(r"^(\d{1,2})[.:]00$", r"\1", token)
    return re.sub(r"[.,:]", "", token)


def contradictions(ours: dict[str, set[str]], theirs: dict[str, set[str]]) -> list[tuple[str, set[str], set[str]]]:
    """Where both texts state a fact after the same word and the facts share nothing: "um 19" vs
    "um 18.30", "Bundesstraße 37" vs "Bundesstraße 3". A rewrite keeps its facts; a template report
    about another day, town or match changes them."""
    return [
        (word.rstrip("#"), ours[word], theirs[word])
        for word in ours.keys() & theirs.keys()
        if ours[word].isdisjoint(theirs[word])
    ]


def _is_fact(token: str) -> bool:
    return token in _DAY_WORDS or any(c.isdigit() for c in token)


# "BRÜSSEL (ndw):", "WHITEHAVEN, England (CWS) —", "Brüssel (dnk) –", "Viernheim, 9. November 2026 –",
# "Kiel. Mehrere …", "LADENBURG: Bei …": the place a story was filed from, as wire copy opens.
_DATELINE_CAPS = re.compile(r"^([A-ZÄÖÜ][A-ZÄÖÜß/\-]+)(?:[ A-ZÄÖÜß/\-]*)\s*[(:,]")
_DATELINE_NAME = re.compile(
    r"^([A-ZÄÖÜ][\wäöüß\-/]+)(?: (?:an der|an|am|im|in der|bei|ob der) [A-ZÄÖÜ][\wäöüß\-]+| [A-ZÄÖÜ][\wäöüß\-]+)?"
    r"(?: \(|, ?\d|\. )"
)


def dateline_place(text: str) -> str | None:
    """The first word of the story's dateline, case-folded ("brüssel"), or None when it has none."""
    head = text.lstrip()[:80]
    match = _DATELINE_CAPS.match(head) or _DATELINE_NAME.match(head)
    return re.split(r"[/\-]", match.group(1))[0].casefold() if match else None
