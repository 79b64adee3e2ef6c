"""Forms for action items: the inline status change, the full update, comments, preferences.

They only collect input; the rules are in ``actions.services``.
"""

from django import forms

from incidents.widgets import IsoDateInput, Textarea

from .models import ActionItem, NotificationPreference, available_time_zones

INPUT = {"class": "form-control"}


class StatusForm(forms.Form):
    """The small form on each row: a new status and, for done or won't do, the note or reason."""

    status = forms.ChoiceField(
        choices=ActionItem.Status.choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": "How it was done / why not"}
        ),
    )


class ActionItemForm(forms.ModelForm):
    """The owner's update: status, resolution, links and due date (with the reason it moves)."""

    note = forms.CharField(
        required=False,
        label="Reason for the change",
        help_text="Needed when the due date moves; kept in the history.",
        widget=Textarea(attrs={**INPUT, "rows": 2}),
    )

    class Meta:
        model = ActionItem
        fields = ["status", "due_date", "resolution_note", "evidence_url", "external_url"]
        widgets = {
            "status": forms.Select(attrs={"class": "form-select"}),
            "due_date": IsoDateInput(attrs=INPUT),
            "resolution_note": Textarea(attrs={**INPUT, "rows": 3}),
            "evidence_url": forms.URLInput(attrs=INPUT),
            "external_url": forms.URLInput(attrs=INPUT),
        }


class CommentForm(forms.Form):
    text = forms.CharField(label="Add a note", max_length=10000, widget=Textarea(attrs={**INPUT, "rows": 3}))


class PreferenceForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=(), widget=forms.Select(attrs={"class": "form-select"}))

    class Meta:
        model = NotificationPreference
        fields = ["time_zone", "digest_opt_out", "email_assigned", "email_review", "email_published"]
        widgets = {
            name: forms.CheckboxInput(attrs={"class": "form-check-input"})
            for name in ["digest_opt_out", "email_assigned", "email_review", "email_published"]
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in sorted(available_time_zones())]
        self.fields["time_zone"].help_text = "Reminders and your Monday digest arrive in the morning here."
