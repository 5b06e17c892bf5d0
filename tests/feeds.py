"""Build small RSS documents for tests."""

from __future__ import annotations

import random
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass
class Item:
    title: str
    body: str
    guid: str | None = None
    link: str | None = None
    pub_date: str = "Tue, 24 Nov 2026 09:00:00 +0100"


def rss(items: list[Item], *, title: str = "Test feed", encoding: str = "UTF-8") -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://feed.example/</link><description>test</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        parts.append(f"<pubDate>{item.pub_date}</pubDate>")
        parts.append(f"<description>{escape(item.body)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    text = "\n".join(parts)
    return text.encode("utf-8") if encoding.upper() == "UTF-8" else text.encode(encoding, "xmlcharrefreplace")


_TOWNS = ("Mannheim", "Heidelberg", "Weinheim", "Speyer", "Schwetzingen", "Ladenburg", "Leimen", "Sinsheim")
_SUBJECTS = (
    "Gemeinderat", "Stadtwerke", "Feuerwehr", "Musikschule", "Tierheim", "Sportverein", "Kunstverein", "Volkshochschule",
    "Bürgerstiftung", "Verkehrsbetriebe", "Stadtbibliothek", "Wochenmarkt", "Freibad", "Klinikum", "Zoo", "Theater",
)  # fmt: skip
_WORDS = (
    "plant", "eröffnet", "erweitert", "saniert", "verschiebt", "feiert", "sucht", "meldet", "bilanziert", "startet",
    "Neubau", "Projekt", "Haushalt", "Programm", "Ausstellung", "Konzert", "Umbau", "Förderung", "Jubiläum", "Angebot",
    "Kinder", "Familien", "Senioren", "Gäste", "Mitglieder", "Besucher", "Anwohner", "Pendler", "Schüler", "Vereine",
    "Herbst", "Frühjahr", "Sommer", "Winter", "Wochenende", "Abend", "Vormittag", "Quartal", "Jahr", "Monat",
)  # fmt: skip


def story_text(key: str, sentences: int = 4) -> str:
    """A German story body of its own for `key`: other keys give texts that share almost no word sequence."""
    chooser = random.Random(key)
    town, subject = chooser.choice(_TOWNS), chooser.choice(_SUBJECTS)
    paragraphs = []
    for _ in range(sentences):
        words = " ".join(chooser.choice(_WORDS) for _ in range(9))
        paragraphs.append(f"<p>{subject} {town} {words} {chooser.randint(2, 900)} {chooser.choice(_WORDS)}.</p>")
    return "".join(paragraphs)


def numbered(count: int, *, prefix: str = "story", start: int = 1) -> list[Item]:
    """`count` distinct German stories with guids and links (distinct from other prefixes' stories too)."""
    return [
        Item(
            title=f"Meldung {n}: Gemeinderat beschließt neuen Haushalt für {prefix}",
            body=story_text(f"{prefix}-{n}"),
            guid=f"{prefix}-{n}",
            link=f"https://feed.example/{prefix}/{n}",
        )
        for n in range(start, start + count)
    ]
