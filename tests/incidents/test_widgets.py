"""Every form and filter of the app renders dates as the browser's date inputs take them, and
reads a textarea's line breaks as stored, so an edit form saved untouched changes nothing."""

import importlib
import inspect
import pkgutil
from datetime import date, datetime

import django_filters
import pytest
from django import forms
from django.utils import translation

APPS = ["incidents", "postmortems", "actions"]


def _modules():
    """The apps' modules, except migrations, the admin (its own widgets) and management commands."""
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name not in {"migrations", "admin", "management", "tests", "apps"}:
                yield importlib.import_module(f"{app}.{info.name}")


def _widgets():
    """(label, widget) for every field of every form and filter set defined in the apps."""
    for module in _modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            if issubclass(cls, forms.BaseForm):
                fields = cls.base_fields.items()
            elif issubclass(cls, django_filters.FilterSet):
                fields = ((key, flt.field) for key, flt in cls.base_filters.items())
            else:
                continue
            for field_name, field in fields:
                yield f"{module.__name__}.{name}.{field_name}", field.widget


WIDGETS = list(_widgets())


def test_the_walk_finds_the_forms_people_use():
    labels = {label for label, _ in WIDGETS}
    assert {
        "postmortems.forms.ActionItemForm.due_date",
        "actions.forms.ActionItemForm.due_date",
        "incidents.forms.IncidentForm.summary",
        "incidents.forms.TimelineEventForm.occurred_at",
        "incidents.filters.IncidentFilter.declared_after",
    } <= labels


def _input_type(widget) -> str | None:
    return widget.attrs.get("type", getattr(widget, "input_type", None))


DATE_WIDGETS = [(label, w) for label, w in WIDGETS if _input_type(w) in ("date", "datetime-local")]


def test_the_walk_finds_the_date_inputs():
    labels = {label for label, _ in DATE_WIDGETS}
    assert {"postmortems.forms.ActionItemForm.due_date", "incidents.metrics_views.MetricsFilterForm.start"} <= labels


@pytest.mark.parametrize("label, widget", DATE_WIDGETS)
def test_every_date_input_renders_iso_under_en_gb(label, widget):
    """A ``type=date`` input drops ``14/12/2026``; the page must render ``2026-12-14``.
    (Text inputs for dates, as in the API's filters, take the locale's format too.)"""
    with translation.override("en-gb"):
        if _input_type(widget) == "datetime-local":
            assert widget.format_value(datetime(2026, 12, 14, 9, 30)) == "2026-12-14T09:30", label
        else:
            assert widget.format_value(date(2026, 12, 14)) == "2026-12-14", label


@pytest.mark.parametrize("label, widget", [(label, w) for label, w in WIDGETS if isinstance(w, forms.Textarea)])
def test_every_textarea_reads_line_breaks_as_stored(label, widget):
    """Browsers post CRLF; the stored text has LF, so an untouched text is unchanged."""
    assert widget.value_from_datadict({"text": "one\r\ntwo\rthree"}, {}, "text") == "one\ntwo\nthree", label
