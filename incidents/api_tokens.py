"""Each user lists, creates and revokes their own API tokens: on the ``/api/tokens/`` page and
at ``/api/v1/tokens/``.

A new token's key is shown once, in the response to the POST that created it (never
stored in the session or a message cookie), with ``Cache-Control: no-store``. Through the API
a token is created from a signed-in session only: a leaked token must not be able to mint
replacements that outlive its own revocation.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api_errors import ErrorSerializer

from .api_auth import api_token_create, api_token_revoke
from .models import ApiToken
from .serializers import ApiTokenCreatedSerializer, ApiTokenSerializer


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


SESSION_ONLY = (
    "Create tokens while signed in (a browser session), not with another token: a leaked token "
    "could otherwise mint replacements that outlive its revocation."
)


@extend_schema_view(
    create=extend_schema(
        request=ApiTokenSerializer,
        responses={
            201: ApiTokenCreatedSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Sent with a token instead of a session."),
        },
        description="Create a token; `key` is in this response only. Needs a signed-in session.",
    ),
    revoke=extend_schema(request=None, responses={200: ApiTokenSerializer}),
)
class ApiTokenViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your own API tokens (never anyone else's). Keys are not stored: only ``prefix`` shows
    which one is which. A revoked token is refused at once and stays listed."""

    serializer_class = ApiTokenSerializer
    filterset_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        if isinstance(request.auth, ApiToken):
            raise exceptions.PermissionDenied(SESSION_ONLY)
        body = ApiTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = api_token_create(user=request.user, name=body.validated_data["name"])
        response = Response(ApiTokenCreatedSerializer(token, context={"key": key}).data, status=201)
        response["Cache-Control"] = "no-store"
        return response

    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke one of your tokens (the one sending this request too); revoking twice is harmless."""
        token = self.get_object()
        api_token_revoke(user=request.user, token_id=token.pk)
        token.refresh_from_db()
        return Response(ApiTokenSerializer(token).data)
