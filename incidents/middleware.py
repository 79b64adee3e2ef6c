"""Request-wide concerns.

- ``TimezoneMiddleware``: show and read times in the viewer's time zone, named by the ``tz``
  cookie. A small script in ``base.html`` sets the cookie from the browser's own zone
  (``Intl.DateTimeFormat().resolvedOptions().timeZone``); without a valid cookie, times are
  in the server's ``TIME_ZONE``.
- ``MalformedRequestMiddleware``: a 400 for requests no view can read (NUL, non-UTF-8).
- ``DatabaseTimeoutMiddleware``: a 503 for a statement the database cancelled as too slow.
"""

from __future__ import annotations

import logging
import zoneinfo
from functools import cache
from urllib.parse import unquote, unquote_to_bytes

from django.db import OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.html import escape

logger = logging.getLogger(__name__)

COOKIE_NAME = "tz"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_from_cookie(value: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone the cookie names, or None unless it is a known IANA zone."""
    name = unquote(value or "")
    if name not in _known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


class TimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from_cookie(request.COOKIES.get(COOKIE_NAME))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # Threads serve many users: never let one request's zone leak into the next.
            timezone.deactivate()


def _query_bytes(request) -> bytes:
    """The query string as sent: WSGI servers hand it over as Latin-1 text."""
    raw = request.META.get("QUERY_STRING", "")
    try:
        return raw.encode("iso-8859-1")
    except UnicodeEncodeError:
        return raw.encode()


def _form_text(request) -> bytes:
    """The text a form body carries, as sent: an urlencoded body decoded from %XX, or a
    multipart body's parts that are not files (the site takes no uploads, so its bodies are
    small; a body past DATA_UPLOAD_MAX_MEMORY_SIZE is a 400 of Django's own)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return b""
    if request.content_type == "application/x-www-form-urlencoded":
        return unquote_to_bytes(request.body.replace(b"+", b" "))
    if request.content_type == "multipart/form-data":
        boundary = b"--" + request.content_params.get("boundary", "").encode()
        parts = (part.partition(b"\r\n\r\n") for part in request.body.split(boundary)[1:-1])
        return b"\n".join(content for head, _, content in parts if b"filename=" not in head.lower())
    return b""


def _malformed(request) -> str | None:
    """What makes ``request`` unreadable, said for people; None when nothing does."""
    if "\x00" in request.path_info:
        return "The address holds a NUL character (%00), which no page or record has."
    if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
        return "A cookie holds a NUL character (the session's would reach the database): clear this site's cookies."
    query = unquote_to_bytes(_query_bytes(request).replace(b"+", b" "))
    if b"\x00" in query:
        return "The query holds a NUL character (%00), which no filter or search can match."
    for what, data in (("query", query), ("form", _form_text(request))):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return f"The {what} holds bytes that are not UTF-8 text; encode it as UTF-8 and send it again."
    return None


class MalformedRequestMiddleware:
    """Refuse, with a 400 that says why, what no page or endpoint can read: a NUL character
    in the path, query or a cookie (PostgreSQL cannot hold one in a string: a 500 otherwise),
    and bytes that are not UTF-8 in the query or a form body (Django would read them as
    U+FFFD, and a form would store that without a word). NUL characters in form fields are
    left to the forms, which show an error beside the field."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = _malformed(request)
        if problem is None:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": problem, "code": "bad_request"}, status=400)
        body = f"<!doctype html><title>Bad request</title><h1>Bad request (400)</h1><p>{escape(problem)}</p>"
        return HttpResponseBadRequest(body)


def _statement_cancelled(exception: Exception) -> bool:
    """Whether PostgreSQL cancelled the statement (``statement_timeout``: SQLSTATE 57014)."""
    return isinstance(exception, OperationalError) and getattr(exception.__cause__, "sqlstate", None) == "57014"


class DatabaseTimeoutMiddleware:
    """A request whose query ran past the database's ``statement_timeout`` gets a 503 that says
    so (JSON under /api/), not a server error page and its traceback in the logs."""

    message = "This took too long to answer and was stopped. Narrow the filters or try again in a moment."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not _statement_cancelled(exception):
            return None
        logger.warning("Statement timeout on %s %s", request.method, request.path)
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"detail": self.message, "code": "timeout"}, status=503)
        else:
            page = f"<!doctype html><title>Too slow</title><h1>Too slow (503)</h1><p>{escape(self.message)}</p>"
            response = HttpResponse(page, status=503)
        response["Retry-After"] = "30"
        return response
