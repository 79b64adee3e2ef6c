"""Postmortem pages: list, start, detail, editor (and amend), preview, and the workflow buttons.

Views fetch through ``visible_to`` (so an invisible postmortem is a 404), ask
``PostmortemAccess`` what the user may do (a write without the right is a 403), and
hand every write to ``services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access as rules
from incidents.models import Incident
from trackers.selectors import with_tracker_issue

from . import services
from .filters import PostmortemFilter
from .forms import SECTION_PROMPTS, PostmortemForm, ReviewForm, action_item_formset, hint_input
from .hints import postmortem_hints
from .markdown import render_markdown, validate_markdown_length
from .models import SECTIONS, Postmortem, PostmortemEvent
from .querysets import PostmortemAccess

PAGE_SIZE = 25
Status = Postmortem.Status


def _visible(request, pk: int) -> Postmortem:
    queryset = Postmortem.objects.visible_to(request.user).select_related(
        "incident__severity", "incident__cause_category", "facilitator"
    )
    return get_object_or_404(queryset, pk=pk)


def _people_names() -> list[str]:
    """Names the hints watch for as "<name> caused ...": every active user's username and first name."""
    rows = get_user_model().objects.filter(is_active=True).values_list("username", "first_name")
    return [name for row in rows for name in row if name]


