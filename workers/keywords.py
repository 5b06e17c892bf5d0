"""Keywords: up to eight per story, noun groups and content words scored by where and how often they occur.

German candidates are capitalised noun groups, English ones repeated word runs between stopwords; numbers,
stopwords and case-insensitive repeats are dropped, and a phrase replaces a word that mostly occurs in it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["keywords"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_DE = _words(
    """
aber alle allem allen aller alles als also am an andere anderen anderer anderes anders auch auf aus außer außerdem bei
beide beiden beim bereits besonders bis bisher bislang bzw da dabei dadurch dafür dagegen daher damals damit danach
dann daran darauf daraus darin darum darunter das dass dem demnach den denen denn dennoch der deren derzeit des
deshalb dessen die dies diese diesem diesen dieser dieses doch dort durch eben ebenfalls ein eine einem einen einer
eines einige einigen einmal er erneut erst erste ersten erster es etwa etwas für gab ganz gegen gegenüber genau gerade
gestern gewesen gibt habe haben hat hatte hatten heute hier hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres
im immer in indem ins insgesamt inzwischen ist ja je jede jedem jeden jeder jedes jedoch jetzt kam kann kaum kein keine
keinem keinen keiner knapp kommt können könne könnte konnte künftig lang lässt laut liegt man mehr mehrere mit morgen
muss musste müssen nach nachdem neben neu neue neuen neuer neues nicht nichts noch nun nur ob oder ohne rund sagt sagte
sagten schon sehr sei seien sein seine seinem seinen seiner seit selbst sich sie sind so soll sollen sollte sondern
sowie später statt steht tatsächlich teilte trotz trotzdem um und uns unser unsere unter viel viele vielen vom von vor
vorerst während war waren was weder weil weiter weitere weiteren weiterhin welche welchen welcher wenig wenige wenn wer
werde werden wie wieder will wir wird wo wollen wollte worden wurde wurden zu zudem zum zunächst zur zwar zwischen
zuletzt anschließend allerdings deutlich vergangenen vergangene kommenden kommende nächsten bald erklärte mitteilte
hieß heißt gilt zeigt zeigte erhält bleibt eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf hunderte
tausende dutzend jahr jahre jahren jahres prozent euro millionen million milliarden milliarde uhr tag tage tagen woche
wochen monat monate monaten ende anfang mitte angaben zeit teil hälfte drittel viertel montag dienstag mittwoch
donnerstag freitag samstag sonntag januar februar märz april mai juni juli august september oktober november dezember
frühjahr sommer herbst winter abend nachmittag vormittag mittag frau herr dr prof nr ca zufolge geld nacht abende
abenden norden süden osten westen seite seiten stelle stellen zahl zahlen teile fall fälle frage fragen grund gründe
weg wege ort orte platz leben bereich bereiche beginn mal beispiel angebot ziel ziele rahmen blick hilfe idee problem
probleme lage zukunft möglichkeit möglichkeiten mut namen name art weise menge punkt punkte welt über unten oben innen
außen vorbei hinaus bild bilder
"""
)
_STOP_EN = _words(
    """
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over own
same she should so some such than that the their them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your said says say told added according
including however since still yet although though whether across along among around within without per via new many
much several last first second third next one two three four five six seven eight nine ten hundred thousand million
billion percent cent year years month months week weeks day days monday tuesday wednesday thursday friday saturday
sunday january february march april may june july august september october november december time times mr mrs ms
made make makes using used use based expected planned plans set might must shall another way ways part parts thing
things lot lots number numbers point points night nights today yesterday tomorrow
"""
)
_STOP = _STOP_DE | _STOP_EN
_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|[^\w\s]")
_BREAK = frozenset('.!?:;„“"«»')
_ENDINGS = ("innen", "en", "er", "es", "em", "e", "n", "s")
# A role before a name ("Einsatzleiter Markus Hoffrichter", "Direktorin Ada Beispiel"): the name is the keyword.
_ROLE = re.compile(r"(?:er|or|ent|ant|eur|ist|ge|te|de|är|chef|glied)(?:in)?$")
_keys: dict[str, str] = {}
# A candidate is a list (cheaper to make than an object, and there are hundreds per story):
_COUNT, _FIRST, _IN_TITLE, _PROPER, _SURFACES = range(5)  # how often, where first, in the title, a name, its forms


def _key(word: str) -> str:
    """A crude stem that merges inflected forms ("Europäischen Union", "Europäische Union")."""
    key = _keys.get(word)
    if key is None:
        key = word.casefold()
        ending = next((ending for ending in _ENDINGS if key.endswith(ending) and len(key) - len(ending) >= 4), "")
        key = key[: len(key) - len(ending)]
        if len(_keys) > 100_000:
            _keys.clear()
        _keys[word] = key
    return key


def _candidates(tokens: list[str], folded: list[str], german: bool, title_end: int) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    capitals = any(token.isupper() and len(token) > 4 for token in tokens)  # a dateline "BRÜSSEL (ndw):"

    def add(run: list[tuple[int, bool]], proper: bool = False) -> None:
        if len(run) == 1:  # the common case, kept cheap
            surface = tokens[run[0][0]]
            surface = surface.title() if capitals and surface.isupper() and len(surface) > 4 else surface
            key = _key(surface)
        else:
            words = [tokens[i] for i, _ in run]
            if capitals and any(word.isupper() and len(word) > 4 for word in words):
                words = [word.title() if word.isupper() else word for word in words]
            key, surface = " ".join(map(_key, words)), " ".join(words)
            proper = proper or all(capital for _, capital in run)
        entry = found.get(key)
        if entry is None:
            entry = found[key] = [0, run[0][0], run[0][0] < title_end, False, {}]
        entry[_COUNT] += 1
        entry[_PROPER] = entry[_PROPER] or proper
        entry[_SURFACES][surface] = entry[_SURFACES].get(surface, 0) + 1

    def collect(run: list[tuple[int, bool]]) -> None:
        if not german:  # English: word n-grams between stopwords
            for size in (1, 2, 3):
                for begin in range(len(run) - size + 1):
                    if size > 1 or run[begin][1] or len(folded[run[begin][0]]) > 3:
                        add(run[begin : begin + size])
        elif len(run) == 1:
            if run[0][1] and len(folded[run[0][0]]) > 2:
                add(run)
        else:
            # [adjective*] Noun+ groups: a lower-case word that is no adjective before a noun ends a group. The
            # group's last word is its head ("Union" of "Europäische Union"), the only one that stands alone.
            group: list[tuple[int, bool]] = []
            for item in [*run, (-1, False)]:
                if item[1]:
                    group.append(item)
                    continue
                if group and group[-1][1]:
                    nouns = [n for n, (_, capital) in enumerate(group) if capital]
                    if len(nouns) > 2 and _ROLE.search(folded[group[nouns[0]][0]]):
                        group = group[nouns[0] + 1 :]
                    if len(folded[group[-1][0]]) > 2:
                        add(group[-1:])
                    if len(group) > 1:
                        add(group[-4:])
                group = [item] if item[0] >= 0 and folded[item[0]].endswith(("e", "en", "er", "es", "em")) else []

    lower = {token for token in tokens if token.islower()}  # words written in lower case somewhere
    run: list[tuple[int, bool]] = []
    quote: list[tuple[int, bool]] | None = None  # inside „…“ or “…”: a short quote names a work or an event
    initial = True
    for i, (token, fold) in enumerate(zip(tokens, folded)):
        if not token[0].isalnum():
            if quote is not None and token in '“”»"':
                if 1 < len(quote) <= 5 and tokens[quote[0][0]][0].isupper():
                    add(quote, proper=True)
                quote = None
            elif token in '„“«"':
                quote = []
            if run:
                collect(run)
                run = []
            initial = initial or token in _BREAK
            continue
        if quote is not None and len(quote) < 6:
            quote.append((i, True))
        # Stopwords, numbers, the title's end and a sentence-initial capital of a word that is written in lower case
        # elsewhere (an adverb, not a noun) all end a run.
        if (
            fold in _STOP
            or not (fold.isalpha() or fold.replace("-", "").replace("'", "").replace("’", "").isalpha())
            or i == title_end
            or (initial and token[0].isupper() and fold in lower)
        ):
            if run:
                collect(run)
                run = []
        else:
            run.append((i, token[0].isupper()))
        initial = False
    return found


def keywords(title: str, body_text: str, language: str | None, limit: int = 8) -> list[str]:
    """Up to `limit` keywords, case-insensitively unique; names and noun phrases are preferred to single words.

    German nouns are capitalised, so German candidates are runs of capitalised words (after adjectives); English
    candidates are word n-grams between stopwords. Scores add up frequency, a place in the title, an early first
    mention and being a name. Without `language`, German and English stopwords decide.
    """
    if limit <= 0:
        return []
    head = _TOKEN.findall(title)
    tokens = [*head, ".", *_TOKEN.findall(body_text), "."]
    folded = [token.lower() for token in tokens]
    if language not in ("de", "en"):
        sample = folded[:400]
        language = "de" if sum(w in _STOP_DE for w in sample) >= sum(w in _STOP_EN for w in sample) else "en"
    german = language == "de"
    found = _candidates(tokens, folded, german, len(head))
    if not german:  # an n-gram inside a longer one that occurs as often is only a piece of it
        for key in [key for key, entry in found.items() if " " in key and (entry[_COUNT] > 1 or entry[_PROPER])]:
            parts = key.split()
            for size in range(1, len(parts)):
                for begin in range(len(parts) - size + 1):
                    piece = found.get(" ".join(parts[begin : begin + size]))
                    if piece and piece[_COUNT] <= found[key][_COUNT]:
                        piece[_COUNT] = 0
    total, name_weight = len(tokens), 0.5 if german else 1.0  # capitals mark names in English, all nouns in German
    scored = [
        (
            count * (1 + 0.5 * key.count(" ")) + 2.0 * in_title + 1.5 * (1 - first / total) + proper * name_weight
            + 0.05 * min(len(key), 20),  # long German compounds are specific
            key,
            entry,
        )
        for key, entry in found.items()
        for count, first, in_title, proper, _ in (entry,)
        # A one-off word pair is rarely a phrase; a one-off English word is rarely a topic.
        if count and (count > 1 or proper or (german and " " not in key))
    ]  # fmt: skip
    scored.sort(key=lambda item: -item[0])
    chosen: list[tuple[list[Any], set[str]]] = []
    covered: set[str] = set()  # words of the chosen keywords, for a quick "no overlap" test
    for rank, (_score, key, entry) in enumerate(scored):
        if len(chosen) >= limit and rank >= 4 * limit:
            break
        parts = set(key.split())
        if not parts.isdisjoint(covered) and any(
            parts <= other or 2 * len(parts & other) > len(parts) for _, other in chosen if other != parts
        ):
            continue  # "Union" adds nothing to "Europäische Union", nor "rapid chess open" to "Baltic rapid chess"
        inside = [n for n, (_, other) in enumerate(chosen) if other < parts]
        if inside and all(2 * entry[_COUNT] >= chosen[n][0][_COUNT] for n in inside):
            # The chosen words occur mostly in this phrase, which says more.
            chosen = [item for n, item in enumerate(chosen) if n not in inside[1:]]
            chosen[inside[0]] = (entry, parts)
        elif not inside and len(chosen) < limit:
            chosen.append((entry, parts))
        covered.update(parts)
    return [max(entry[_SURFACES], key=entry[_SURFACES].__getitem__) for entry, _ in chosen]
