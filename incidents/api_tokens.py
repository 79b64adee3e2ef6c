"""``/api/tokens/``: each user lists, creates and revokes their own API tokens.

A new token's key is shown once, in the response to the POST that created it (never
stored in the session or a message cookie), with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .api_auth import api_token_create, api_token_revoke
from .models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What the token is for, e.g. “Jira sync”.",
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )


@never_cache
@login_required
def token_list(request):
    form = ApiTokenForm(request.POST or None)
    new_key, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            _, new_key = api_token_create(user=request.user, name=form.cleaned_data["name"])
            form = ApiTokenForm()
        else:
            status = 400
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"form": form, "tokens": tokens, "new_key": new_key}
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke(request, pk: int):
    if api_token_revoke(user=request.user, token_id=pk):
        messages.success(request, "Token revoked: scripts using it are now refused.")
    else:
        messages.error(request, "That token is not yours or is already revoked.")
    return redirect("api:tokens")