@login_required
def postmortem_list(request):
    queryset = Postmortem.objects.visible_to(request.user).for_list().order_by("-created_at", "-id")
    filterset = PostmortemFilter(request.GET or None, queryset=queryset, request=request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "postmortems": page.object_list, "query": query.urlencode()}
    return render(request, "postmortems/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def postmortem_start(request, reference: str):
    incident = get_object_or_404(
        Incident.objects.visible_to(request.user).select_related("severity"), reference=reference
    )
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing:
        messages.info(request, "This incident already has a postmortem.")
        return redirect(existing)
    if not rules.may_start_postmortem(request.user, incident):
        raise PermissionDenied(rules.START_POSTMORTEM_REFUSED)
    if request.method == "POST":
        try:
            postmortem = services.postmortem_start(incident=incident, user=request.user)
        except services.WorkflowError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("postmortems:list")
        messages.success(request, "Postmortem started from the template. Each section shows a prompt to answer.")
        return redirect("postmortems:edit", pk=postmortem.pk)
    return render(request, "postmortems/start.html", {"incident": incident, "sections": SECTIONS})


def _detail_context(request, postmortem: Postmortem, access: PostmortemAccess, review_form=None) -> dict:
    teams = list(postmortem.teams.all())
    sections = [
        {
            "name": name,
            "title": title,
            "redacted": access.redacted(name),
            "text": "" if access.redacted(name) else getattr(postmortem, name),
        }
        for name, title in SECTIONS
    ]
    events = list(postmortem.events.exclude(kind=PostmortemEvent.Kind.EDITED).select_related("actor"))
    in_review = postmortem.status == Status.IN_REVIEW
    can_publish = in_review and rules.may_publish(request.user, postmortem)
    return {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "access": access,
        "sections": sections,
        "teams": teams,
        "action_items": with_tracker_issue(postmortem.action_items.select_related("owner", "team")).order_by("id"),
        "reviews": postmortem.reviews.select_related("reviewer"),
        "reviewers": postmortem.reviewers.all(),
        "authors": postmortem.authors.all(),
        "decisions": services.current_decisions(postmortem) if in_review else {},
        "events": events,
        "amendments": [event for event in events if event.kind == PostmortemEvent.Kind.AMENDED],
        "can_submit": access.can_edit and postmortem.status == Status.DRAFT,
        "can_review": access.can_review and in_review,
        "review_form": review_form or ReviewForm(),
        "can_publish": can_publish,
        "publish_problems": services.publish_problems(postmortem) if can_publish else [],
        "timeline_events": postmortem.incident.timeline_events.select_related("author"),
        "can_edit_timeline": access.can_edit and _timeline_editable(request.user, postmortem),
    }


def _timeline_editable(user, postmortem: Postmortem) -> bool:
    return rules.may_edit_timeline(user, postmortem.incident)


@login_required
def postmortem_detail(request, pk: int):
    postmortem = _visible(request, pk)
    access = PostmortemAccess(postmortem, request.user)
    return render(request, "postmortems/detail.html", _detail_context(request, postmortem, access))


def _conflict_rows(current: Postmortem, submitted: dict) -> list[dict]:
    """Per section (and impact number) that differs: theirs as saved, yours as submitted."""
    rows = [
        {"title": title, "theirs": getattr(current, name), "yours": submitted.get(name, "")}
        for name, title in SECTIONS
        if (getattr(current, name) or "").strip() != (submitted.get(name) or "").strip()
    ]
    for name, title in (("users_affected", "Users affected"), ("revenue_impact", "Revenue impact")):
        theirs, yours = getattr(current, name), submitted.get(name)
        if theirs != yours:
            rows.append({"title": title, "theirs": _text(theirs), "yours": _text(yours)})
    return rows


def _text(value) -> str:
    return "" if value is None else str(value)


def _editor(request, pk: int, *, amend: bool):
    postmortem = _visible(request, pk)
    if not PostmortemAccess(postmortem, request.user).can_edit:
        raise PermissionDenied(rules.EDIT_POSTMORTEM_REFUSED)
    if amend != (postmortem.status == Status.PUBLISHED):
        return redirect("postmortems:amend" if postmortem.status == Status.PUBLISHED else "postmortems:edit", pk=pk)
    if request.method != "POST":
        form = PostmortemForm(instance=postmortem, initial={"version": postmortem.version}, amend=amend)
        sections = {name: getattr(postmortem, name) for name, _ in SECTIONS}
        previews = {name: render_markdown(text) for name, text in sections.items() if text.strip()}
        items = list(postmortem.action_items.values("title", "owner", "due_date").order_by("id"))
        page = EditorPage(postmortem, amend, sections, items)
        return page.render(request, form, action_item_formset(postmortem), previews=previews)
    form = PostmortemForm(request.POST, instance=postmortem, amend=amend)
    formset = action_item_formset(postmortem, request.POST)
    valid = form.is_valid() & formset.is_valid()  # both, so every error shows at once
    page = EditorPage(postmortem, amend, *hint_input(request.POST))
    if "preview" in request.POST:
        previews = {name: render_markdown(request.POST.get(name, "")) for name, _ in SECTIONS}
        return page.render(request, form, formset, previews=previews)
    if not valid:
        return page.render(request, form, formset, status=400)
    return _editor_save(request, page, form, formset)


class EditorPage:
    """The editor's page for one postmortem, rendered with whatever form state a request ends in."""

    def __init__(self, postmortem: Postmortem, amend: bool, sections: dict, items: list) -> None:
        self.postmortem, self.amend, self.sections, self.items = postmortem, amend, sections, items

    def render(self, request, form, formset, *, previews=None, status: int = 200, **extra) -> TemplateResponse:
        postmortem, previews = self.postmortem, previews or {}
        context = {
            "postmortem": postmortem,
            "incident": postmortem.incident,
            "form": form,
            "formset": formset,
            "amend": self.amend,
            "section_fields": [
                {"field": form[name], "prompt": SECTION_PROMPTS[name], "preview": previews.get(name)}
                for name, _ in SECTIONS
            ],
            "hints": postmortem_hints(self.sections, self.items, _people_names()),
            "timeline_events": postmortem.incident.timeline_events.select_related("author"),
            "can_edit_timeline": _timeline_editable(request.user, postmortem),
            "previews": previews,
            "previewing": request.method == "POST" and "preview" in request.POST,
            **extra,
        }
        return TemplateResponse(request, "postmortems/edit.html", context, status=status)


def _editor_save(request, page: EditorPage, form, formset):
    """Save a valid editor form: back to the postmortem, or the page again with the conflict
    (409) or the services' refusal (400)."""
    postmortem, loaded_version = page.postmortem, page.postmortem.version
    try:
        services.postmortem_update(
            postmortem=postmortem,
            user=request.user,
            data=form.service_data(),
            expected_version=form.cleaned_data["version"],
            action_items=formset.service_items(),
            amendment_note=form.cleaned_data.get("amendment_note") or "",
        )
    except services.StaleVersion as stale:
        conflict_form, conflict = _conflict(request, form, stale.current, amend=page.amend)
        return page.render(request, conflict_form, formset, status=409, **conflict)
    except ValidationError as error:
        _attach_errors(form, error)
        return page.render(request, form, formset, status=400)
    if postmortem.version == loaded_version:
        messages.info(request, "Nothing changed, so nothing was saved.")
    else:
        messages.success(request, "Amendment saved." if page.amend else "Postmortem saved.")
    return redirect(postmortem)


def _conflict(request, form, saved: Postmortem, *, amend: bool) -> tuple[PostmortemForm, dict]:
    """Someone saved ``saved`` since the editor loaded: a form that keeps everything the user
    typed, to go on top of the saved version at the next save, and what to show of the clash."""
    conflict = {
        "conflict": _conflict_rows(saved, form.cleaned_data),
        "conflict_saved": saved,
        "conflict_by": saved.events.filter(kind__in=["edited", "amended"]).select_related("actor").last(),
    }
    data = request.POST.copy()
    data["version"] = str(saved.version)
    form = PostmortemForm(data, instance=saved, amend=amend)
    form.is_valid()
    return form, conflict


def _attach_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
@require_http_methods(["GET", "POST"])
def postmortem_edit(request, pk: int):
    return _editor(request, pk, amend=False)


@login_required
@require_http_methods(["GET", "POST"])
def postmortem_amend(request, pk: int):
    return _editor(request, pk, amend=True)


@login_required
@require_POST
def postmortem_preview(request):
    """Markdown in ``text`` → the sanitised HTML fragment, plus hints recomputed from the
    rest of the editor's fields when they are sent along."""
    text = request.POST.get("text", "")
    try:
        validate_markdown_length(text)
    except ValidationError as error:  # shown in place of the preview, as the save would say
        return render(request, "postmortems/_preview.html", {"error": error.messages[0]})
    sections, items = hint_input(request.POST)
    hints = postmortem_hints(sections, items, _people_names()) if sections else []
    html = render_markdown(text)
    return render(request, "postmortems/_preview.html", {"html": html, "hints": hints, "show_hints": bool(sections)})


def _workflow(request, pk: int, action, success: str):
    postmortem = _visible(request, pk)
    try:
        action(postmortem)
    except services.WorkflowError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect(postmortem)


@login_required
@require_POST
def postmortem_submit(request, pk: int):
    return _workflow(
        request,
        pk,
        lambda pm: services.postmortem_submit(postmortem=pm, user=request.user),
        "Submitted for review. The reviewers have been emailed.",
    )


@login_required
@require_POST
def postmortem_publish(request, pk: int):
    return _workflow(
        request, pk, lambda pm: services.postmortem_publish(postmortem=pm, user=request.user), "Published."
    )


@login_required
@require_POST
def postmortem_review(request, pk: int):
    postmortem = _visible(request, pk)
    access = PostmortemAccess(postmortem, request.user)
    if not access.can_review:
        raise PermissionDenied(rules.REVIEW_POSTMORTEM_REFUSED)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.postmortem_review(postmortem=postmortem, user=request.user, **form.cleaned_data)
        except services.WorkflowError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            approved = form.cleaned_data["decision"] == "approve"
            messages.success(request, "Approved." if approved else "Changes requested.")
        return redirect(postmortem)
    context = _detail_context(request, postmortem, access, review_form=form)
    return render(request, "postmortems/detail.html", context, status=400)
