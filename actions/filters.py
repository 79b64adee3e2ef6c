"""One FilterSet for action items, shared by the HTML lists (the overdue board) and the API."""

from datetime import timedelta

import django_filters
from django.utils import timezone

from incidents.filters import (
    IdFilter,
    ImportedFromFilterMixin,
    LabelledOrderingFilter,
    StableOrderingFilter,
    StyledFilterSet,
    TagsFilter,
    filter_by_tags,
    search_in,
    service_choice,
    severity_choice,
    team_choice,
)
from incidents.models import CauseCategory

from .models import ActionItem, Notification
from .querysets import OPEN_STATUSES


class ActionItemFilter(StyledFilterSet):
    team = team_choice()
    service = service_choice("postmortem__incident__services")
    severity = severity_choice(field_name="postmortem__incident__severity", label="Incident severity")
    kind = django_filters.ChoiceFilter(choices=ActionItem.Kind.choices, empty_label="Any kind")
    status = django_filters.ChoiceFilter(choices=ActionItem.Status.choices, empty_label="Any status")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)", max_length=150)
    overdue_days = django_filters.NumberFilter(
        method="filter_overdue_days", label="Overdue at least (days)", min_value=1, max_value=36500
    )
    ordering = LabelledOrderingFilter(
        fields=(
            ("due_date", "due_date"),
            ("priority", "priority"),
            ("id", "reference"),
            ("status", "status"),
            ("owner__username", "owner"),
            ("team__name", "team"),
        ),
        labels={
            "due_date": ("Due date, earliest first", "Due date, latest first"),
            "priority": ("Priority, highest first", "Priority, lowest first"),
            "id": ("Reference, oldest first", "Reference, newest first"),
            "status": ("Status, A to Z", "Status, Z to A"),
            "owner__username": ("Owner, A to Z", "Owner, Z to A"),
            "team__name": ("Team, A to Z", "Team, Z to A"),
        },
        empty_label="Sort by due date",
        label="Sort",
    )

    class Meta:
        model = ActionItem
        fields = ["team", "service", "severity", "kind", "status", "owner", "overdue_days"]

    def filter_overdue_days(self, queryset, name, value):
        """Open items at least ``value`` days past their due date."""
        return queryset.overdue(timezone.localdate() - timedelta(days=int(value) - 1))


class ActionItemAPIFilter(ImportedFromFilterMixin, ActionItemFilter):
    """The board's filters plus those scripts need (kept off the board's short form)."""

    q = django_filters.CharFilter(method="search", label="Reference or title contains", max_length=200)
    priority = django_filters.ChoiceFilter(choices=ActionItem.Priority.choices)
    cause_category = django_filters.ModelChoiceFilter(
        field_name="postmortem__incident__cause_category",
        queryset=CauseCategory.objects.all(),
        to_field_name="slug",
        label="Incident cause category (slug)",
    )
    tags = TagsFilter(method="by_tags", label="Incident tags (comma-separated, all must match)")
    postmortem = IdFilter(field_name="postmortem_id", label="Postmortem (id)")
    incident = IdFilter(field_name="postmortem__incident_id", label="Incident (id)")
    open = django_filters.BooleanFilter(method="by_open", label="Open (open, in progress or blocked)")
    overdue = django_filters.BooleanFilter(method="by_overdue", label="Overdue (open and past its due date)")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label="Due on or after")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label="Due on or before")
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    completed_after = django_filters.DateFilter(field_name="completed_at", lookup_expr="date__gte")
    completed_before = django_filters.DateFilter(field_name="completed_at", lookup_expr="date__lte")
    ordering = StableOrderingFilter(fields=list(ActionItemFilter.base_filters["ordering"].param_map.items()))

    class Meta(ActionItemFilter.Meta):
        fields = [
            *ActionItemFilter.Meta.fields,
            "q",
            "priority",
            "cause_category",
            "tags",
            "postmortem",
            "incident",
            "open",
            "overdue",
            "due_after",
            "due_before",
            "created_after",
            "created_before",
            "completed_after",
            "completed_before",
            *ImportedFromFilterMixin.FIELDS,
        ]

    search = search_in("reference", "title")

    def by_tags(self, queryset, name, value):
        return filter_by_tags(queryset, "postmortem__incident", value)

    def by_open(self, queryset, name, value):
        return queryset.open() if value else queryset.exclude(status__in=OPEN_STATUSES)

    def by_overdue(self, queryset, name, value):
        if value:
            return queryset.overdue()
        return queryset.exclude(pk__in=ActionItem.objects.overdue().values("pk"))


class NotificationFilter(StyledFilterSet):
    """The API's notifications and the staff's outbox page (which offers q, kind and state)."""

    q = django_filters.CharFilter(field_name="subject", lookup_expr="icontains", label="Subject contains")
    kind = django_filters.ChoiceFilter(choices=Notification.Kind.choices, empty_label="Any kind")
    state = django_filters.ChoiceFilter(choices=Notification.State.choices, empty_label="Any status", label="Status")
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    ordering = StableOrderingFilter(fields=("created_at", "sent_at", "id"))

    class Meta:
        model = Notification
        fields = ["q", "kind", "state", "created_after", "created_before"]
