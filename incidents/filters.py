"""Filters for incident lists, shared by the HTML list page and the API."""

import django_filters
from django import forms
from django.db.models import Q

from .models import Incident, Service, Severity, Team


class IncidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)
    severity = django_filters.ModelChoiceFilter(
        queryset=Severity.objects.order_by("level"), to_field_name="name", empty_label="Any severity"
    )
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices, empty_label="Any status")
    service = django_filters.ModelChoiceFilter(
        field_name="services",
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Any service",
    )
    team = django_filters.ModelChoiceFilter(
        field_name="services__team",
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Any team",
    )
    declared_after = django_filters.DateFilter(
        field_name="declared_at",
        lookup_expr="date__gte",
        label="Declared from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    declared_before = django_filters.DateFilter(
        field_name="declared_at",
        lookup_expr="date__lte",
        label="Declared until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Incident
        fields = ["q", "severity", "status", "service", "team", "declared_after", "declared_before"]

    def search(self, queryset, name, value):
        """Reference or title contains the words typed."""
        return queryset.filter(Q(reference__icontains=value) | Q(title__icontains=value))

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)
        return form
