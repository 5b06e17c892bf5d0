"""Clean stage: sanitise the body once with nh3, drop boilerplate blocks, derive plain text and a hash."""

from __future__ import annotations

import dataclasses
import html
import re
import unicodedata

import lxml.etree
import lxml.html
import nh3

from workers.boilerplate import Rule
from workers.identity import text_fingerprint
from workers.story import Story

__all__ = ["clean"]

# What an article body may contain; everything else is removed (scripts and styles with their content).
_TAGS = {
    "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "strong", "em", "b", "i", "a", "img",
    "figure", "figcaption", "table", "thead", "tbody", "tr", "th", "td", "caption",
    # Kept only until the boilerplate rules have seen the blocks they delimit, then unwrapped.
    "div", "span", "section", "article", "aside", "footer", "header",
}  # fmt: skip
_UNWRAP = ("div", "span", "section", "article", "aside", "footer", "header")
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
_EMPTY_P = re.compile(r"<p>(?:\s|&nbsp;|\xa0|<br>)*</p>")
_TITLE_MAX = 500
_SUMMARY_MAX = 600


def clean(story: Story, rules: tuple[Rule, ...]) -> Story:
    """Return the story with `title`, `body_html`, `body_text`, `summary`, `credits` and `content_hash` set."""
    title = plain_text(story.title)[:_TITLE_MAX]
    sanitised = _sanitise(story.content_html)
    body_html, blocks, removed, credits = _apply_rules(sanitised, story.feed_id, rules)
    body_text = "\n\n".join(blocks)
    summary = plain_text(_sanitise(story.summary_html)) if story.summary_html else ""
    if not summary and blocks:
        summary = blocks[0]
    return dataclasses.replace(
        story,
        title=title,
        body_html=body_html,
        body_text=body_text,
        summary=summary[:_SUMMARY_MAX],
        credits=credits,
        removed=removed,
        content_hash=text_fingerprint(title, body_text),
    )


def plain_text(markup: str) -> str:
    """Markup removed, entities decoded, control characters dropped, NFC, whitespace folded."""
    text = nh3.clean(markup, tags=set(), clean_content_tags={"script", "style"}) if "<" in markup else markup
    # Decoded once: nh3 escapes its output, and feedparser already decoded the XML layer. A second
    # decode would turn text that reads "&lt;script&gt;" into a live tag.
    text = html.unescape(text) if "&" in text else text
    return _fold(_CONTROL.sub("", text))


def _fold(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _sanitise(markup: str) -> str:
    markup = _CONTROL.sub("", markup)
    return nh3.clean(
        markup,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
        strip_comments=True,
    )


def _apply_rules(markup: str, feed_id: str, rules: tuple[Rule, ...]) -> tuple[str, list[str], list[str], list[str]]:
    """(body HTML, text of each kept block, names of rules that removed something, credit lines)."""
    if not markup.strip():
        return "", [], [], []
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        text = plain_text(markup)
        return html.escape(text), [text] if text else [], [], []
    if root.text and root.text.strip():
        # Loose text before the first element (plain-text feeds) is a paragraph of its own.
        paragraph = lxml.html.Element("p")
        paragraph.text, root.text = root.text, None
        root.insert(0, paragraph)
    for pixel in root.xpath(".//img[(@width<=1 and @height<=1) or not(@src)]"):
        pixel.drop_tree()
    blocks = _blocks(root)
    applicable = [r for r in rules if r.feed is None or r.feed == feed_id]
    removed: list[str] = []
    credits: list[str] = []
    kept: list[tuple[lxml.html.HtmlElement, str]] = []
    leading = True
    for index, (element, text) in enumerate(blocks):
        rule = next((r for r in applicable if r.matches(text) and (r.position != "first" or leading)), None)
        if rule is None:
            leading = False
            kept.append((element, text))
            continue
        removed.append(rule.name)
        if rule.action == "credit":
            credits.append(text)
        if rule.position == "last":
            for later, _ in blocks[index:]:
                later.drop_tree()
            break
        element.drop_tree()
    for tag in _UNWRAP:
        for element in root.iter(tag):
            if element is not root:
                element.drop_tag()
    body = (html.escape(root.text) if root.text else "") + "".join(
        lxml.html.tostring(child, encoding="unicode", with_tail=True) for child in root
    )
    body = _EMPTY_P.sub("", body).strip()
    return body, [text for _, text in kept if text], removed, credits


def _blocks(root: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str]]:
    """Top-level blocks with their folded text; wrapper divs are looked into, not treated as one block."""
    blocks = []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        if element.tag in ("div", "section", "article") and len(element) and _has_block_children(element):
            blocks.extend(_blocks(element))
        else:
            blocks.append((element, _fold(element.text_content())))
    return blocks


def _has_block_children(element: lxml.html.HtmlElement) -> bool:
    return any(
        child.tag in ("p", "div", "h2", "h3", "h4", "ul", "ol", "blockquote", "figure", "table") for child in element
    )
