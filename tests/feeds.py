"""Build small RSS documents for tests."""

from __future__ import annotations

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


def numbered(count: int, *, prefix: str = "story", start: int = 1) -> list[Item]:
    """`count` distinct German stories with guids and links."""
    return [
        Item(
            title=f"Meldung {n}: Gemeinderat beschließt neuen Haushalt für {prefix}",
            body=(
                f"<p>MANNHEIM: Der Gemeinderat hat am Dienstag den Haushalt Nummer {n} beschlossen. "
                f"„Wir investieren in Schulen und Straßen“, sagte die Bürgermeisterin.</p>"
                f"<p>Die Opposition kritisierte die Pläne als zu teuer; die Abstimmung fiel mit {n + 20} zu 12 Stimmen aus.</p>"
            ),
            guid=f"{prefix}-{n}",
            link=f"https://feed.example/{prefix}/{n}",
        )
        for n in range(start, start + count)
    ]
