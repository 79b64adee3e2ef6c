"""Forms for the postmortem editor, its action items, and reviews.

Forms only validate input; saving goes through ``services.postmortem_update``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.forms import BaseModelFormSet, modelformset_factory

from actions.models import ActionItem
from actions.services import due_date_move_problem
from incidents.forms import ChangeNeedsReasonMixin
from incidents.models import Team
from incidents.widgets import IsoDateInput, Textarea

from .models import SECTIONS, Postmortem, Review

# The template's prompts, shown as each section's help text and placeholder. They are
# never stored, so an untouched section stays empty for the hints and the publish check.
SECTION_PROMPTS = {
    "summary": "Two or three sentences for someone who was not there: what happened, who noticed, how it ended.",
    "impact": "Who was affected, how, and for how long? Numbers help: requests failed, orders lost, tickets raised.",
    "root_cause": "Ask why until you reach a cause in the system, not a person. What made this failure possible?",
    "contributing_factors": "What made it worse, slower to notice or harder to fix? Alerts, runbooks, timing, load.",
    "what_went_well": "What helped: an alert that fired, a rollback that worked, someone who knew where to look.",
    "what_could_be_improved": "Where did the response lose time or get confused? Describe conditions, not people.",
    "where_we_got_lucky": "What could have made this much worse, and did not, by chance rather than by design?",
    "lessons": "What do we now know about our systems that we did not before?",
}


def _user_label(user) -> str:
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else user.username


class PreloadedChoiceField(forms.ModelChoiceField):
    """A model choice that finds the chosen row among ``rows`` (loaded once for a whole
    formset) instead of asking the database once per form."""

    rows: dict[str, Any] | None = None

    def to_python(self, value):
        if self.rows is None or value in self.empty_values:
            return super().to_python(value)
        try:
            return self.rows[str(value)]
        except KeyError:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            ) from None


class UserChoiceField(PreloadedChoiceField):
    def label_from_instance(self, obj) -> str:
        return _user_label(obj)


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return _user_label(obj)


def active_users():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class PostmortemForm(forms.ModelForm):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    internal_sections = forms.MultipleChoiceField(
        choices=SECTIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Readers outside the postmortem's teams see a redaction notice instead of these sections.",
    )
    authors = UsersChoiceField(queryset=active_users(), required=False, widget=forms.SelectMultiple(attrs={"size": 6}))
    reviewers = UsersChoiceField(
        queryset=active_users(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Submitting for review needs at least one reviewer.",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who may read a restricted postmortem and its internal sections.",
    )
    amendment_note = forms.CharField(
        required=False,
        widget=Textarea(attrs={"rows": 2}),
        help_text="What changed and why (needed when anything changes). Shown on the published postmortem.",
    )

    class Meta:
        model = Postmortem
        fields = [
            *[name for name, _ in SECTIONS],
            "users_affected",
            "revenue_impact",
            "visibility",
            "teams",
            "internal_sections",
            "authors",
            "reviewers",
        ]
        widgets = {name: Textarea(attrs={"rows": 5, "class": "markdown-input"}) for name, _ in SECTIONS}

    def __init__(self, *args, amend: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.amend = amend
        if not amend:
            del self.fields["amendment_note"]
        for name, _title in SECTIONS:
            self.fields[name].help_text = SECTION_PROMPTS[name]
            self.fields[name].widget.attrs["placeholder"] = SECTION_PROMPTS[name]
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.HiddenInput):
                continue
            widget.attrs.setdefault("class", "")
            css = "form-select" if isinstance(widget, forms.Select | forms.SelectMultiple) else "form-control"
            widget.attrs["class"] = f"{widget.attrs['class']} {css}".strip()
            if field.help_text:
                widget.attrs["aria-describedby"] = f"id_{name}_helptext"

    def service_data(self) -> dict:
        """The cleaned values in the shape ``postmortem_update`` takes."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ActionItemForm(ChangeNeedsReasonMixin, forms.ModelForm):
    owner = UserChoiceField(queryset=active_users(), required=False)
    team = PreloadedChoiceField(queryset=Team.objects.all(), required=False)
    due_date_reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Why the due date moves",
        help_text="Needed when you move or clear the due date; kept in the item's history.",
    )
    watched, reason, problem = "due_date", "due_date_reason", staticmethod(due_date_move_problem)

    class Meta:
        model = ActionItem
        fields = ["title", "kind", "owner", "team", "due_date", "priority"]
        widgets = {"due_date": IsoDateInput()}

    def __init__(self, *args, preloaded: dict[str, list] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The owners and teams are read once per formset, not once per row.
        for name, rows in (preloaded or {}).items():
            field = self.fields[name]
            field.choices = [("", field.empty_label), *((row.pk, field.label_from_instance(row)) for row in rows)]
            field.rows = {str(row.pk): row for row in rows}
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            if not isinstance(field.widget, forms.CheckboxInput | forms.HiddenInput):
                field.widget.attrs["class"] = css
        self.fields["due_date_reason"].widget.attrs["aria-describedby"] = f"{self['due_date_reason'].auto_id}_helptext"

    def _get_validation_exclusions(self):
        # The owner and team were found among the rows just read; the model need not look again.
        return super()._get_validation_exclusions() | {"owner", "team"}

    @property
    def asks_due_date_reason(self) -> bool:
        """Whether the row shows the reason box: the item was saved with a due date (read from
        ``initial``: validating the form writes the posted values onto the instance)."""
        return bool(self.instance.pk and self.initial.get("due_date"))


class BaseActionItemFormSet(BaseModelFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        # A row's id is found among this postmortem's items (read once), not looked up per row.
        found = form.fields.get("id")
        if found is not None:
            field = PreloadedChoiceField(
                queryset=found.queryset, required=False, widget=found.widget, initial=found.initial
            )
            field.rows = {str(item.pk): item for item in self.get_queryset()}
            form.fields["id"] = field

    def service_items(self) -> list[dict]:
        """Changed rows as dicts for ``postmortem_update``: id, delete, the fields, and the
        reason a due date moves (``note``). Untouched rows are left out."""
        items = []
        for form in self.forms:
            if form in self.deleted_forms:
                if form.instance.pk:
                    items.append({"id": form.instance.pk, "delete": True})
                continue
            if not set(form.changed_data) - {"due_date_reason"}:
                continue
            data = form.cleaned_data
            item_id = data["id"].pk if data.get("id") else None
            fields = {name: data.get(name) for name in form.Meta.fields}
            items.append({"id": item_id, "delete": False, **fields, "note": data.get("due_date_reason") or ""})
        return items


ActionItemFormSet = modelformset_factory(
    ActionItem, form=ActionItemForm, formset=BaseActionItemFormSet, extra=1, can_delete=True
)


def action_item_formset(postmortem: Postmortem, data=None) -> BaseActionItemFormSet:
    preloaded = {"owner": list(active_users()), "team": list(Team.objects.order_by("name"))}
    return ActionItemFormSet(
        data,
        queryset=postmortem.action_items.order_by("id"),
        prefix="actions",
        form_kwargs={"preloaded": preloaded},
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=Review.Decision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        required=False,
        widget=Textarea(attrs={"rows": 3, "class": "form-control"}),
        help_text="Required when requesting changes: say what should change.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == Review.Decision.REQUEST_CHANGES and not (cleaned.get("comment") or "").strip():
            self.add_error("comment", "Say what should change when requesting changes.")
        return cleaned


def hint_input(data) -> tuple[dict[str, str], list[dict]]:
    """Sections and action items from raw (possibly invalid) editor data, for the hints."""
    sections = {name: data.get(name, "") for name, _ in SECTIONS if name in data}
    try:
        total = min(int(data.get("actions-TOTAL_FORMS", 0)), 1000)
    except (TypeError, ValueError):
        total = 0
    items = []
    for index in range(total):
        prefix = f"actions-{index}-"
        title = data.get(f"{prefix}title", "").strip()
        if data.get(f"{prefix}DELETE") or not (title or data.get(f"{prefix}id")):
            continue
        items.append({"title": title, "owner": data.get(f"{prefix}owner"), "due_date": data.get(f"{prefix}due_date")})
    return sections, items
