"""Filters for postmortem lists, shared by the HTML list page and the API."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from actions.models import ActionItem
from incidents.filters import (
    IdFilter,
    ImportedFromFilterMixin,
    StableOrderingFilter,
    StyledFilterSet,
    TagsFilter,
    filter_by_tags,
    search_in,
    severity_choice,
    team_choice,
)
from incidents.models import CauseCategory, Incident, RepeatLink, Service, Severity
from incidents.widgets import IsoDateInput

from .models import Postmortem


class PostmortemFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(choices=Postmortem.Status.choices, empty_label="Any status")
    severity = severity_choice(field_name="incident__severity")
    team = team_choice(method="by_team", label="Team")
    mine = django_filters.BooleanFilter(
        method="by_participant", label="Only mine", widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )

    class Meta:
        model = Postmortem
        fields = ["status", "severity", "team", "mine"]

    def by_team(self, queryset, name, team):
        """The postmortem names the team, or the team owns one of the incident's services."""
        ids = Postmortem.objects.filter(Q(teams=team) | Q(incident__services__team=team)).values("pk")
        return queryset.filter(pk__in=ids)

    def by_participant(self, queryset, name, value):
        """Postmortems the signed-in user facilitates, writes or reviews."""
        user = getattr(self.request, "user", None)
        if not value or not user:
            return queryset
        ids = Postmortem.objects.filter(Q(facilitator=user) | Q(authors=user) | Q(reviewers=user)).values("pk")
        return queryset.filter(pk__in=ids)


class PostmortemAPIFilter(ImportedFromFilterMixin, PostmortemFilter):
    """The list page's filters plus those scripts need. ``q`` searches the incident's reference
    and title only: searching section text would reveal redacted sections."""

    q = django_filters.CharFilter(method="search", label="Incident reference or title contains", max_length=200)
    incident = IdFilter(field_name="incident_id", label="Incident (id)")
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", method="by_service", label="Service (slug)"
    )
    cause_category = django_filters.ModelChoiceFilter(
        field_name="incident__cause_category",
        queryset=CauseCategory.objects.all(),
        to_field_name="slug",
        label="Cause category (slug)",
    )
    facilitator = django_filters.CharFilter(field_name="facilitator__username", label="Facilitator (username)")
    visibility = django_filters.ChoiceFilter(choices=Postmortem.Visibility.choices)
    tags = TagsFilter(method="by_tags", label="Incident tags (comma-separated, all must match)")
    overdue = django_filters.BooleanFilter(method="by_overdue", label="Overdue (unpublished past its due date)")
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    published_after = django_filters.DateFilter(field_name="published_at", lookup_expr="date__gte")
    published_before = django_filters.DateFilter(field_name="published_at", lookup_expr="date__lte")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    ordering = StableOrderingFilter(fields=("created_at", "updated_at", "due_date", "published_at", "id"))

    class Meta(PostmortemFilter.Meta):
        fields = [
            *PostmortemFilter.Meta.fields,
            "q",
            "incident",
            "service",
            "cause_category",
            "facilitator",
            "visibility",
            "tags",
            "overdue",
            *ImportedFromFilterMixin.FIELDS,
        ]

    search = search_in("incident__reference", "incident__title")

    @extend_schema_field(OpenApiTypes.STR)
    def by_team(self, queryset, name, team):
        return super().by_team(queryset, name, team)

    @extend_schema_field(OpenApiTypes.STR)
    def by_service(self, queryset, name, service):
        return queryset.filter(incident__services=service)

    def by_tags(self, queryset, name, value):
        return filter_by_tags(queryset, "incident", value)

    def by_overdue(self, queryset, name, value):
        overdue = Q(due_date__lt=timezone.localdate()) & ~Q(status=Postmortem.Status.PUBLISHED)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class PostmortemArchiveFilter(StyledFilterSet):
    """The archive's filters; they combine with each other and with the text search (``q``
    and ``sort`` share the GET form but are read by ``postmortems.search.archive_page``,
    which parses any text without failing and ranks)."""

    severity = django_filters.ModelMultipleChoiceFilter(
        field_name="incident__severity__name",
        queryset=Severity.objects.order_by("level"),
        to_field_name="name",
        distinct=False,
        label="Severity",
    )
    service = django_filters.ModelMultipleChoiceFilter(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        method="by_service",
        distinct=False,
        label="Services",
    )
    team = team_choice(method="by_team", label="Team")
    cause = django_filters.ModelMultipleChoiceFilter(
        field_name="incident__cause_category__slug",
        queryset=CauseCategory.objects.order_by("name"),
        to_field_name="slug",
        label="Cause category",
        distinct=False,
    )
    date_from = django_filters.DateFilter(
        field_name="incident__declared_at", lookup_expr="date__gte", label="Incident from",
        widget=IsoDateInput(),
    )  # fmt: skip
    date_to = django_filters.DateFilter(
        field_name="incident__declared_at", lookup_expr="date__lte", label="Incident to",
        widget=IsoDateInput(),
    )  # fmt: skip
    tags = TagsFilter(method="by_tags", label="Tags")
    open_actions = django_filters.BooleanFilter(method="by_open_actions", label="Has open action items")
    repeat = django_filters.BooleanFilter(method="by_repeat", label="Repeat incident")

    class Meta:
        model = Postmortem
        fields: list[str] = []

    def by_service(self, queryset, name, services):
        if not services:
            return queryset
        return queryset.filter(incident__in=Incident.objects.filter(services__in=services).values("pk"))

    def by_team(self, queryset, name, team):
        return PostmortemFilter.by_team(self, queryset, name, team)

    def by_tags(self, queryset, name, value):
        return filter_by_tags(queryset, "incident", value)

    def by_open_actions(self, queryset, name, value):
        has_open = Exists(ActionItem.objects.open().filter(postmortem=OuterRef("pk")))
        return queryset.filter(has_open if value else ~has_open)

    def by_repeat(self, queryset, name, value):
        """A repeat incident has a repeat link (suggested or confirmed; dismissed ones are not repeats)."""
        links = RepeatLink.objects.filter(incident=OuterRef("incident")).exclude(state=RepeatLink.State.DISMISSED)
        return queryset.filter(Exists(links) if value else ~Exists(links))
