from django import template

from postmortems.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None):
    """``{{ text|markdown }}``: sanitised HTML from user Markdown."""
    return render_markdown(text)
