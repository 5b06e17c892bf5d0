"""What the raw document says where no XML parser can be trusted yet: entity declarations and the root
element (before parsing), control characters XML forbids, and where each entry starts and ends (to recover
the complete entries of a document that is not well-formed).

Entity declarations are how billion-laughs (exponential or quadratic expansion) and XXE (external entities
reading local files or URLs) start; no real feed needs one, so the parse stage refuses such documents, as
defusedxml does. feedparser does not: it keeps the "safe" declarations and hands them to expat.

Only the prolog is scanned for them (XML declaration, comments, processing instructions and the DOCTYPE, up
to the root element's start tag), so an article that quotes `<!ENTITY` in its CDATA body is not refused. The
scan runs on every plausible decoding of the bytes (as-is for ASCII-compatible encodings, UTF-16/32 when
the first bytes say so, and the declared encoding when it is not ASCII-compatible, such as UTF-7 or EBCDIC),
so an encoding the parser would honour cannot hide a declaration. Nothing is ever fetched or expanded here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

__all__ = ["Entries", "Prolog", "read_prolog", "recover_entries", "split_entries", "strip_forbidden_controls"]

# Comments and processing instructions are matched to their end or to the end of the text, so an
# unterminated one costs one linear scan, never one per start (no quadratic blow-up on hostile input).
# Quotes are not tracked: outside a comment or PI, "<!ENTITY" before the root element can only be a
# declaration (or junk that no parser accepts), and an element name cannot start inside the DOCTYPE except
# in an entity value, which comes after its own "<!ENTITY".
_PROLOG_TOKEN = re.compile(
    r"<\?.*?(?:\?>|\Z)|<!--.*?(?:-->|\Z)|(<!ENTITY)|<([^\W\d][\w.\-]*(?::[^\W\d][\w.\-]*)?)",
    re.DOTALL | re.IGNORECASE,
)
_DECLARED = re.compile(r"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]{1,40})["']""")
_ASCII = bytes(range(128))
# Byte-order marks and the first bytes of "<?" without one, as the XML spec's appendix F lists them.
_SNIFFED = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
)
# XML 1.0 allows tab, line feed and carriage return of the C0 controls; ISO-2022 encodings need SO, SI and ESC.
_FORBIDDEN_C0 = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORBIDDEN_C0_ISO2022 = re.compile(rb"[\x00-\x08\x0b\x0c\x10-\x1a\x1c-\x1f]")
_ISO2022 = re.compile(rb"""encoding\s*=\s*["']\s*(?:cs)?iso[-_]?2022""", re.IGNORECASE)
# Entry start tags, and where an entry or the whole channel/feed ends; CDATA sections and comments are
# matched first so that what they quote is never taken for markup.
_QUOTED = r"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)"
_ENTRY_STARTS = re.compile(rf"({_QUOTED})|<(?:[\w.\-]+:)?(?:item|entry)(?=[\s/>]|\Z)", re.DOTALL)
_ENDS = re.compile(
    rf"({_QUOTED})|(</(?:[\w.\-]+:)?(?:item|entry)\s*>)|(</(?:[\w.\-]+:)?(?:channel|feed|rss|RDF)\s*>)", re.DOTALL
)
_HEAD_TAG = re.compile(rf"{_QUOTED}|<[?!][^>]*>|</([^\s>]+)\s*>|<([^\s/>!?]+)[^>]*?(/?)>", re.DOTALL)
_DECLARATION = re.compile(r"\A\ufeff?\s*<\?xml[^>]*>")
_CONTAINERS = frozenset(("rss", "channel", "feed", "RDF"))
# Recovering a broken document parses each entry with the document's head: bounded, since the head is
# parsed once per entry (beyond this the whole-document recovery of the parser's loose mode is kept).
_RECOVERY_BUDGET = 32 * 1024 * 1024
_RECOVERY_MAX_ENTRIES = 2000
_Entry = TypeVar("_Entry")


