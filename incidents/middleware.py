"""Show and read times in the viewer's time zone, named by the ``tz`` cookie.

A small script in ``base.html`` sets the cookie from the browser's own zone
(``Intl.DateTimeFormat().resolvedOptions().timeZone``); without a valid cookie,
times are in the server's ``TIME_ZONE``.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from urllib.parse import unquote

from django.utils import timezone

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
