"""The one rule for the times and dates people and machines send us.

A time that something happened lies between 1970 and a day from now (a day of slack for
clocks and time zones); a planned date (a due date) lies between 1970 and ten years from
today; a date that bounds a search lies between 1970 and ten years from today. Times
outside these bounds are typing slips or hostile, and some (year 10,000 once converted to
UTC) cannot even be read back from the database.

The model fields carry these validators, so model forms, the admin and model serializers
check them; the webhooks and the filters call the same functions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)
MAX_PLAN_AHEAD = timedelta(days=3653)  # ten years


def _as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a time with no UTC equivalent (past 9999 or before year 1) is
    clamped to the far end it lies beyond."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if value.year > 1 else datetime.min.replace(tzinfo=UTC)


def validate_timestamp(value: datetime | None) -> None:
    """A time that something happened: from 1970 to at most a day from now."""
    if value is None:
        return
    latest = timezone.now() + MAX_AHEAD
    utc = _as_utc(value)
    if utc < EARLIEST:
        raise ValidationError("Enter a time in 1970 or later.", code="too_early")
    if utc > latest:
        shown = timezone.localtime(latest).strftime("%Y-%m-%d %H:%M")
        raise ValidationError(f"Enter a time no later than a day from now ({shown}).", code="too_late")


def _validate_date_within(value: date | None, ahead: timedelta, what: str) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        value = _as_utc(value).date()  # a day either way does not matter at these bounds
    latest = timezone.localdate() + ahead
    if value < EARLIEST.date():
        raise ValidationError(f"Enter {what} in 1970 or later.", code="too_early")
    if value > latest:
        raise ValidationError(f"Enter {what} no later than {latest:%Y-%m-%d}.", code="too_late")


def validate_planned_date(value: date | None) -> None:
    """A date planned ahead (a due date): from 1970 to ten years from today."""
    _validate_date_within(value, MAX_PLAN_AHEAD, "a date")


def validate_query_date(value: date | datetime | None) -> None:
    """A date or time bounding a search or a report: from 1970 to ten years from today."""
    _validate_date_within(value, MAX_PLAN_AHEAD, "a date")
