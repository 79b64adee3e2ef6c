"""Who may read, edit and review postmortems: the one place these rules live.

Pages, the API, search, feeds, exports and emails all go through these methods,
so a rule changed here changes everywhere.

- Admins (active staff or superusers) read and edit everything.
- The facilitator and authors edit; reviewers review. All three read it in full.
- Published, organisation-wide postmortems are read by everyone signed in.
- Published, restricted postmortems are read only by members of their teams and the
  incident's own people (commander, roles, declarer, its services' teams): restricting
  never takes an incident, or its published postmortem, away from those who handled it.
- Drafts and postmortems in review are read only by the people working on them.
- Sections marked internal are redacted for readers outside the postmortem's teams.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from accounts.access import is_active_user, is_admin, may_edit_postmortem, may_review_postmortem

# A reader who may read more postmortems than this beyond the organisation-wide published ones
# keeps ``visibility_q``'s subqueries: a bound on the list each statement of a search carries
# (the usual reader of the 100,000-postmortem benchmark has 1,786).
LISTED_LIMIT = 10_000


class PostmortemQuerySet(models.QuerySet):
    # Each rule below is a union of indexed lookups (facilitator, the authors, reviewers and
    # team-member link tables) rather than one OR across joins: the OR form makes the
    # database scan every postmortem for each query, the union form reads a few index rows.

    def _ids(self, **lookup):
        return self.model.objects.filter(**lookup).order_by().values("pk")

    def _link_ids(self, field: str, **lookup):
        through = getattr(self.model, field).through
        return through.objects.filter(**lookup).order_by().values("postmortem_id")

    def _participant_ids(self, user):
        """Postmortems where ``user`` is the facilitator, an author or a reviewer."""
        return self._ids(facilitator=user).union(
            self._link_ids("authors", user=user), self._link_ids("reviewers", user=user), all=True
        )

    def _team_member_ids(self, user):
        return self._link_ids("teams", team__members=user)

    def _responder_ids(self, user):
        """Postmortems of the incidents that are ``user``'s own (``IncidentQuerySet.responder_ids``)."""
        from incidents.models import Incident

        return self.model.objects.filter(incident__in=Incident.objects.responder_ids(user)).order_by().values("pk")

    def _insider_ids(self, user):
        """Postmortems whose internal sections ``user`` may read: their teams and participants."""
        return self._team_member_ids(user).union(self._participant_ids(user), all=True)

    def _beyond_open_ids(self, user) -> list[int] | None:
        """The postmortems ``user`` may read that are not published organisation-wide (the
        restricted ones they may read, and the unpublished ones they work on), in one query;
        ``None`` when there are more than ``LISTED_LIMIT``. On PostgreSQL each part is read
        from a partial index (migration 0011), the restricted-readers lookups hashed once."""
        from incidents.models import Incident

        rows = self.model.objects.order_by()
        participant_ids = self._participant_ids(user)
        restricted = rows.filter(status="published", visibility="restricted").filter(
            Q(pk__in=self._team_member_ids(user))
            | Q(incident__in=Incident.objects.responder_ids(user))
            | Q(pk__in=participant_ids)
        )
        unpublished = rows.exclude(status="published").filter(pk__in=participant_ids)
        both = restricted.values_list("pk", flat=True).union(unpublished.values_list("pk", flat=True), all=True)
        ids = list(both[: LISTED_LIMIT + 1])
        return None if len(ids) > LISTED_LIMIT else ids

    def visibility_q(self, user, *, pk: str = "pk", listed: bool = False) -> Q | None:
        """The condition for rows ``user`` may read (``None``: every row), on a model with the
        postmortem's ``status`` and ``visibility`` and its id in ``pk``: the postmortem itself,
        or the archive's search document, which carries copies of both. Only for active users.

        ``listed``: the rows beyond the organisation-wide published ones come as a list of ids,
        read now in one query, for a caller that runs several statements with the condition
        (a search): each then reads the list rather than running the subqueries again (a
        restricted-readers subquery costs 20-30 ms at 100,000 postmortems). Past
        ``LISTED_LIMIT`` ids the subqueries stay."""
        if is_admin(user):
            return None
        published_open = Q(status="published", visibility="organisation")
        if listed and (ids := self._beyond_open_ids(user)) is not None:
            from .search.matching import AnyOf

            return published_open | Q(AnyOf(F(pk), ids))
        restricted_readers = self._team_member_ids(user).union(self._responder_ids(user), all=True)
        published_to_team = Q(status="published", visibility="restricted", **{f"{pk}__in": restricted_readers})
        return published_open | published_to_team | Q(**{f"{pk}__in": self._participant_ids(user)})

    def visible_to(self, user) -> PostmortemQuerySet:
        """Postmortems ``user`` may read (at least with internal sections redacted)."""
        if not is_active_user(user):
            return self.none()
        condition = self.visibility_q(user)
        return self if condition is None else self.filter(condition)

    def editable_by(self, user) -> PostmortemQuerySet:
        """Postmortems ``user`` may edit: facilitator, authors and admins."""
        if not is_active_user(user):
            return self.none()
        if is_admin(user):
            return self
        editors = self._ids(facilitator=user).union(self._link_ids("authors", user=user), all=True)
        return self.filter(pk__in=editors)

    def reviewable_by(self, user) -> PostmortemQuerySet:
        if not is_active_user(user):
            return self.none()
        return self.filter(pk__in=self._link_ids("reviewers", user=user))

    def full_access_q(self, user, *, pk: str = "pk") -> Q | bool:
        """The condition for rows whose internal sections ``user`` may read, with the
        postmortem's id in ``pk`` (as ``visibility_q``); ``True`` or ``False`` when the
        answer is the same for every row."""
        if is_admin(user):
            return True
        if not is_active_user(user):
            return False
        return Q(**{f"{pk}__in": self._insider_ids(user)})

    def with_full_access(self, user) -> PostmortemQuerySet:
        """Annotate ``full_access``: whether ``user`` may read the internal sections."""
        condition = self.full_access_q(user)
        if isinstance(condition, bool):
            return self.annotate(full_access=models.Value(condition))
        return self.annotate(full_access=models.ExpressionWrapper(condition, output_field=models.BooleanField()))

    def for_list(self) -> PostmortemQuerySet:
        return self.select_related("incident__severity", "facilitator")


