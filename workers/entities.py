"""Fast rule-based entity tagger for German (and English) news: persons, organisations and places.

No statistical model: gazetteers and cue words (`workers.gazetteer`) plus rules that key on kinds of evidence
rather than on known names, because stories name invented people, companies and clubs in real places.

- Organisations: aliases of real bodies ("EZB" -> "Europäische Zentralbank"), legal forms ("... GmbH"), clubs
  ("FC ...", "... Rovers"), institution nouns with a name ("Polizeipräsidium Mannheim", "Landesamt für
  Denkmalpflege", "Deutscher Handballbund"), company kinds ("der Autozulieferer X"), appositions ("X, a battery
  start-up"), affiliations of persons ("Analystin X Y von der Z"), the council of the dateline town.
- Persons: "Vorname Nachname" with a known given name, or a capitalised pair after a role word
  ("Delegationsleiterin ...") or beside a speech verb; titles are never part of the name.
- Places: gazetteer look-up of the tokens no person or organisation claimed, in canonical German form. Demonyms
  never match exactly; districts ("Stadtteil X"), short quoted titles and names also seen inside an
  organisation's name (unless after a locative cue) are skipped; the dateline adds its places.

Each entity is returned once, in order of first mention (the title counts as the start of the story).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers import gazetteer
from workers.gazetteer import PlaceEntry, strong_adjective
from workers.story_tokens import StoryTokens, without_furniture

__all__ = ["Entities", "extract_entities", "warm_up"]


@dataclass(frozen=True, slots=True)
class Entities:
    persons: list[str]
    organizations: list[str]
    places: list[str]


_SCORE = re.compile(r"\b\d{1,2}[-:]\d{1,2}\b")


def warm_up() -> None:
    """Load the gazetteers now rather than on the first story."""
    gazetteer.load()


def extract_entities(title: str, body_text: str, language: str | None) -> Entities:
    """Persons, organisations and places of a story in canonical form (tests/data/corpus/README.md conventions)."""
    body = without_furniture(body_text or "")
    doc = _Doc(gazetteer.load(), title or "", body, (language or "").lower().startswith("en"))
    doc.organizations_by_form()
    doc.organizations_by_kind()  # before persons: "die Bäckereikette Kornblum" shares its name with "Ralf Kornblum"
    doc.persons_by_cues()
    doc.organizations_by_affiliation()
    places = doc.places()
    orgs = list(dict.fromkeys(name for _, name in sorted(doc.orgs)))
    # short forms ("Kurpfalz Logistik", "Meridian") of a full name ("Kurpfalz Logistik GmbH", "Meridian Cargo Data")
    orgs = [a for a in orgs if not any(b != a and f" {a} " in f" {b} " for b in orgs)]
    return Entities(list(dict.fromkeys(name for _, name in sorted(doc.persons))), orgs, places)


class _Doc(StoryTokens):
    """The story's tokens with the rules that claim spans of them for persons and organisations."""

    # --- organisations known by their form
    def organizations_by_form(self) -> None:
        w, owner, first = self.w, self.owner, self.g.org_first
        for i, tok in enumerate(self.t):
            if (tok in first or "-" in tok or tok[-1] == "s") and not owner[i]:
                self._alias(i)
        # legal forms and clubs before institution nouns: "Kurpfalz Logistik GmbH", not "Logistik GmbH"
        cues = w["form_cues"]
        for i in [i for i, tok in enumerate(self.t) if tok in cues]:
            if not owner[i]:
                self._legal_or_club(i, self.t[i])
        councils, head = w["council_forms"], self.g.head
        for i in [i for i, tok in enumerate(self.t) if self.capital[i] and (tok in councils or head(tok) is not None)]:
            if not owner[i]:
                self._institution(i) or self._council(i)

    def _alias(self, i: int) -> None:
        tok, orgs = self.t[i], self.g.orgs
        for j in range(min(self.n, i + self.g.org_first.get(tok, 0)), i, -1):
            if self.surface(i, j) in orgs and self.free(i, j):
                return self.claim(i, j, "org", orgs[self.surface(i, j)])
        if tok.endswith("s") and len(tok) > 3:  # "Bundestags", "Bundesrates", "EU's"
            name = next((orgs[b] for b in (tok[:-2], tok[:-1], tok[:-3]) if b in orgs), None)
            if name is not None and (tok[-2:] in ("'s", "’s") or len(tok) > 5 and tok[-2].islower()):
                return self.claim(i, i + 1, "org", name)
        if "-" in tok and tok.split("-")[0] in self.g.org_abbreviations:  # "Nato-Staaten", "UN-Konferenz"
            self.claim(i, i + 1, "org", orgs[tok.split("-")[0]])

    def _legal_or_club(self, i: int, tok: str) -> None:
        w, nxt = self.w, self.word(i + 1)
        if tok in w["legal_forms"] and i > 0:  # "Brenneisen Pumpen GmbH"
            k = self.back_run(i - 1, 4)
            if k < i:
                self.claim(k, i + 1, "org", self.surface(k, i + 1))
        elif tok in w["club_prefixes"]:  # "FC Kraichgau Sinsheim", "TSG 1899 Hoffenheim", "FV 08 Ketsch"
            j = i + 2 if nxt.isdigit() and len(nxt) in (2, 4) else i + 1
            k = self.run(j, 4, generic_ok=True)
            first = i - 2 if tok == "FC" and self.word(i - 1) == "." and self.word(i - 2) == "1" else i
            if k > j:
                self.claim(first, k, "org", self.surface(first, k))
        elif tok in w["club_suffixes"] and not self.en and nxt[:1].isupper() and self.g.place(nxt):
            self.claim(i, i + 2, "org", self.surface(i, i + 2))  # "Adler Mannheim", "Eisbären Berlin"
        elif tok in w["club_suffixes"] and self.namey(i - 1):  # "Millbrook Athletic", "Rhein-Neckar Löwen"
            k = self.back_run(i - 1, 3)
            if self.g.place(self.surface(k, i + 1)) is None:
                self.claim(k, i + 1, "org", self.surface(k, i + 1))
        elif self.en and tok in w["org_suffixes_en"] and nxt in ("of", "for") and self.namey(i + 2):
            if not self.namey(i - 1):  # "Bank of England", "University of Galway"
                self.claim(i, self.run(i + 2, 3), "org", self.surface(i, self.run(i + 2, 3)))
        elif self.en and tok in w["org_suffixes_en"] and self.namey(i - 1):  # "Atlantic Seabed Institute"
            k, j = self.back_run(i - 1, 4), i + 1
            while self.word(j) in w["org_suffixes_en"] and self.namey(j):
                j += 1
            if self.word(j) in ("of", "for") and self.namey(j + 1):
                j = self.run(j + 1, 3)
            self.claim(k, j, "org", self.surface(k, j))

    def _institution(self, i: int) -> bool:
        """'Polizeipräsidiums Mannheim', 'Landesamt für Denkmalpflege', 'des Deutschen Handballbundes', ..."""
        tok, before = self.t[i], self.word(i - 1)
        head = self.g.head(tok)
        describes = before in self.w["indefinite"] or before.islower() and self.word(i - 2) in self.w["indefinite"]
        if head is None or tok in self.w["facility_heads"] or describes:
            return False  # "einen örtlichen Förderverein für Jugendsport" describes, it does not name
        k = i
        while k > 0 and not self.owner[k - 1] and self.g.is_name_adjective(self.t[k - 1]):
            k -= 1
        j, nxt, low = i + 1, self.word(i + 1), tok.lower()
        if nxt == "für" and self.namey(j + 1):
            j = self.run(j + 1, 3, generic_ok=True)
            while self.word(j) == "und" and self.namey(j + 1):  # "Bundesamt für Migration und Flüchtlinge"
                j = self.run(j + 1, 3, generic_ok=True)
        elif nxt in ("der", "des") and low.endswith(self.g.suffixes["org_heads_genitive"]):
            m = j + 1
            while self.word(m).islower() and self.word(m).endswith("en") and m < j + 3:
                m += 1  # "Vereinigung der kommunalen Arbeitgeberverbände"
            j = self.run(m, 3) if self.namey(m) else j
        elif nxt == "am" and low.endswith(self.g.suffixes["venues"]) and self.namey(j + 1):
            j += 2  # "Galerie am Ilmpark"
        else:
            j = self.run(j, 3)
        named = j > i + 1 or k < i or "-" in tok and tok[0].isupper()  # "Lobdengau-Museum" names itself
        if not named or not self.free(k, j):
            return False
        adjectives = [strong_adjective(self.t[m], head[1]) for m in range(k, i)]
        self.claim(k, j, "org", " ".join([*adjectives, head[0], self.surface(i + 1, j) if j > i + 1 else ""]).strip())
        return True

    def _council(self, i: int) -> bool:
        """'Gemeinderat der Stadt Leimen', 'Gemeinderats Leimen', 'der Mannheimer Gemeinderat', or the dateline's."""
        tok = self.t[i]
        base = next((b for b in (tok, tok[:-1], tok[:-2]) if b in self.w["council_heads"]), None)
        if base is None or self.word(i + 1) in self.g.first_names:
            return False  # "Stadtrat Peter Kurz" is a councillor, not the council
        j, place = i + 1, ""
        if self.word(j) == "der" and self.word(j + 1) in ("Stadt", "Gemeinde") and self.namey(j + 2):
            j, place = j + 3, self.t[j + 2]
        elif self.namey(j) and self.g.place(self.t[j]) is not None:
            j, place = j + 1, self.t[j]
        elif i > 0 and self.is_demonym(i - 1):
            place = self.t[i - 1][:-2]
        elif self.dateline:
            place = self.dateline[0][1]
        if place:
            self.claim(i, j, "org", f"{base} {place}")
        return bool(place)

    def organizations_by_kind(self) -> None:
        """'der Autozulieferer X', 'des Versicherers X', 'battery start-up X', 'X, einem Familienunternehmen'."""
        w, english = self.w, self.w["company_descriptors_en"] if self.en else frozenset()
        determiners, bare, descriptor = w["determiners"], w["bare_descriptors"], self.g.is_descriptor
        for i, tok in enumerate(self.t):
            if self.owner[i]:
                continue
            if self.capital[i]:
                low = tok.lower()
                if tok in ("Firma", "Start-up") or descriptor(low):
                    self._org_at(i + 1, limit=3)
                elif low.rstrip("s") in bare:
                    before = self.word(i - 1)
                    if before in determiners or before.islower() and self.word(i - 2) in determiners:
                        self._org_at(i + 1, limit=3)
            elif tok in english and self.namey(i + 1):
                self._org_at(i + 1, limit=3)
            elif tok == "," and self.namey(i - 1) and self._apposition(i + 1):
                k = self.back_run(i - 1, 4)
                if self.g.place(self.surface(k, i)) is None:
                    self.claim(k, i, "org", self.surface(k, i))

    def _apposition(self, i: int) -> bool:
        """', einem kleinen Familienunternehmen' / ', a battery technology start-up' after a name."""
        if self.word(i) not in self.w["indefinite"]:
            return False
        for k in range(i + 1, min(self.n, i + 6)):
            low = self.t[k].lower()
            if low in self.w["company_descriptors_en"] or low.endswith(self.g.suffixes["company_descriptors"]):
                return True
            if self.t[k] in (",", ".", ";"):
                return False
        return False

    def _org_at(self, i: int, limit: int = 4) -> None:
        """Claim the name starting at i as an organisation unless it is a place, a person or a generic word."""
        j = self.run(i, 1)
        j = self.run(j, limit - 1, generic_ok=True) if j > i and limit > 1 else j  # "Rheinhold Bank"
        person = not self.en and self.t[i] in self.g.first_names and j > i + 1
        if j == i or person or self.g.place(self.surface(i, j)) is not None:
            return
        if j == i + 1 and self.t[i] in self.w["org_generic"]:
            return
        head = self.g.head(self.t[i])
        self.claim(i, j, "org", self.surface(i, j) if head is None else f"{head[0]} {self.surface(i + 1, j)}".strip())

    # --- persons
    def persons_by_cues(self) -> None:
        t, w, owner = self.t, self.w, self.owner
        for i in range(self.n - 1):
            if owner[i] or not self.plain[i] or t[i] in w["titles"]:
                continue
            if not (self.capital[i + 1] or t[i + 1] in w["particles"]):
                continue
            j = self._name_end(i)
            if j is None:
                continue
            before, after, given = self.word(i - 1), self.word(j), self.g.first_names.get(t[i])
            role = self._role_before(i)
            speech = before.lower() in w["speech_verbs"] or after in ("said", "says", "sagte", "sagt")
            speech = speech or after == "," and self.word(j + 1) == "who"
            origin = after in ("aus", "from") and self.g.place(self.word(j + 1)) is not None and not self.g.place(t[i])
            known = given is not None and (given != "ss" or not self.start[i])
            # without a known given name a cue only counts for a pair standing alone, not for the tail of a
            # longer capitalised name ("Western Grid Power said")
            alone = (role or not self.namey(i - 1)) and not self.namey(j)
            if known or alone and (role or speech or origin):
                self.claim(i, j, "per", self.surface(i, j))
        surnames = {name.split(" ")[-1] for _, name in self.persons}
        for i in range(self.n):  # later mentions by surname alone: the same person, no new entity of any kind
            if not owner[i] and t[i] in surnames:
                owner[i] = "per-ref"

    def _role_before(self, i: int) -> bool:
        """A function before the name: 'Kommissionssprecherin X', 'manager X', 'director, X', 'refereed by X'."""
        before, roles_en = self.word(i - 1), self.w["role_words_en"]
        if before[:1].isupper() and before.lower().endswith(self.g.suffixes["role_suffixes"]):
            return True
        return (
            before.lower() in roles_en
            or before == ","
            and self.word(i - 2).lower() in roles_en
            or (before == "by" and self.word(i - 2).endswith("ed"))
        )

    def _name_end(self, i: int) -> int | None:
        """End of 'Vorname [Vorname] [van der] Nachname' from i, or None."""
        tok, firsts, w = self.t[i], self.g.first_names, self.w
        role_word = tok not in firsts and tok.lower().endswith(self.g.suffixes["role_suffixes"])
        if role_word or tok in w["org_generic"] or self.word(i - 1) in w["place_prefixes"] or "'" in tok or "’" in tok:
            return None
        k = i + 1
        if tok not in firsts and self.word(k) in firsts and self.namey(k + 1):
            return None  # "Händlerin Petra Lindqvist": the name starts at the given name
        if tok in firsts and self.word(k) in firsts and self.namey(k + 1) and self.word(k + 1) not in firsts:
            k += 1  # a second given name: "Anna Lena Berg"
        while k < i + 4 and self.word(k) in w["particles"]:
            k += 1
        last = self.word(k)
        odd_surname = last in w["noun_surnames"] or last in w["stop_words"] and last not in w["stop_nouns"]
        if odd_surname and tok in firsts and k == i + 1 and not self.owner[k] and not self.start[k]:
            return k + 1  # "Holger Mai", "Sandra Weil": a capitalised conjunction mid-sentence is a name
        shaped = last.replace("-", "").replace("'", "").isalpha() and not last.isupper()
        if not self.namey(k) or not shaped or last in w["org_generic"] or last.lower() in w["speech_verbs"]:
            return None
        if self.g.head(last) or self.g.place(self.surface(i, k + 1)):
            return None
        return k + 1

    # --- organisations known through a person or a match report
    def organizations_by_affiliation(self) -> None:
        """'X Y vom Bankhaus Z', 'X Y von der Z', 'X Y of the Z', 'X Y, head of research at Z', 'analysts at Z'."""
        for i, _ in list(self.persons):
            j = i
            while j < self.n and self.owner[j] == "per" and (j == i or not self.start[j]):
                j += 1
            nxt, after = self.word(j), self.word(j + 1)
            if nxt == "vom":
                self._org_at(j + 1)
            elif nxt == "von" and after in ("der", "den", "dem") or self.en and nxt == "of" and after == "the":
                self._org_at(j + 2)
            elif self.en and nxt == ",":
                k = j + 1
                while k < j + 7 and self.word(k).islower() and self.word(k) not in ("at", "of"):
                    k += 1
                if self.word(k) in ("at", "of"):
                    self._org_at(k + 2 if self.word(k + 1) == "the" else k + 1)
        if not self.en:
            return
        w, scored = self.w, _SCORE.search(self.text) is not None
        for i, tok in enumerate(self.t):
            low = tok.lower()
            if self.owner[i]:
                continue
            if low in w["role_words_en"] and self.word(i + 1) in ("at", "from"):
                self._org_at(i + 3 if self.word(i + 2) == "the" else i + 2)
            elif scored and low in w["sport_before"] and self.back_run(i - 1, 3) < i:  # "Harbourside beat ..."
                self._org_at(self.back_run(i - 1, 3), limit=i - self.back_run(i - 1, 3))
            lost_to = low == "to" and (_SCORE.fullmatch(self.word(i - 1)) or self.word(i - 1) in ("lost", "fell"))
            if scored and (low in w["sport_after"] or lost_to):  # "beat Millbrook Athletic", "lost 3-0 to Ashford"
                self._org_at(i + 1, limit=3)

    # --- places
    def places(self) -> list[str]:
        masked, districts = self._masks()
        inside = {self.t[i] for i in range(self.n) if self.owner[i] == "org"}
        found = [(k - len(self.dateline), canonical) for k, (canonical, _) in enumerate(self.dateline)]
        i, first = 0, self.g.place_first
        while i < self.n:
            tok = self.t[i]
            # most tokens open no place name: skip them before the costlier look-up
            maybe = tok in first or tok.endswith(("s", "-based")) or tok.isupper() and tok.casefold() in first
            skip = not maybe or self.owner[i] or not self.capital[i] and tok != "the"
            hit = None if skip else self._place_at(i, masked)
            if hit is None:
                i += 1
                continue
            j, entry, text = hit
            cue = self._cue(i)
            title_head = i == 0 and self.word(1) == ":"  # "Weil: ..." opens a title
            flag_ok = entry.flag == "" or entry.flag == "ss" and (not self.start[i] or title_head) or cue
            ok = entry.flag != "block" and text not in districts and flag_ok and (text not in inside or cue)
            if ok and self.en and self._in_longer_name(i, j):
                ok = False
            if ok:
                found.append((i, entry.canonical))
            i = j
        return list(dict.fromkeys(name for _, name in sorted(found)))

    def _in_longer_name(self, i: int, j: int) -> bool:
        """English: 'Riverside Park', 'Port Elizabeth' are not Riverside and Elizabeth ('U.S. West Coast' is)."""
        following = self.word(j)
        if following[:1].isupper() and not self.start[j] and following not in self.w["directions"]:
            return self.g.place(following) is None
        return not self.start[i] and self.namey(i - 1)

    def _place_at(self, i: int, masked: set[int]) -> tuple[int, PlaceEntry, str] | None:
        """(end, entry, surface) of the longest place name starting at token i."""
        tok = self.t[i]
        longest = self.g.place_first.get(tok) or self.g.place_first.get(tok.casefold(), 0) * tok.isupper()
        if not longest and tok.endswith(("s", "-based")):
            longest = 1  # a genitive or possessive: "Mannheims", "Poland's", "Berlin-based"
        for j in range(min(self.n, i + longest), i, -1):
            if i in masked or any(self.owner[i:j]) or any(k in masked for k in range(i, j)):
                continue
            text = self.surface(i, j)
            entry = self.g.place(text)
            if entry is None and j == i + 1:
                if text.endswith(("'s", "’s")):
                    text = text[:-2]
                    entry = self.g.place(text)
                elif self.en and text.endswith("-based"):
                    text = text[:-6]
                    entry = self.g.place(text)
                elif not self.en and text.endswith("s") and len(text) > 4:  # genitive: "Mannheims", "Europas"
                    text = text[:-1]
                    entry = self.g.place(text)
                    entry = None if entry is None or entry.flag or entry.canonical[-1] in "sxzß" else entry
            if entry is not None:
                return j, entry, text
        return None

    def _cue(self, i: int) -> bool:
        """i is in the dateline, or follows a locative cue ('in', 'aus', 'bei', 'Stadt', 'near' ...)."""
        start, end = self.dateline_span
        return start <= self.s[i] < end or self.word(i - 1) in self.w["locative_cues"]

    def _masks(self) -> tuple[set[int], set[str]]:
        """Tokens of short quoted titles and of names after facility words; the district names among them."""
        masked: set[int] = set()
        districts: set[str] = set()
        opened = -1
        for i, tok in enumerate(self.t):
            if tok == "„" or tok == "“" and opened < 0:
                opened = i
            elif tok in ("“", "”") and opened >= 0:
                if i - opened <= 7:  # a title ("Junge Bühne Pfalz"), not a quote of speech
                    masked.update(range(opened, i))
                opened = -1
            if tok in self.w["facility_heads"]:  # "Stadtteil Schlierbach", "Schloss Neckarhausen"
                j = self.run(i + 1, 3, generic_ok=True)
                while self.word(j) == "und" and self.namey(j + 1):  # "Stadtteilen Süd und Mundenheim"
                    j = self.run(j + 1, 3, generic_ok=True)
                masked.update(range(i + 1, j))
                districts.update(self.t[k] for k in range(i + 1, j))
        return masked, districts
