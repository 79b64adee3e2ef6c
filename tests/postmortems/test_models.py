"""Postmortem due dates follow the severity, in business days."""

from datetime import UTC, date, datetime

import pytest

from postmortems.models import add_business_days
from tests.factories import IncidentFactory, PostmortemFactory, severity

pytestmark = pytest.mark.django_db


def test_business_days_skip_the_weekend():
    friday = date(2026, 3, 6)
    assert add_business_days(friday, 1) == date(2026, 3, 9)
    assert add_business_days(friday, 5) == date(2026, 3, 13)


def test_a_sev1_postmortem_is_due_five_business_days_after_resolution():
    resolved = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # a Thursday
    incident = IncidentFactory(severity=severity("SEV1"), resolved_at=resolved)
    postmortem = PostmortemFactory(incident=incident)
    assert postmortem.due_date == date(2026, 3, 12)


def test_a_sev3_postmortem_has_no_due_date():
    postmortem = PostmortemFactory(incident=IncidentFactory(severity=severity("SEV3")))
    assert postmortem.due_date is None
