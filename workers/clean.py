"""Clean stage: sanitise the body once with nh3, repair the text, drop boilerplate blocks, derive plain text,
word count, lead image and a hash.

Order of work on the body: nh3 (allow-list; scripts, styles, embeds and forms go with their content) → lxml
tree → text nodes repaired (ftfy for mojibake, C1 controls, NFC) → URLs made absolute against the story link,
tracking pixels and empty blocks dropped → boilerplate rules on whole blocks → wrappers unwrapped → HTML out.
The text is fixed in the tree's text nodes, never in the markup, and only when a cheap check says it may need it.
"""

from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
from urllib.parse import unquote, urljoin, urlsplit

import ftfy
import lxml.etree
import lxml.html
import nh3

from workers.boilerplate import Rule
from workers.identity import text_fingerprint
from workers.story import Story

__all__ = ["clean", "count_words", "fix_text", "plain_text"]

# What an article body may contain; everything else is removed (the tag; its text stays unless listed below).
_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "strong", "em", "b", "i", "a",
    "img", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    # Kept only until the boilerplate rules have seen the blocks they delimit, then unwrapped.
    "div", "span", "section", "article", "aside", "footer", "header",
}  # fmt: skip
# Removed together with their content: code, embeds, forms and raw-text elements whose "text" is markup.
_DROP_WITH_CONTENT = {
    "script", "style", "noscript", "template", "iframe", "object", "embed", "applet", "frame", "frameset",
    "noembed", "noframes", "xmp", "plaintext", "svg", "math", "form", "button", "select", "textarea", "title",
    "audio", "video", "canvas",
}  # fmt: skip
_UNWRAP = ("div", "span", "section", "article", "aside", "footer", "header")
_HEADINGS = {"h1": "h2", "h5": "h4", "h6": "h4"}  # a body has h2-h4: the story's title is its h1
_BLOCK_TAGS = ("p", "div", "h2", "h3", "h4", "ul", "ol", "blockquote", "figure", "table")
_INLINE = frozenset(("a", "strong", "em", "b", "i", "span", "img", "br"))
_EMPTY_DROPPABLE = ("p", "h2", "h3", "h4", "blockquote", "li", "figcaption")
# Block text joins its parts with a space at these elements ("<li>a</li><li>b</li>" reads "a b", not "ab").
_SEPARATED = frozenset(("br", "p", "li", "td", "th", "tr", "h2", "h3", "h4", "blockquote", "figcaption", "div"))
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
_C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A cheap screen for text ftfy should look at: C1 controls (latin-1/cp1252 confusion), a UTF-8 lead byte read as
# Latin-1/cp1252 followed by a continuation-byte look-alike ("Ã¼", "â€ž", "Â "), U+FFFD, Latin ligatures.
_SUSPECT = re.compile(
    "[\x80-\x9f\ufffd\ufb00-\ufb06]|[\xc2-\xf4][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # entities are decoded exactly once, elsewhere; a second decode makes text into tags
    uncurl_quotes=False,  # typographic quotes („…“, “…”, ’) are the publisher's, not damage
    fix_character_width=False,  # fullwidth forms are text (and "＜" must not turn into "<")
    fix_line_breaks=False,  # whitespace is folded anyway
    explain=False,
    normalization="NFC",
)
# In plain-text fields a "<" that starts something tag-like becomes a fullwidth "＜": the text still reads
# the same, and a consumer that forgets to escape it cannot turn text into markup.
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")
# A script URL hidden inside an http(s) one: feedparser resolves an entity-encoded "javascript:" href as a
# relative path ("https://site/javascript:alert(1)"); no article links to such a thing.
_SMUGGLED = re.compile(r"(?<![a-z0-9])(?:javascript|vbscript|livescript|data):", re.IGNORECASE)
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_DIGITS = re.compile(r"\s*(\d+)")
_TITLE_MAX = 500
_SUMMARY_MAX = 600


