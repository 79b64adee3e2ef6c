"""Widgets whose values survive a round trip through the browser unchanged.

Every form in the app uses these instead of Django's ``DateInput`` and ``Textarea``, so an
edit form saved untouched posts back exactly what is stored:

- a ``type=date`` input only accepts ``YYYY-MM-DD``; Django would render the active locale's
  format (``14/12/2026`` in en-GB), which the browser drops, posting an empty date;
- browsers send a textarea's line breaks as CRLF; stored text keeps LF, so the form reads
  them back as LF (and an untouched text counts as unchanged).
"""

from __future__ import annotations

from django import forms

ISO_DATE = "%Y-%m-%d"


class IsoDateInput(forms.DateInput):
    """A ``type=date`` input that renders its value in ISO 8601, whatever the locale."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs=attrs, format=ISO_DATE)


class Textarea(forms.Textarea):
    """A textarea that reads line breaks as ``\\n`` (browsers send ``\\r\\n``)."""

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        if isinstance(value, str):
            return value.replace("\r\n", "\n").replace("\r", "\n")
        return value
