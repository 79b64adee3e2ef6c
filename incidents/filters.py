"""Filters for incident lists, shared by the HTML list page and the API."""

from collections.abc import Iterable

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django_filters.constants import EMPTY_VALUES
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from taggit.models import TaggedItem

from .models import CauseCategory, FailureClass, Incident, Service, Severity, Team, TimelineEvent
from .timestamps import validate_query_date
from .widgets import IsoDateInput

# The most values one filter takes (tags, several severities, sort keys). Each value adds
# to the query the database plans; past a few dozen, planning alone takes seconds.
MAX_FILTER_VALUES = 20


class BoundedFilterForm(forms.Form):
    """The form of every FilterSet: at most ``MAX_FILTER_VALUES`` values per filter, and
    dates within ``incidents.timestamps``' bounds. Too many values is an error on that
    filter (a 400 in the API), found before any value is looked up."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.DateField | forms.DateTimeField):
                field.validators.append(validate_query_date)

    def _crowded_fields(self) -> list[str]:
        crowded = []
        for name, field in self.fields.items():
            value = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if isinstance(value, list | tuple) and len([v for v in value if v not in EMPTY_VALUES]) > MAX_FILTER_VALUES:
                crowded.append(name)
        return crowded

    def full_clean(self) -> None:
        crowded = self._crowded_fields() if self.is_bound else []
        if not crowded:
            return super().full_clean()
        data = self.data
        self.data = data.copy()
        for name in crowded:
            self.data.pop(self.add_prefix(name), None)
        try:
            super().full_clean()
        finally:
            self.data = data  # the page shows what was sent, beside the error
        for name in crowded:
            self.add_error(name, f"Choose at most {MAX_FILTER_VALUES} values.")


class BoundedFilterSet(django_filters.FilterSet):
    """The base of every FilterSet: its form is a ``BoundedFilterForm``."""

    def get_form_class(self):
        form_class = super().get_form_class()
        if issubclass(form_class, BoundedFilterForm):
            return form_class
        return type(form_class.__name__, (BoundedFilterForm, form_class), {})


class TagsFilter(django_filters.filters.BaseCSVFilter, django_filters.CharFilter):
    """Comma-separated tags (at most ``MAX_FILTER_VALUES``); the method gets the list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", "Comma-separated; all must match.")
        super().__init__(*args, **kwargs)


class LabelledOrderingFilter(django_filters.OrderingFilter):
    """A sort select whose choices read as people say them: ``labels`` maps a field to its
    (ascending, descending) labels, e.g. ("Due date, soonest first", "Due date, latest first")."""

    def __init__(self, *args, labels: dict[str, tuple[str, str]] | None = None, **kwargs):
        self.labels = labels or {}
        super().__init__(*args, **kwargs)

    def build_choices(self, fields, labels):
        choices = []
        for field, param in fields.items():
            label = labels.get(field, param.replace("_", " ").capitalize())
            ascending, descending = self.labels.get(field) or (f"{label}, ascending", f"{label}, descending")
            choices += [(param, ascending), (f"-{param}", descending)]
        return choices


def search_in(*fields: str):
    """A FilterSet method: rows where any of ``fields`` contains the words typed."""

    def search(self, queryset, name, value):
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)

    return search


def team_choice(**options) -> django_filters.ModelChoiceFilter:
    """A team chosen by its slug, "Any team" when none (the lists' team filter)."""
    return django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"), to_field_name="slug", empty_label="Any team", **options
    )


def service_choice(field_name: str, **options) -> django_filters.ModelChoiceFilter:
    """A service chosen by its slug, "Any service" when none."""
    return django_filters.ModelChoiceFilter(
        field_name=field_name,
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Any service",
        label="Service",
        **options,
    )


def severity_choice(**options) -> django_filters.ModelChoiceFilter:
    """A severity chosen by its name, "Any severity" when none."""
    return django_filters.ModelChoiceFilter(
        queryset=Severity.objects.order_by("level"), to_field_name="name", empty_label="Any severity", **options
    )


class StyledFilterSet(BoundedFilterSet):
    """A FilterSet whose form controls carry Bootstrap's small classes (every list page's filters)."""

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
                if isinstance(widget, forms.SelectMultiple):
                    widget.attrs.setdefault("size", "4")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")
        return form


class IncidentFilter(StyledFilterSet):
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)
    severity = severity_choice()
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices, empty_label="Any status")
    service = service_choice("services")
    team = team_choice(method="by_team", label="Team")
    declared_after = django_filters.DateFilter(
        field_name="declared_at",
        lookup_expr="date__gte",
        label="Declared from",
        widget=IsoDateInput(),
    )
    declared_before = django_filters.DateFilter(
        field_name="declared_at",
        lookup_expr="date__lte",
        label="Declared until",
        widget=IsoDateInput(),
    )

    class Meta:
        model = Incident
        fields = ["q", "severity", "status", "service", "team", "declared_after", "declared_before"]

    @extend_schema_field(OpenApiTypes.STR)
    def by_team(self, queryset, name, team):
        """A team's incidents: one of the incident's services is the team's (each incident once)."""
        return queryset.filter(pk__in=Incident.objects.filter(services__team=team).values("pk"))

    search = search_in("reference", "title")


class StableOrderingFilter(LabelledOrderingFilter):
    """``ordering``, with the primary key as the last key so that pages never overlap; when no
    usable key is given, the list keeps its default order."""

    def filter(self, qs, value):
        keys = [self.get_ordering_value(param) for param in value or [] if param not in EMPTY_VALUES]
        return qs.order_by(*keys, "pk") if keys else qs