def clean(story: Story, rules: tuple[Rule, ...]) -> Story:
    """Return the story with `title`, `body_html`, `body_text`, `summary`, `credits`, `removed`,
    `word_count`, `lead_image` and `content_hash` set."""
    title = plain_text(story.title)[:_TITLE_MAX]
    base = story.url if story.url and urlsplit(story.url).scheme in ("http", "https") else None
    body = _apply_rules(_sanitise(story.content_html), story.feed_id, rules, base)
    body_text = "\n\n".join(body.blocks)
    summary = plain_text(_sanitise(story.summary_html)) if story.summary_html else ""
    if not summary:
        summary = body.lead
    return dataclasses.replace(
        story,
        title=title,
        body_html=body.html,
        body_text=body_text,
        summary=summary[:_SUMMARY_MAX],
        credits=body.credits,
        removed=body.removed,
        word_count=count_words(body_text),
        lead_image=body.lead_image,
        content_hash=text_fingerprint(title, body_text),
    )


def plain_text(markup: str) -> str:
    """Markup removed, entities decoded once, text repaired (mojibake, controls, NFC), whitespace folded."""
    text = _C0.sub("", markup)
    if "<" in text:
        text = nh3.clean(text, tags=set(), clean_content_tags=_DROP_WITH_CONTENT)
    # Decoded once: nh3 escapes its output, and feedparser already decoded the XML layer. A second
    # decode would turn text that reads "&lt;script&gt;" into a live tag.
    text = html.unescape(text) if "&" in text else text
    return _defang(_fold(fix_text(text)))


def fix_text(text: str) -> str:
    """Mojibake repaired ("FÃ¼r" → "Für"), control characters removed, NFC; quotes and entities untouched."""
    if _SUSPECT.search(text):
        text = ftfy.fix_text(text, _FTFY)
    text = _CONTROL.sub("", text)
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def count_words(text: str) -> int:
    """Words as a reader counts them: runs of letters and digits, joined by inner hyphens and apostrophes."""
    return len(_WORD.findall(text))


def _fold(text: str) -> str:
    return " ".join(text.split())  # whitespace runs to one space, ends stripped; str.split and \s agree


def _defang(text: str) -> str:
    return _TAG_LIKE.sub("＜", text) if "<" in text else text


def _sanitise(markup: str) -> str:
    return nh3.clean(
        _C0.sub("", markup),
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
        strip_comments=True,
    )


@dataclasses.dataclass(slots=True)
class _Body:
    html: str = ""
    blocks: list[str] = dataclasses.field(default_factory=list)  # text of each kept block
    removed: list[str] = dataclasses.field(default_factory=list)  # names of rules that removed something
    credits: list[str] = dataclasses.field(default_factory=list)
    lead_image: str | None = None
    lead: str = ""  # the first paragraph's text (else the first block's): the summary when the feed has none


def _apply_rules(markup: str, feed_id: str, rules: tuple[Rule, ...], base: str | None) -> _Body:
    if not markup.strip():
        return _Body()
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        text = _defang(_fold(fix_text(html.unescape(nh3.clean(markup, tags=set())))))
        return _Body(html=html.escape(text), blocks=[text] if text else [])
    if _SUSPECT.search(markup) or not unicodedata.is_normalized("NFC", markup):
        _fix_tree(root)
    for element in root.iter(*_HEADINGS):
        element.tag = _HEADINGS[element.tag]
    _paragraphs(root)
    for container in root.iter("div", "section", "article"):
        if container is not root and _has_block_children(container):
            _paragraphs(container)
    _absolute_urls(root, base)
    _drop_empty_blocks(root)
    blocks = _blocks(root)
    applicable = [r for r in rules if r.feed is None or r.feed == feed_id]
    body = _Body()
    kept: list[tuple[str, str]] = []
    leading = True
    for index, (element, text) in enumerate(blocks):
        rule = next((r for r in applicable if r.matches(text) and (r.position != "first" or leading)), None)
        if rule is None:
            leading = False
            kept.append((element.tag, text))
            continue
        body.removed.append(rule.name)
        if rule.action == "credit":
            body.credits.append(text)
        if rule.position == "last":
            for later, _ in blocks[index:]:
                later.drop_tree()
            break
        element.drop_tree()
    for tag in _UNWRAP:
        for element in list(root.iter(tag)):
            if element is not root:
                element.drop_tag()
    body.lead_image = next((img.get("src") for img in root.iter("img")), None)
    body.html = (html.escape(root.text) if root.text else "") + "".join(
        lxml.html.tostring(child, encoding="unicode", with_tail=True) for child in root
    )
    body.html = body.html.strip()
    body.blocks = [_defang(text) for _, text in kept if text]
    body.lead = next(
        (_defang(text) for tag, text in kept if tag == "p" and text), body.blocks[0] if body.blocks else ""
    )
    return body