@dataclass(frozen=True, slots=True)
class Prolog:
    """What the start of a document says: whether its DOCTYPE declares entities, the root element's name if
    found, and what it plainly is when it cannot be a feed ("empty", "JSON", "JSON Feed", "HTML")."""

    declares_entities: bool
    root: str | None
    kind: str | None = None

    @property
    def root_local_name(self) -> str | None:
        return self.root.rpartition(":")[2] if self.root else None


def read_prolog(body: bytes) -> Prolog:
    """Scan the prolog under every plausible decoding; entities anywhere win, the first root found is kept."""
    # Without byte-order marks, NULs (UTF-16) and leading space, the first bytes tell JSON and HTML apart.
    head = body[:4096].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xfe\xff \t\r\n").lower()
    if not head:
        return Prolog(False, None, "empty")
    root = None
    for text in _decodings(body):
        declares, found = _scan(text)
        if declares:
            return Prolog(True, found)
        root = root or found
    kind = None
    if head.startswith((b"{", b"[")):
        kind = "JSON Feed" if b"jsonfeed.org" in head else "JSON"
    elif b"<html" in head or (root or "").rpartition(":")[2].lower() in ("html", "head", "body"):
        kind = "HTML"
    return Prolog(False, root, kind)


def _decodings(body: bytes) -> list[str]:
    """The texts a parser could see: the sniffed encoding first, then the bytes as Latin-1 (which keeps the
    ASCII structure of every ASCII-compatible encoding), then a declared encoding that is not ASCII-compatible."""
    head = body[:4]
    sniffed = next((name for mark, name in _SNIFFED if head.startswith(mark)), None)
    if sniffed is not None:
        return [body.decode(sniffed, "replace"), body.decode("latin-1")]
    if b"\x00" in head:
        # NULs at the start without a recognisable pattern: some UTF-16/32 variant; try them all.
        names = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
        return [*(body.decode(name, "replace") for name in names), body.decode("latin-1")]
    texts = [body.decode("latin-1")]
    declared = _DECLARED.search(texts[0][:1024])
    if declared and not _ascii_compatible(declared.group(1)):
        try:
            texts.append(body.decode(declared.group(1), "replace"))
        except (LookupError, ValueError):
            pass  # an unknown label: the parser falls back to an encoding tried above
    return texts


def _ascii_compatible(label: str) -> bool:
    """True when the codec reads ASCII bytes as ASCII (UTF-8, Latin-1, cp1252, Shift_JIS …): the Latin-1
    view already shows its markup. UTF-7 ("+ADw-" is "<"), ISO-2022 and EBCDIC are not."""
    try:
        return _ASCII.decode(label) == _ASCII.decode("ascii")
    except LookupError:
        return True  # an unknown label: the parser cannot use it either
    except ValueError:
        return False  # ASCII bytes mean something else in it


def _scan(text: str) -> tuple[bool, str | None]:
    """(an entity is declared, root element name) for one decoding; other text before the root is skipped."""
    position = 0
    while True:
        token = _PROLOG_TOKEN.search(text, position)
        if token is None:
            return False, None
        if token.group(1):
            return True, None
        if token.group(2):
            return False, token.group(2)
        position = token.end()


