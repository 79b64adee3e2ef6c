"""Forms to declare and edit incidents and their timeline events.

Times are typed into ``datetime-local`` inputs and read in the viewer's time zone
(activated by ``incidents.middleware.TimezoneMiddleware``).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from . import repeats
from .models import INCIDENT_EDITABLE_FIELDS, Incident, Service, Severity, TimelineEvent
from .services import incident_create, incident_update, severity_reason_problem, timeline_event_update
from .widgets import Textarea

DATETIME_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input, to the minute, in the viewer's time zone.

    The input cannot show seconds, so an unchanged value counts as unchanged even when
    the stored time has seconds; the form then keeps the stored time as it was.
    """

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT_FORMAT)

    def has_changed(self, initial, data) -> bool:
        try:
            value = self.to_python(data)
        except forms.ValidationError:
            return True
        if initial is None or value is None:
            return initial != value
        return timezone.localtime(initial).replace(second=0, microsecond=0) != value


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _user_choice(label: str) -> UserChoiceField:
    users = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    return UserChoiceField(queryset=users, required=False, label=label)


class BootstrapFormMixin:
    """Bootstrap classes on every widget, and ``is-invalid`` on the fields with errors."""

    def _style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                auto_id = self[name].auto_id
                described_by = f"{auto_id}_errors"
                if self.fields[name].help_text:
                    described_by = f"{auto_id}_helptext {described_by}"
                attrs["aria-describedby"] = described_by


class KeepSecondsMixin:
    """Keep stored times whose minute the user did not change (see ``LocalDateTimeField``)."""

    def _keep_unchanged_times(self, cleaned_data: dict) -> None:
        if not self.instance.pk:
            return
        for name, field in self.fields.items():
            if isinstance(field, LocalDateTimeField) and name in cleaned_data and name not in self.changed_data:
                cleaned_data[name] = self.initial.get(name)


class ChangeNeedsReasonMixin:
    """A model form whose ``watched`` field changes only with a reason, asked in the ``reason``
    field; ``problem(stored, new, reason)`` is the service's rule (None when all is well)."""

    watched: str
    reason: str

    @staticmethod
    def problem(stored, new, reason: str) -> str | None:
        raise NotImplementedError

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The value before the form changes the instance.
        self.stored_value = getattr(self.instance, self.watched) if self.instance.pk else None

    def clean(self) -> dict:
        cleaned_data = super().clean()
        if self.watched not in cleaned_data:  # read-only here, or its own value is wrong
            return cleaned_data
        new = cleaned_data.get(self.watched)
        if problem := self.problem(self.stored_value, new, cleaned_data.get(self.reason) or ""):
            self.add_error(self.reason, problem)
        return cleaned_data


def severity_problem(stored, new, reason: str) -> str | None:
    return severity_reason_problem(previous=stored, severity=new, reason=reason)


def reason_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=Textarea(attrs={"rows": 2}), help_text=help_text)


class IncidentForm(ChangeNeedsReasonMixin, KeepSecondsMixin, BootstrapFormMixin, forms.ModelForm):
    severity_reason = reason_field(
        "Why did the severity change?", "Required when you change the severity; kept in the severity history."
    )
    watched, reason, problem = "severity", "severity_reason", staticmethod(severity_problem)

    class Meta:
        model = Incident
        fields = [*INCIDENT_EDITABLE_FIELDS[:3], "severity_reason", *INCIDENT_EDITABLE_FIELDS[3:], "failure_classes"]
        field_classes = {
            name: LocalDateTimeField
            for name in ["started_at", "detected_at", "acknowledged_at", "declared_at", "mitigated_at", "resolved_at"]
        }
        widgets = {
            "summary": Textarea(attrs={"rows": 4}),
            "services": forms.CheckboxSelectMultiple,
            "failure_classes": forms.CheckboxSelectMultiple,
        }
        error_messages = {"severity": {"required": "Choose a severity."}}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            del self.fields["severity_reason"]
        self.fields["severity"].queryset = Severity.objects.order_by("level")
        # A new incident starts with no severity chosen, so nobody declares a SEV1 by default.
        self.fields["severity"].empty_label = None if self.instance.pk else "Choose a severity"
        self.fields["services"].queryset = Service.objects.select_related("team").order_by("name")
        self.fields["services"].label_from_instance = lambda service: f"{service.name} ({service.team.name})"
        if self.instance.pk and not self.instance.failure_classes.exists():
            suggested = repeats.suggested_class_names(self.instance)
            if suggested:
                self.fields["failure_classes"].help_text = f"Suggested from the text: {', '.join(suggested)}."
        self.fields["tags"].help_text = "Comma-separated."
        self.fields["tags"].required = False
        self.fields["commander"] = _user_choice("Incident commander")
        self.fields["operations_lead"] = _user_choice("Operations lead")
        self.fields["communications_lead"] = _user_choice("Communications lead")
        self.fields["scribe"] = _user_choice("Scribe")
        self._style_widgets()

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data.get("tags") or []
        too_long = [tag for tag in tags if len(tag) > 100]
        if too_long:
            raise forms.ValidationError("Each tag can have at most 100 characters.")
        return tags

    def clean(self) -> dict:
        cleaned_data = super().clean()
        self._keep_unchanged_times(cleaned_data)
        return cleaned_data

    def save(self, *, user) -> Incident:
        """Declare the incident (by ``user``) or save its changes, through the incident services."""
        fields = {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}
        if self.instance.pk:
            return incident_update(self.instance, by=user, **fields)
        self.instance = incident_create(by=user, **fields)
        return self.instance


class TimelineEventForm(KeepSecondsMixin, BootstrapFormMixin, forms.ModelForm):
    """A timeline event; a new one starts at now (in the viewer's zone). With ``incident`` and
    ``offer_mitigated`` (for those who may edit the incident), adding a Mitigation event can also
    set the incident's mitigated time, ticked when the incident has none yet."""

    set_mitigated = forms.BooleanField(
        label="Also set the incident's mitigated time to this",
        required=False,
        help_text="For Mitigation events.",
    )

    class Meta:
        model = TimelineEvent
        fields = ["occurred_at", "kind", "text"]
        field_classes = {"occurred_at": LocalDateTimeField}
        labels = {"occurred_at": "When", "text": "What happened"}
        widgets = {"text": Textarea(attrs={"rows": 2})}

    def __init__(self, *args, incident: Incident | None = None, offer_mitigated: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["set_mitigated"]
        else:
            self.fields["occurred_at"].initial = timezone.now().replace(second=0, microsecond=0)
            if offer_mitigated and incident is not None:
                self.fields["set_mitigated"].initial = incident.mitigated_at is None
            else:
                del self.fields["set_mitigated"]
        self._style_widgets()

    def clean(self) -> dict:
        cleaned_data = super().clean()
        self._keep_unchanged_times(cleaned_data)
        return cleaned_data

    def save(self, *, user) -> TimelineEvent:
        """Save an edited event's changes through ``timeline_event_update`` (new events go
        through ``timeline_event_add``, which the view calls with its extra choice)."""
        fields = {name: self.cleaned_data[name] for name in self._meta.fields}
        return timeline_event_update(self.instance, by=user, **fields)
