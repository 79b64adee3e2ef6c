"""Errors from ``/api/``: always JSON, one shape, documented in the schema.

    {"detail": "title: This field is required.", "code": "invalid", "errors": {"title": ["This field is required."]}}

``detail`` is a sentence for people; ``code`` is stable for scripts; ``errors`` (validation
errors only) maps each field, or ``non_field_errors``, to its messages. The DRF exception
handler covers the API views; ``handler404``/``handler500`` (wired in ``config/urls.py``)
cover everything else under ``/api/`` and leave the HTML pages their HTML error pages.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

API_PREFIX = "/api/"


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="A stable code, e.g. invalid, not_found, permission_denied, conflict.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors: each field (or non_field_errors) and its messages.",
    )


class ConflictSerializer(ErrorSerializer):
    current_version = serializers.IntegerField(help_text="The version now saved; fetch it and apply your edit again.")


def _flatten(errors, path: str = ""):
    """(path, message) pairs from DRF's nested errors: ``alerts[1].startsAt``."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key in ("non_field_errors", "detail"):
                yield from _flatten(value, path)
            elif str(key).isdigit():
                yield from _flatten(value, f"{path}[{key}]")
            else:
                yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            nested = isinstance(value, dict | list)
            yield from _flatten(value, f"{path}[{index}]" if nested and isinstance(value, dict) else path)
    else:
        yield path, str(errors)


def _summary(errors) -> str:
    """One readable line from DRF's nested validation errors."""
    return " ".join(f"{path}: {message}" if path else message for path, message in _flatten(errors))


def _as_drf(exc: Exception) -> Exception:
    """Service-layer exceptions become their HTTP meaning."""
    from postmortems.services import StaleVersion

    if isinstance(exc, StaleVersion):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(serializers.as_serializer_error(exc))
    return exc


def api_exception_handler(exc: Exception, context: dict):
    from postmortems.services import StaleVersion

    exc = _as_drf(exc)
    if isinstance(exc, StaleVersion):
        body = {
            "detail": (
                f"Someone saved this postmortem after the version you sent; it is now at version "
                f"{exc.current.version}. Fetch it, apply your change again and send that version."
            ),
            "code": "conflict",
            "current_version": exc.current.version,
        }
        return Response(body, status=409)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: handler500 answers
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"detail": _summary(errors) or "Invalid input.", "code": "invalid", "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {"detail": str(exc.detail), "code": codes if isinstance(codes, str) else "error"}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def handler400(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to do this.", "code": "permission_denied"}, status=403
        )
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # a 404 whatever the method; nothing is written
def api_not_found(request, *args, **kwargs):
    """The last route under /api/: a JSON 404 even with DEBUG on (whose 404 page is HTML), and a
    hint when only the trailing slash is missing (APPEND_SLASH cannot redirect a POST)."""
    from django.urls import Resolver404, resolve

    detail = "Not found."
    if not request.path_info.endswith("/"):
        try:
            resolve(request.path_info + "/")
        except Resolver404:
            pass
        else:
            detail = f"Not found. Did you mean {request.path}/ (with the trailing slash)?"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)


def handler500(request):
    if _is_api(request):
        body = {"detail": "Something went wrong on our side; it has been logged.", "code": "server_error"}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)


ERROR_RESPONSES = {
    "400": "Invalid input or query parameters; `errors` names each field's problem.",
    "403": "Not signed in, or not allowed to do this.",
    "404": "Not found, or not visible to you.",
    "429": "Too many requests from your token, or (signed out) your address: wait `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses every operation can give."""

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # An optional URL is "" when unset, which is no "uri": say "a URL or empty" instead.
        optional = isinstance(field, serializers.URLField) and (field.allow_blank or field.read_only)
        if optional and schema.pop("format", None) == "uri":
            schema["pattern"] = "^$|^[a-zA-Z][a-zA-Z0-9+.-]*://"

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERROR_RESPONSES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = description
        responses["429"]["headers"] = RETRY_AFTER
        return responses
