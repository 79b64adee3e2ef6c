"""Confirm or dismiss a suggested repeat link (the buttons of ``incidents/_repeat_links.html``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Incident, RepeatLink
from .services import repeat_link_decide


@require_POST
@login_required
def decide(request, pk: int, state: str):
    link = get_object_or_404(RepeatLink.objects.select_related("incident", "earlier"), pk=pk)
    # Neither incident's existence is revealed to someone who may not see both.
    if Incident.objects.visible_to(request.user).filter(pk__in=[link.incident_id, link.earlier_id]).count() < 2:
        raise Http404
    repeat_link_decide(link=link, user=request.user, state=state)
    verb = "Confirmed" if state == RepeatLink.State.CONFIRMED else "Dismissed"
    messages.success(request, f"{verb}: {link.incident.reference} repeats {link.earlier.reference}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = link.incident.get_absolute_url()
    return redirect(target)
