"""User Markdown to safe HTML: parsed as CommonMark (with GitHub's tables and strikethrough)
by ``markdown-it-py``, then sanitised by ``nh3``.

Raw HTML in the source is shown as text, and the sanitiser keeps only the tags,
attributes and URL schemes below, so no script, event handler, ``javascript:``/``data:``
URL or style survives whatever the input.

markdown-it-py parses in time linear in its input (the old renderer took a minute over
``"[a](" * 8000``; ``bench/markdown_speed.py`` measures the worst inputs), and its nesting is
capped. Text longer than ``MAX_MARKDOWN_LENGTH`` is still never parsed: it is shown as
plain paragraphs, so no caller, whatever it stores, renders for long. Long texts are
rendered once and then served from the cache.
"""

from __future__ import annotations

import hashlib
import re

import nh3
from django.core.cache import cache
from django.core.validators import MaxLengthValidator
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import validateLink
from markdown_it.token import Token

# The longest postmortem section (a long one is a few thousand characters), and the longest
# text of any kind parsed as Markdown.
MAX_MARKDOWN_LENGTH = 50_000

validate_markdown_length = MaxLengthValidator(
    MAX_MARKDOWN_LENGTH,
    message="This text is %(show_value)d characters long; the limit is %(limit_value)d. "
    "Shorten it, or link to a longer document.",
)

# Longer texts (each a few milliseconds to render, up to a second at the limit) are rendered
# once and kept in the cache. Change ``RENDERING`` whenever the output for a text changes.
CACHED_LENGTH = 5_000
RENDERING = "mdit1"

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "code": {"class"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
_ALIGN = re.compile(r"text-align:(left|center|right)")


def _parser(*, breaks: bool) -> MarkdownIt:
    # "commonmark" keeps raw HTML as text when html is off, and caps nesting at 20 levels.
    parser = MarkdownIt("commonmark", {"html": False, "breaks": breaks}).enable(["table", "strikethrough"])
    # Every link parses as a link, so one to a refused URL shows its text rather than the
    # Markdown around it; ``_unlink_unsafe`` then takes such a link's target away.
    parser.validateLink = lambda url: True
    return parser


_DOCUMENT = _parser(breaks=False)
# Comments, notes and timeline events: a new line is a new line, as people type them.
_NOTE = _parser(breaks=True)


def _align_cells(tokens: list[Token]) -> None:
    """Table alignment as the ``align`` attribute: the sanitiser drops every ``style``."""
    for token in tokens:
        style = token.attrGet("style") if token.type in ("th_open", "td_open") else None
        if style:
            del token.attrs["style"]
            if found := _ALIGN.search(str(style)):
                token.attrSet("align", found.group(1))


def _unlink_unsafe(tokens: list[Token]) -> None:
    """Links to URLs markdown-it refuses (``javascript:``, ``data:``…) become their text (the
    sanitiser's list of schemes is the second check); images, which no page shows, their
    alt text."""
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        kept, unlinking = [], False
        for child in token.children:
            if child.type == "link_open" and not validateLink(str(child.attrGet("href") or "")):
                unlinking = True
            elif child.type == "link_close" and unlinking:
                unlinking = False
            elif child.type == "image":
                kept.append(Token("text", "", 0, content=child.content))
            else:
                kept.append(child)
        token.children = kept


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener nofollow",
        strip_comments=True,
    )


def _render(text: str, breaks: bool) -> str:
    parser = _NOTE if breaks else _DOCUMENT
    env: dict = {}
    tokens = parser.parse(text, env)
    _align_cells(tokens)
    _unlink_unsafe(tokens)
    return _clean(parser.renderer.render(tokens, parser.options, env))


def render_markdown(text: str | None, *, breaks: bool = False) -> SafeString:
    """Render ``text`` as sanitised HTML, safe to put in any page, feed or email.

    ``breaks``: each new line is a line break (for comments and notes), rather than a
    space as in a document's paragraphs."""
    if not text:
        return mark_safe("")
    if len(text) > MAX_MARKDOWN_LENGTH:
        return mark_safe(linebreaks(text, autoescape=True))  # noqa: S308 - escaped
    if len(text) < CACHED_LENGTH:
        return mark_safe(_render(text, breaks))  # noqa: S308 - sanitised by nh3
    # Keyed by the text itself, so an edit is a new key and nothing needs invalidating.
    key = f"markdown:{RENDERING}:{int(breaks)}:{hashlib.sha256(text.encode()).hexdigest()}"
    html = cache.get(key)
    if html is None:
        html = _render(text, breaks)
        cache.set(key, html, timeout=7 * 24 * 3600)
    return mark_safe(html)  # noqa: S308 - sanitised by nh3 (and cached by this module only)


# --- Plain text, for quoting ---------------------------------------------------------------

# Emphasis and strikethrough marks left over where a quote cuts a span in two: a run of
# them touching a word on one side only (so ``snake_case`` and ``2 * 3`` stay). Private-use
# characters count as letters: the search engines mark matches with them.
_WORD = r"[^\W_]|[\ue000-\uf8ff]"
_STRAY_MARKS = re.compile(rf"(?<![\w*~\ue000-\uf8ff])[*_~]+(?={_WORD})|(?<={_WORD})[*_~]+(?![\w*~\ue000-\uf8ff])")
# A heading's or a quote's marks, and what is left of a link cut inside it.
_STRAY_BLOCK_MARKS = re.compile(r"(?:^|(?<=\s))(?:#{1,6}|>)(?=\s)|\]\([^)\s]*\)?")
_STRAY_BRACKET = re.compile(r"\[(?![^\[\]]*\])")


# A quote is a few dozen words: more is never read.
QUOTE_LENGTH = 5_000


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):  # an image's content is its alt text
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def markdown_text(text: str | None) -> str:
    """The words of Markdown ``text`` without its syntax (no ``**``, ``#``, link targets),
    on one line: for quoting a piece of a section, where rendering would break the page.
    Works on any piece of a document, cut anywhere; reads the first ``QUOTE_LENGTH``
    characters only. Not escaped."""
    if not text:
        return ""
    text = text[:QUOTE_LENGTH]
    plain = ""
    for token in _DOCUMENT.parse(text):
        if token.type == "inline":
            part = _inline_text(token)
        elif token.type in ("fence", "code_block"):
            part = token.content
        else:
            continue
        part = " ".join(part.split())
        # Blocks (a heading, list items) run on, marked apart where no punctuation ends one.
        if plain and part:
            plain += " " if plain[-1] in ".,:;!?…" else " · "
        plain += part
    plain = _STRAY_BRACKET.sub("", _STRAY_BLOCK_MARKS.sub("", plain))
    return " ".join(_STRAY_MARKS.sub("", plain).split())
