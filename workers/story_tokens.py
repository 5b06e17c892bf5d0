"""A story as the entity tagger reads it: its tokens, which of them could be names, and who claimed them.

Credit lines, bylines and related-article blocks are cut first: names there are not the story's.
"""

from __future__ import annotations

import re

from workers.gazetteer import TOKEN, Gazetteer

__all__ = ["StoryTokens", "without_furniture"]

# A line break is a token of its own ("\n", owned by no name), so no name runs across lines.
_DOC_TOKEN = re.compile(TOKEN.pattern + r"|\n\s*")
_SENTENCE_END = frozenset('.!?:;„“”"«»–—(\n')
_DIGIT = re.compile(r"\d")
# Credit and byline lines are no part of the story ("Foto: Jana Beispiel", "Von Max Muster", "(Foto: ...)").
_CREDIT_LINE = re.compile(
    r"^\s*(?:Fotos?|Bild(?:er)?|Grafik|Quelle|Text|Photo|Picture|Image|Credit)\b[^:\n]{0,20}:.*$|"
    r"^\s*(?:Von|By)\s+[^\s.]+(?:\s+[^\s.]+){0,3}\s*$",
    re.MULTILINE,
)
_CREDIT_INLINE = re.compile(
    r"\((?:Fotos?|Bild|Text|Photo|Credit)\s*:[^)]*\)|\((?:Photo|Picture) by [^)]*\)|\b(?:Fotos?|Photo):\s*[^.\n]{0,60}$",
    re.MULTILINE,
)
# Related-article blocks close a story; their headlines are not part of it.
_RELATED = re.compile(
    r"^\s*(?:Ähnliche Artikel|Mehr zum Thema|Lesen Sie auch|Das könnte Sie auch interessieren|"
    r"Related (?:articles|stories)|Read more)\b.*",
    re.MULTILINE | re.DOTALL,
)


def without_furniture(body_text: str) -> str:
    """The body without credit and byline lines, inline credits and a closing related-articles block."""
    return _RELATED.sub("", _CREDIT_INLINE.sub("", _CREDIT_LINE.sub("", body_text)))


class StoryTokens:
    """One story as tokens; each rule claims spans of free tokens (a token belongs to one entity at most)."""

    def __init__(self, gaz: Gazetteer, title: str, body: str, english: bool) -> None:
        self.g, self.w, self.en = gaz, gaz.words, english
        self.text = f"{title}\n\n{body}"
        matches = list(_DOC_TOKEN.finditer(self.text))
        self.t = t = ["\n" if m.group()[0] == "\n" else m.group() for m in matches]
        self.s, self.e = [m.start() for m in matches], [m.end() for m in matches]
        self.n = len(t)
        self.start = [i == 0 or t[i - 1] in _SENTENCE_END for i in range(self.n)]
        self.capital = [tok[:1].isupper() for tok in t]
        stop = self.w["stop_words"]
        self.plain = [c and tok not in stop and _DIGIT.search(tok) is None for c, tok in zip(self.capital, t)]
        self.owner = ["nl" if tok == "\n" else "" for tok in t]
        self.persons: list[tuple[int, str]] = []
        self.orgs: list[tuple[int, str]] = []
        self.dateline, span = gaz.dateline(body)  # [(canonical, surface)], character span within body
        self.dateline_span = (span[0] + len(title) + 2, span[1] + len(title) + 2)

    # --- token helpers
    def word(self, i: int) -> str:
        return self.t[i] if 0 <= i < self.n else ""

    def namey(self, i: int) -> bool:
        """A free capitalised word that can be part of a name (no stop word, no digits)."""
        return 0 <= i < self.n and self.plain[i] and not self.owner[i]

    def run(self, i: int, limit: int, generic_ok: bool = False) -> int:
        """End of the run of name words from i (i itself when there is none)."""
        j = i
        while j < i + limit and self.namey(j) and (generic_ok or self.t[j] not in self.w["org_generic"]):
            j += 1
        return j

    def back_run(self, i: int, limit: int) -> int:
        """Start of the run of name words ending at i, without a leading demonym (i + 1 when there is none)."""
        k = i + 1
        while k > 0 and i - k + 2 <= limit and self.namey(k - 1) and not self.is_demonym(k - 1):
            k -= 1
        return k

    def surface(self, i: int, j: int) -> str:
        return " ".join(self.text[self.s[i] : self.e[j - 1]].split())

    def is_demonym(self, i: int) -> bool:
        return self.t[i].endswith("er") and self.g.places.get(self.t[i][:-2]) is not None  # "Mannheimer"

    def claim(self, i: int, j: int, kind: str, name: str) -> None:
        self.owner[i:j] = [kind] * (j - i)
        (self.orgs if kind == "org" else self.persons).append((i, name))

    def free(self, i: int, j: int) -> bool:
        return j > i and not any(self.owner[i:j])