class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number within the database's range (a larger one is a 400, not a crash)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class ImportedFromFilterMixin(django_filters.FilterSet):
    """``external_id`` and ``source_url`` (exact): find what an import or a sync created."""

    FIELDS = ["external_id", "source_url"]

    external_id = django_filters.CharFilter(max_length=200, label="Id in the archive it was imported from (exact)")
    source_url = django_filters.CharFilter(max_length=500, label="Source URL (exact)")


def _date_range(field: str, what: str) -> tuple[django_filters.DateFilter, django_filters.DateFilter]:
    """``<what>_after`` / ``<what>_before`` filters on ``field``'s date (both ends included)."""
    return (
        django_filters.DateFilter(field_name=field, lookup_expr="date__gte", label=f"{what.capitalize()} on or after"),
        django_filters.DateFilter(field_name=field, lookup_expr="date__lte", label=f"{what.capitalize()} on or before"),
    )


def incidents_tagged_with_all(tags: Iterable[str]):
    """The ids of incidents carrying every one of ``tags`` (case-insensitive), as one grouped
    query (one subquery per tag made PostgreSQL's planner take seconds past 50 tags)."""
    names = {tag.strip().lower() for tag in tags if tag.strip()}
    return (
        TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Incident))
        .alias(lower_name=Lower("tag__name"))
        .filter(lower_name__in=names)
        .values("object_id")
        .annotate(matched=Count("lower_name", distinct=True))
        .filter(matched=len(names))
        .values("object_id")
    )


def filter_by_tags(queryset, tags_field: str, value: Iterable[str] | str):
    """Tags (a list, or comma-separated); every one must match (case-insensitive)."""
    tags = value.split(",") if isinstance(value, str) else value
    if not any(tag.strip() for tag in tags):
        return queryset
    return queryset.filter(**{f"{tags_field}__in": incidents_tagged_with_all(tags)})


class IncidentAPIFilter(ImportedFromFilterMixin, IncidentFilter):
    """The list page's filters plus those scripts need (kept off the page's short form)."""

    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"), to_field_name="slug", method="by_team", label="Team (slug)"
    )
    cause_category = django_filters.ModelChoiceFilter(
        queryset=CauseCategory.objects.all(), to_field_name="slug", label="Cause category (slug)"
    )
    commander = django_filters.CharFilter(field_name="commander__username", label="Commander (username)")
    tags = TagsFilter(method="by_tags", label="Tags (comma-separated, all must match)")
    open = django_filters.BooleanFilter(method="by_open", label="Open (not resolved)")
    created_after, created_before = _date_range("created_at", "created")
    resolved_after, resolved_before = _date_range("resolved_at", "resolved")
    ordering = StableOrderingFilter(
        fields=(
            ("declared_at", "declared_at"),
            ("created_at", "created_at"),
            ("resolved_at", "resolved_at"),
            ("detected_at", "detected_at"),
            ("severity__level", "severity"),
            ("status", "status"),
            ("reference", "reference"),
        )
    )

    class Meta(IncidentFilter.Meta):
        fields = [
            *IncidentFilter.Meta.fields,
            "cause_category",
            "commander",
            "tags",
            "open",
            "created_after",
            "created_before",
            "resolved_after",
            "resolved_before",
            *ImportedFromFilterMixin.FIELDS,
        ]

    def by_tags(self, queryset, name, value):
        return filter_by_tags(queryset, "pk", value)

    def by_open(self, queryset, name, value):
        return queryset.exclude(status=Incident.Status.RESOLVED) if value else queryset.filter(status="resolved")


class TeamFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Name contains", max_length=200)
    member = django_filters.CharFilter(field_name="members__username", label="Has member (username)")
    ordering = StableOrderingFilter(fields=("name", "slug", "id"))

    class Meta:
        model = Team
        fields = ["q", "member"]

    search = search_in("name", "slug")


class ServiceFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Name contains", max_length=200)
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="slug", label="Team (slug)")
    ordering = StableOrderingFilter(fields=("name", "slug", "id"))

    class Meta:
        model = Service
        fields = ["q", "team"]

    search = search_in("name", "slug", "description")


class SeverityFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or label contains", max_length=200)
    requires_postmortem = django_filters.BooleanFilter()
    ordering = StableOrderingFilter(fields=("level", "name"))

    class Meta:
        model = Severity
        fields = ["q", "requires_postmortem"]

    search = search_in("name", "label")


class CauseCategoryFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Name contains", max_length=200)
    ordering = StableOrderingFilter(fields=("name", "slug"))

    class Meta:
        model = CauseCategory
        fields = ["q"]

    search = search_in("name", "slug", "description")


class FailureClassFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Name contains", max_length=200)
    ordering = StableOrderingFilter(fields=("name", "slug"))

    class Meta:
        model = FailureClass
        fields = ["q"]

    search = search_in("name", "slug", "description")


class TimelineEventFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Text contains", max_length=200)
    incident = IdFilter(field_name="incident_id", label="Incident (id)")
    kind = django_filters.ChoiceFilter(choices=TimelineEvent.Kind.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")
    ordering = StableOrderingFilter(fields=("occurred_at", "id"))

    class Meta:
        model = TimelineEvent
        fields = ["q", "incident", "kind", "occurred_after", "occurred_before"]

    search = search_in("text")


class UserFilter(BoundedFilterSet):
    q = django_filters.CharFilter(method="search", label="Username or name contains", max_length=150)
    team = django_filters.ModelChoiceFilter(
        field_name="teams", queryset=Team.objects.all(), to_field_name="slug", label="Team (slug)"
    )
    ordering = StableOrderingFilter(fields=("username", "id"))

    class Meta:
        model = get_user_model()
        fields = ["q", "team"]

    search = search_in("username", "first_name", "last_name")
