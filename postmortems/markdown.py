"""User Markdown to safe HTML: rendered by ``markdown``, then sanitised by ``nh3``.

Raw HTML in the source is escaped before rendering, and the sanitiser keeps only
the tags, attributes and URL schemes below, so no script, event handler,
``javascript:``/``data:`` URL or style survives whatever the input.
"""

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

EXTENSIONS = ["tables", "fenced_code", "sane_lists"]

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "code": {"class"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _markdown_without_raw_html() -> md.Markdown:
    """A Markdown converter that shows raw HTML as text: Markdown is the only markup users write."""
    converter = md.Markdown(extensions=EXTENSIONS, output_format="html")
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


def render_markdown(text: str | None) -> SafeString:
    """Render ``text`` as sanitised HTML, safe to put in any page, feed or email."""
    if not text:
        return mark_safe("")
    rendered = _markdown_without_raw_html().convert(text)
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener nofollow",
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