def _fix_tree(root: lxml.html.HtmlElement) -> None:
    """Repair every text node (and alt/title text); markup is left alone."""
    for element in root.iter():
        if element.text:
            element.text = fix_text(element.text)
        if element.tail:
            element.tail = fix_text(element.tail)
        for name in ("alt", "title"):
            value = element.get(name)
            if value:
                element.set(name, fix_text(value))


def _paragraphs(root: lxml.html.HtmlElement) -> None:
    """Loose text and inline elements between the blocks of a container (plain-text feeds, "a<br>b") become
    paragraphs of their own, so body_text has every word the HTML shows."""
    if not (root.text and root.text.strip()) and not any(
        child.tag in _INLINE or (child.tail and child.tail.strip()) for child in root
    ):
        return
    paragraph = None
    if root.text and root.text.strip():
        paragraph = lxml.html.Element("p")
        paragraph.text, root.text = root.text, None
        root.insert(0, paragraph)
    for child in list(root):
        if child is paragraph:
            continue
        if child.tag not in _INLINE:
            paragraph = None
            if child.tail and child.tail.strip():
                paragraph = lxml.html.Element("p")
                paragraph.text, child.tail = child.tail, None
                child.addnext(paragraph)
            continue
        if paragraph is None:
            paragraph = lxml.html.Element("p")
            child.addprevious(paragraph)
        paragraph.append(child)  # moves the child, with its tail, into the paragraph


def _absolute_urls(root: lxml.html.HtmlElement, base: str | None) -> None:
    """Relative href/src resolved against the story link; images must be http(s); 1×1 pixels dropped."""
    for link in list(root.iter("a")):
        href = link.get("href")
        target = _resolve(href, base, ("http", "https", "mailto")) if href else None
        if target is None:
            link.drop_tag()
        elif target != href:
            link.set("href", target)
    for img in list(root.iter("img")):
        src = img.get("src")
        target = _resolve(src, base, ("http", "https")) if src else None
        if target is None or _is_pixel(img):
            img.drop_tree()
        elif target != src:
            img.set("src", target)


def _resolve(url: str, base: str | None, schemes: tuple[str, ...]) -> str | None:
    url = url.strip()
    try:
        parts = urlsplit(url)
        if not parts.scheme and base:
            url = urljoin(base, url)
            parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in schemes or (parts.scheme.lower() != "mailto" and not parts.netloc):
        return None
    if _SMUGGLED.search(_CONTROL_OR_SPACE.sub("", unquote(url[len(parts.scheme) + 1 :]))):
        return None
    return url


def _is_pixel(img: lxml.html.HtmlElement) -> bool:
    """A tracking pixel or spacer: a declared width or height of at most one pixel."""
    for name in ("width", "height"):
        value = img.get(name)
        match = _DIGITS.match(value) if value else None
        if match and int(match.group(1)) <= 1:
            return True
    return False


def _drop_empty_blocks(root: lxml.html.HtmlElement) -> None:
    """Paragraphs (and headings, list items, quotes) with neither text nor an image: "<p>&nbsp;</p>", "<p><br></p>"."""
    for element in list(root.iter(*_EMPTY_DROPPABLE)):
        if element.getparent() is None:
            continue
        if (
            not element.text_content().strip(" \t\n\r\f\v\xa0\u200b\u2060\ufeff")
            and next(element.iter("img"), None) is None
        ):
            element.drop_tree()


def _blocks(root: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str]]:
    """Top-level blocks with their folded text; wrapper divs are looked into, not treated as one block."""
    blocks = []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        if element.tag in ("div", "section", "article") and len(element) and _has_block_children(element):
            blocks.extend(_blocks(element))
        else:
            blocks.append((element, _fold(_text(element))))
    return blocks


def _has_block_children(element: lxml.html.HtmlElement) -> bool:
    return any(child.tag in _BLOCK_TAGS for child in element)


def _text(element: lxml.html.HtmlElement) -> str:
    """The element's text, with a space where a line break, list item or cell ends (iterative: deep trees are fine)."""
    if not len(element):
        return element.text or ""
    parts: list[str] = []
    for event, node in lxml.etree.iterwalk(element, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _SEPARATED:
                parts.append(" ")
            if node.text and tag:
                parts.append(node.text)
        else:
            if tag in _SEPARATED:
                parts.append(" ")
            if node.tail and node is not element:
                parts.append(node.tail)
    return "".join(parts)
