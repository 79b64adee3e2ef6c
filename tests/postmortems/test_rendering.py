"""Markdown on the detail page: XSS payloads through every section render inert; the
useful parts (tables, fenced code, links, headings) work."""

import re
from html.parser import HTMLParser

import pytest

from postmortems.models import SECTION_NAMES

from .conftest import make_postmortem

pytestmark = pytest.mark.django_db

XSS_PAYLOADS = [
    "<script>alert('xss')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[ref link][x]\n\n[x]: javascript:alert(1)",
    "[ref link][y]\n\n[y]: data:text/html,<script>alert(1)</script>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<div style="position:fixed;top:0">overlay</div>',
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "`<script>alert(1)</script>` and\n\n```html\n<script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "<!--<script>alert(1)</script>-->",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '[a](https://ok.example "title\\" onmouseover=alert(1) x=\\"")',
    '<a href="#" style="color:red">x</a>',
]


def user_markup(html: str) -> str:
    """The part of the page holding the sections (the frame's own scripts excluded)."""
    start = html.index('id="section-summary"')
    end = html.index('id="actions-heading"')
    return html[start:end]


ALLOWED_TAGS = {
    "section", "h2", "p", "br", "hr", "h1", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "div",
}  # fmt: skip
SAFE_ATTRIBUTES = {"href", "title", "align", "class", "start", "rel", "id", "aria-labelledby"}


class Elements(HTMLParser):
    """Every start tag with its attributes, as the browser would parse them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No element, attribute or URL from user input that could run script or restyle the page.
    (Raw HTML the user typed is shown escaped, as text: that is inert and allowed.)"""
    assert "<script" not in html.lower()
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert name in SAFE_ATTRIBUTES, (tag, name)  # no on…=, no style=
            url = re.sub(r"[\x00-\x20]", "", (value or "")).lower()
            assert not url.startswith(("javascript:", "data:", "vbscript:")), (tag, name, value)
    # The same, read from the raw tags with their quoted values blanked out.
    for tag in re.findall(r"<[^>]+>", html.lower()):
        bare = re.sub(r'"[^"]*"', '""', tag)
        assert not re.search(r"\son\w+\s*=", bare), tag
        assert not re.search(r"\sstyle\s*=", bare), tag
        assert not re.search(r"(href|src)\s*=\s*\"?\s*(javascript|data|vbscript):", tag), tag


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_in_every_section_render_inert(client, people, payload):
    postmortem = make_postmortem(people, status="published", **{name: payload for name in SECTION_NAMES})
    client.force_login(people.outsider)
    page = client.get(postmortem.get_absolute_url())
    assert page.status_code == 200
    html = page.text
    assert_inert(user_markup(html))
    # Anywhere on the page, the only scripts are the app's own (and base.html's inline one).
    for tag in re.findall(r"<script[^>]*>", html):
        assert tag == "<script>" or 'src="/static/' in tag, tag


def test_there_are_at_least_twenty_payloads():
    assert len(XSS_PAYLOADS) >= 20


def test_markdown_features_work(client, people):
    text = (
        "## Timeline notes\n\n"
        "| Service | Errors |\n|---|---:|\n| checkout | 1200 |\n\n"
        "```python\nprint('hello')\n```\n\n"
        "See [the runbook](https://runbooks.example/checkout).\n"
    )
    postmortem = make_postmortem(people, status="published", summary=text)
    client.force_login(people.outsider)
    html = user_markup(client.get(postmortem.get_absolute_url()).text)
    assert "<h2>Timeline notes</h2>" in html
    assert "<table>" in html and "<td>checkout</td>" in html
    assert '<code class="language-python">' in html
    assert '<a href="https://runbooks.example/checkout" rel="noopener nofollow">the runbook</a>' in html


def test_payloads_in_action_items_and_reviews_are_escaped(client, people):
    postmortem = make_postmortem(people, status="in_review")
    postmortem.action_items.update(title="<img src=x onerror=alert(1)>")
    postmortem.reviews.create(reviewer=people.reviewer, decision="request_changes", comment="<script>alert(1)</script>")
    client.force_login(people.facilitator)
    html = client.get(postmortem.get_absolute_url()).text
    assert "<img src=x" not in html
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_editor_escapes_stored_text(client, people):
    postmortem = make_postmortem(people, summary="</textarea><script>alert(1)</script>")
    client.force_login(people.facilitator)
    html = client.get(f"/postmortems/{postmortem.pk}/edit/").text
    assert "<script>alert(1)" not in html
