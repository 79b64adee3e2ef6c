from django import template

from postmortems.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None, style: str = ""):
    """``{{ text|markdown }}``: sanitised HTML from user Markdown. ``{{ text|markdown:"lines" }}``
    for comments, notes and timeline events, where each new line the writer typed is kept."""
    return render_markdown(text, breaks=style == "lines")
