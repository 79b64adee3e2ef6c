"""Action-item pages: thin views over ``actions.selectors`` and ``actions.services``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import access
from incidents.models import Team
from trackers.selectors import with_tracker_issue

from . import selectors, services
from .filters import ActionItemFilter, NotificationFilter
from .forms import ActionItemForm, CommentForm, PreferenceForm, StatusForm

PAGE_SIZE = 50
OUTBOX_PAGE_SIZE = 20


def _page(request, queryset):
    return Paginator(with_tracker_issue(queryset), PAGE_SIZE).get_page(request.GET.get("page"))


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _add_errors(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@login_required
def my_items(request):
    page = _page(request, selectors.my_action_items(request.user))
    return render(request, "actions/mine.html", {"page": page, "status_choices": StatusForm().fields["status"].choices})


@login_required
def team_items(request, slug: str):
    team = get_object_or_404(Team.objects.select_related("lead"), slug=slug)
    page = _page(request, selectors.team_action_items(team, request.user))
    context = {"team": team, "page": page, "status_choices": StatusForm().fields["status"].choices}
    return render(request, "actions/team.html", context)


@login_required
def board(request):
    filterset = ActionItemFilter(request.GET or None, queryset=selectors.overdue_board(request.user))
    page = _page(request, filterset.qs)
    context = {"filter": filterset, "page": page, "status_choices": StatusForm().fields["status"].choices}
    return render(request, "actions/board.html", context)


@login_required
def detail(request, reference: str):
    item = selectors.action_item_detail(request.user, reference)
    form = ActionItemForm(instance=item) if item.can_edit else None
    if request.method == "POST":
        access.require(item.can_edit, access.CHANGE_ACTION_ITEM_REFUSED)
        form = ActionItemForm(request.POST, instance=selectors.action_item_detail(request.user, reference))
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                services.action_item_update(item=item, user=request.user, data=data, note=form.cleaned_data["note"])
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"{item.reference} updated.")
                return redirect(item)
    return _render_detail(request, item, form=form)


def _render_detail(request, item, *, form=None, comment_form=None):
    context = {
        "item": item,
        "form": form,
        "comment_form": comment_form or CommentForm(),
        "history": selectors.readable_history(item),
    }
    return render(request, "actions/detail.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def change_status(request, reference: str):
    """The inline form on list rows: works without JavaScript, returns to the list."""
    item = selectors.action_item_detail(request.user, reference)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{item.reference}: choose a status.")
        return redirect(_back(request, item.get_absolute_url()))
    try:
        services.action_item_set_status(item=item, user=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, f"{item.reference}: " + " ".join(error.messages))
    else:
        messages.success(request, f"{item.reference} is now {item.get_status_display().lower()}.")
    return redirect(_back(request, item.get_absolute_url()))


@login_required
@require_POST
def comment(request, reference: str):
    item = selectors.action_item_detail(request.user, reference)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.action_item_comment(item=item, user=request.user, text=form.cleaned_data["text"])
        messages.success(request, "Note added.")
        return redirect(item)
    return _render_detail(
        request, item, form=ActionItemForm(instance=item) if item.can_edit else None, comment_form=form
    )


@login_required
def preferences(request):
    preference = services.preferences_for(request.user)
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        services.preferences_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Preferences saved.")
        return redirect("actions:preferences")
    return render(request, "actions/preferences.html", {"form": form})


@login_required
def outbox(request):
    """Staff only: every message the ledger holds (pending, sent, failed), newest first, with
    the text and HTML exactly as they were (or will be) sent. In development, mail is here."""
    access.require(access.may_read_outbox(request.user), access.READ_OUTBOX_REFUSED)
    filterset = NotificationFilter(request.GET or None, queryset=selectors.outbox())
    page = Paginator(filterset.qs, OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "actions/outbox.html", {"filter": filterset, "page": page})
