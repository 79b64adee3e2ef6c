from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from accounts import access
from postmortems.models import Postmortem

from .filters import IncidentFilter
from .forms import IncidentForm, TimelineEventForm
from .models import FailureClass, Incident, SeverityChange, TimelineEvent
from .selectors import home_for
from .services import (
    incident_mark_mitigated,
    incident_mark_resolved,
    incident_update,
    timeline_event_add,
    timeline_event_delete,
)

PAGE_SIZE = 25


@login_required
def home(request):
    return render(request, "home.html", home_for(request.user))


def _visible_incident(request, reference: str, queryset=None) -> Incident:
    """The incident, or 404 when it does not exist or the user may not see it."""
    queryset = queryset if queryset is not None else Incident.objects.all()
    return get_object_or_404(queryset.visible_to(request.user), reference=reference)


def _editable_incident(request, reference: str) -> Incident:
    incident = _visible_incident(request, reference)
    access.require(access.may_edit_incident(request.user, incident), access.EDIT_INCIDENT_REFUSED)
    return incident


def _timeline_incident(request, reference: str) -> Incident:
    incident = _visible_incident(request, reference)
    access.require(access.may_edit_timeline(request.user, incident), access.EDIT_TIMELINE_REFUSED)
    return incident


def _next_url(request, incident: Incident) -> str:
    """Where a timeline form returns to: the page it came from, if it is ours, else the incident."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        url = reverse("incidents:detail", args=[incident.reference])
    return url if "#" in url else f"{url}#timeline"


def _form_data(request):
    return request.POST if request.method == "POST" else None


@login_required
def incident_list(request):
    incidents = Incident.objects.visible_to(request.user).for_list()
    filterset = IncidentFilter(request.GET, queryset=incidents)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/list.html", {"filter": filterset, "page": page})


@login_required
def incident_detail(request, reference: str):
    queryset = Incident.objects.select_related(
        "severity",
        "cause_category",
        "commander",
        "operations_lead",
        "communications_lead",
        "scribe",
        "created_by",
        "postmortem",
    ).prefetch_related(
        "services__team",
        "tags",
        Prefetch(
            "severity_changes",
            queryset=SeverityChange.objects.select_related("from_severity", "to_severity", "changed_by"),
        ),
        Prefetch("timeline_events", queryset=TimelineEvent.objects.select_related("author")),
    )
    incident = _visible_incident(request, reference, queryset)
    postmortem = getattr(incident, "postmortem", None)
    if postmortem and not Postmortem.objects.visible_to(request.user).filter(pk=postmortem.pk).exists():
        postmortem = None
    can_edit = access.may_edit_incident(request.user, incident)
    context = {
        "incident": incident,
        "postmortem": postmortem,
        # Starting the postmortem is an edit of the incident (accounts.access.may_start_postmortem).
        "can_start_postmortem": can_edit
        and incident.status == Incident.Status.RESOLVED
        and not hasattr(incident, "postmortem"),
        "timeline_events": incident.timeline_events.all(),
        "can_edit": can_edit,
        "can_edit_timeline": access.may_edit_timeline(request.user, incident),
    }
    return render(request, "incidents/detail.html", context)


def _save(form, user):
    """Save a valid form through its service: the saved object, or None with the service's
    refusal (a rule that changed since the form was checked) shown on the form."""
    try:
        return form.save(user=user)
    except ValidationError as error:
        form.add_error(None, error)
        return None


@login_required
def incident_declare(request):
    form = IncidentForm(_form_data(request), initial={"commander": request.user})
    if request.method == "POST" and form.is_valid():
        incident = _save(form, request.user)
        if incident:
            messages.success(request, f"Declared {incident.reference}.")
            return redirect("incidents:detail", incident.reference)
    return render(request, "incidents/form.html", {"form": form})


@login_required
def incident_edit(request, reference: str):
    incident = _editable_incident(request, reference)
    form = IncidentForm(_form_data(request), instance=incident)
    if request.method == "POST" and form.is_valid() and _save(form, request.user):
        messages.success(request, f"Saved {incident.reference}.")
        return redirect("incidents:detail", incident.reference)
    return render(request, "incidents/form.html", {"form": form, "incident": incident})


MARKS = {
    "mitigated": (incident_mark_mitigated, "Marked {ref} mitigated at {time}."),
    "resolved": (incident_mark_resolved, "Marked {ref} resolved at {time}."),
}


@login_required
@require_POST
def incident_mark(request, reference: str, milestone: str):
    """The "Mitigated now" and "Resolved now" buttons: the time is the server's now."""
    if milestone not in MARKS:
        raise Http404("No such milestone.")
    incident = _editable_incident(request, reference)
    mark, message = MARKS[milestone]
    try:
        incident = mark(incident=incident, user=request.user)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        when = getattr(incident, f"{milestone}_at")
        messages.success(request, message.format(ref=incident.reference, time=date_format(localtime(when), "H:i T")))
    return redirect("incidents:detail", incident.reference)


@login_required
@require_POST
def incident_confirm_class(request, reference: str):
    """The incident page's "Confirm" button beside a failure class suggested from the text: the class
    joins the incident's own (through ``incident_update``, so the same rules and history apply)."""
    incident = _editable_incident(request, reference)
    failure_class = FailureClass.objects.filter(slug=request.POST.get("failure_class", "")).first()
    if failure_class is None:
        messages.error(request, "That failure class does not exist (any more): nothing was changed.")
        return redirect("incidents:detail", incident.reference)
    try:
        incident_update(incident, by=request.user, failure_classes=[*incident.failure_classes.all(), failure_class])
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, f"Confirmed the failure class {failure_class.name} for {incident.reference}.")
    return redirect("incidents:detail", incident.reference)


@login_required
def timeline_add(request, reference: str):
    incident = _timeline_incident(request, reference)
    form = TimelineEventForm(
        _form_data(request), incident=incident, offer_mitigated=access.may_edit_incident(request.user, incident)
    )
    if request.method == "POST" and form.is_valid():
        try:
            timeline_event_add(
                incident=incident,
                user=request.user,
                event=form.instance,
                set_mitigated=form.cleaned_data.get("set_mitigated", False),
            )
        except ValidationError as error:
            # The event is not kept either: the user fixes the time (or unticks the box) and sends again.
            form.instance.pk = None
            form.add_error("set_mitigated", error.messages)
        else:
            messages.success(request, "Timeline event added.")
            return redirect(_next_url(request, incident))
    context = {"form": form, "incident": incident, "next": _next_url(request, incident)}
    return render(request, "incidents/timeline_event_form.html", context)


@login_required
def timeline_edit(request, reference: str, pk: int):
    incident = _timeline_incident(request, reference)
    event = get_object_or_404(incident.timeline_events, pk=pk)
    form = TimelineEventForm(_form_data(request), instance=event)
    if request.method == "POST" and form.is_valid() and _save(form, request.user):
        messages.success(request, "Timeline event saved.")
        return redirect(_next_url(request, incident))
    context = {"form": form, "incident": incident, "event": event, "next": _next_url(request, incident)}
    return render(request, "incidents/timeline_event_form.html", context)


@login_required
@require_POST
def timeline_delete(request, reference: str, pk: int):
    incident = _timeline_incident(request, reference)
    timeline_event_delete(get_object_or_404(incident.timeline_events, pk=pk), by=request.user)
    messages.success(request, "Timeline event removed.")
    return redirect(_next_url(request, incident))
