"""Admin writes the API offers beside the admin site: reference data (teams, services, cause
categories, failure classes), deleting incidents and postmortems, and setting the historical
times the server otherwise sets itself (a postmortem's publication, an item's completion).

Each is checked against ``accounts.access.is_admin``, runs in one transaction, and leaves an
entry in the admin's history (``LogEntry``: who, when, what), the same record the admin site
writes, so /admin/ shows what the API changed. Deleting a postmortem drops its search document
through ``postmortems.search_index``'s delete receiver.

(These live here, not in ``incidents/services.py``, only because that file has another owner
this week; they belong there.)
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction

from accounts.access import is_admin

ADMIN_ONLY = "Only admins do this."
DELETE_REFUSED = "Only admins delete incidents and postmortems."
HISTORICAL_REFUSED = "Only admins set this (to record history); otherwise the server sets it."


def _log(*, user, obj: models.Model, flag: int, message: str) -> LogEntry:
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action_flag=flag,
        change_message=message,
    )


def _require_admin(user, refusal: str) -> None:
    if not is_admin(user):
        raise PermissionDenied(refusal)


@transaction.atomic
def reference_data_save(*, instance: models.Model, user, data: dict, refusal: str = ADMIN_ONLY) -> models.Model:
    """Create (``instance._state.adding``) or change a team, service, cause category or failure
    class as an admin: apply ``data`` (many-to-many values as lists), validate the row as the
    admin form does, save, and record it in the admin history."""
    _require_admin(user, refusal)
    adding = instance._state.adding
    many = {name: data.pop(name) for name in list(data) if instance._meta.get_field(name).many_to_many}
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    for name, values in many.items():
        getattr(instance, name).set(values)
    changed = sorted([*data, *many])
    message = "Added through the API." if adding else f"Changed {', '.join(changed) or 'nothing'} through the API."
    _log(user=user, obj=instance, flag=ADDITION if adding else CHANGE, message=message)
    return instance


@transaction.atomic
def audited_delete(*, obj: models.Model, user, refusal: str = ADMIN_ONLY) -> None:
    """Delete ``obj`` (and what cascades from it) as an admin, recording who deleted what in
    the admin history first, while the row still names itself."""
    _require_admin(user, refusal)
    _log(user=user, obj=obj, flag=DELETION, message="Deleted through the API.")
    obj.delete()


@transaction.atomic
def historical_times_set(*, obj: models.Model, user, times: dict) -> models.Model:
    """Set times the server normally sets itself (``published_at``, ``submitted_at`` and
    ``due_date`` of a postmortem, ``completed_at`` of a done item) as an admin recording history.
    Validated by the fields' own rules and the table's constraints (a published postmortem keeps
    a publication time); recorded in the admin history."""
    if not times:
        return obj
    _require_admin(user, HISTORICAL_REFUSED)
    for name, value in times.items():
        setattr(obj, name, value)
    others = [field.name for field in obj._meta.fields if field.name not in times]
    obj.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            obj.save(update_fields=list(times))
    except IntegrityError as exc:
        raise ValidationError({name: f"This {name} does not fit the row's state." for name in times}) from exc
    _log(user=user, obj=obj, flag=CHANGE, message=f"Set {', '.join(sorted(times))} through the API.")
    return obj