def strip_forbidden_controls(body: bytes) -> tuple[bytes, str | None]:
    """The body without the C0 control characters XML 1.0 forbids (NUL padding, a terminal's ESC sequences)
    and where the first one was; unchanged when the encoding is not ASCII-compatible (UTF-16/32, EBCDIC),
    where such bytes are parts of characters. No ASCII-compatible encoding uses them inside a character."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff", b"\x4c\x6f\xa7\x94")) or b"\x00" in body[:64].lstrip(b"\x00")[:8]:
        return body, None
    pattern = _FORBIDDEN_C0_ISO2022 if _ISO2022.search(body[:1024]) else _FORBIDDEN_C0
    first = pattern.search(body)
    if first is None:
        return body, None
    line = body.count(b"\n", 0, first.start()) + 1
    column = first.start() - body.rfind(b"\n", 0, first.start())
    return pattern.sub(b"", body), f"control character U+{first.group()[0]:04X} at line {line}, column {column}"


@dataclass(frozen=True, slots=True)
class Entries:
    """A document cut at its entries: `head + chunk + closers` is a small document of one entry each.

    A chunk runs from its entry's start tag to the next entry's start tag (the last one to the channel's or
    feed's end tag, or the end of the text); `last_complete` is False when the text ends inside the last entry.
    """

    head: str
    closers: str
    chunks: list[str]
    last_complete: bool


def split_entries(text: str) -> Entries | None:
    """The entries of a decoded document, found without an XML parser; None when it has no entry start tag."""
    starts = [m.start() for m in _ENTRY_STARTS.finditer(text) if not m.group(1)]
    if not starts:
        return None
    head = _DECLARATION.sub("", text[: starts[0]], count=1)
    chunks = [text[start:end] for start, end in pairwise(starts)]
    last = text[starts[-1] :]
    tag_end = last.find(">")
    complete, end = tag_end >= 0 and last[tag_end - 1] == "/", len(last)
    for token in _ENDS.finditer(last, max(tag_end, 0)):
        if token.group(2):
            complete = True
        elif token.group(3):
            complete, end = tag_end >= 0, token.start()
            break
    chunks.append(last[:end])
    # Elements the head leaves open inside the channel or feed (an unclosed <title>) are closed before each
    # entry, so the entry does not end up inside them; the channel and feed are closed after it.
    open_tags = _open_tags(head)
    containers = [n for n, tag in enumerate(open_tags) if tag.rpartition(":")[2] in _CONTAINERS]
    inner = open_tags[containers[-1] + 1 :] if containers else []
    head += "".join(f"</{name}>" for name in reversed(inner))
    closers = "".join(f"</{name}>" for name in reversed(open_tags[: len(open_tags) - len(inner)]))
    return Entries(head, closers, chunks, complete)


def _open_tags(head: str) -> list[str]:
    """The elements the head leaves open (rss and channel, or feed), outermost first."""
    open_tags: list[str] = []
    for tag in _HEAD_TAG.finditer(head):
        closing, opening, empty = tag.group(1), tag.group(2), tag.group(3)
        if closing and closing in open_tags:
            del open_tags[len(open_tags) - 1 - open_tags[::-1].index(closing) :]
        elif opening and not empty:
            open_tags.append(opening)
    return open_tags


def recover_entries(
    body: bytes, encoding: str | None, whole: list[_Entry], parse_one: Callable[[bytes], list[_Entry]]
) -> tuple[list[_Entry], int]:
    """The complete entries of a document that is not well-formed, and how many entries it has (P3).

    Each entry is parsed on its own (`parse_one` on a UTF-8 document of the head, the entry and the end tags
    it needs), so an error in one entry cannot swallow the next, as an unclosed element does in a loose
    parse of the whole; an entry the text ends inside is dropped. Too big for that, or fewer entries than
    that: `whole`, the loose parser's entries of the whole document, minus a last entry the text ends inside.
    `encoding` is the one the parser decoded `body` with.
    """
    try:
        text = body.decode(encoding or "utf-8", "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    spans = split_entries(text)
    if spans is None:
        return whole, len(whole)
    complete = spans.chunks if spans.last_complete else spans.chunks[:-1]
    # What the loose parse of the whole gives, minus an entry the text ends inside.
    loose = whole[:-1] if not spans.last_complete and len(whole) == len(spans.chunks) else whole
    if len(complete) > _RECOVERY_MAX_ENTRIES or len(spans.head) * len(complete) + len(text) > _RECOVERY_BUDGET:
        return loose, len(whole)
    entries = []
    for chunk in complete:
        document = f'<?xml version="1.0" encoding="utf-8"?>\n{spans.head}{chunk}{spans.closers}'
        entries.extend(parse_one(document.encode("utf-8")))
    # Fewer than the loose parse found: the break is in the head (the channel), which every entry then
    # inherits; the loose parse of the whole got past it.
    return (entries, len(spans.chunks)) if len(entries) >= len(loose) else (loose, len(whole))