class PostmortemAccess:
    """What one user may do with one postmortem, asked once and reused by a page."""

    def __init__(self, postmortem, user):
        self.postmortem = postmortem
        self.user = user
        model = type(postmortem)
        row = model.objects.filter(pk=postmortem.pk)
        self.can_view = row.visible_to(user).exists()
        self.can_edit = self.can_view and may_edit_postmortem(user, postmortem)
        self.can_review = self.can_view and may_review_postmortem(user, postmortem)
        self.full_access = self.can_view and row.with_full_access(user).values_list("full_access", flat=True)[0]

    @classmethod
    def from_annotated(cls, postmortem, user) -> PostmortemAccess:
        """Read access for a row fetched through ``visible_to(user).with_full_access(user)``:
        built from its ``full_access`` annotation, so a page of rows costs no query per row.
        It answers ``redacted()`` only; ask the full constructor for edit or review rights."""
        access = cls.__new__(cls)
        access.postmortem, access.user = postmortem, user
        access.can_view, access.full_access = True, bool(postmortem.full_access)
        access.can_edit = access.can_review = False
        return access

    def redacted(self, section: str) -> bool:
        """Whether ``section`` must be replaced by a redaction notice for this user."""
        return not self.full_access and section in (self.postmortem.internal_sections or [])

    @property
    def hides_discussion(self) -> bool:
        """Review comments and amendment notes may quote internal sections: readers who get a
        section redacted do not get the discussion either."""
        return not self.full_access and bool(self.postmortem.internal_sections)


def restrict_incidents(incidents: models.QuerySet, user) -> models.QuerySet:
    """Incidents ``user`` may see: all, except those whose postmortem is restricted to
    teams the user is not in (and the user does not work on it). Restricting never hides an
    incident from its own people: commander, roles, declarer and its services' teams."""
    from incidents.models import Incident

    from .models import Postmortem

    if is_admin(user):
        return incidents
    if not is_active_user(user):
        return incidents.none()
    insiders = Postmortem.objects.filter(pk__in=Postmortem.objects.all()._insider_ids(user)).values("incident_id")
    return incidents.filter(
        Q(postmortem__isnull=True)
        | ~Q(postmortem__visibility="restricted")
        | Q(pk__in=insiders)
        | Q(pk__in=Incident.objects.responder_ids(user))
    )
