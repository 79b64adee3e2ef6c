"""Who may do what: every "may this user do X to Y" rule and every refusal message.

Pages, the API, the admin, search, feeds, exports, emails and jobs ask these
functions; nothing else tests ``is_authenticated``, ``is_active`` or staff flags.
Row-level reading rules (which postmortems, incidents and items a user may see)
are querysets (``visible_to``, ``editable_by``), and they too start from here.
"""

from __future__ import annotations


def is_active_user(user) -> bool:
    """A signed-in account that is not disabled: the least any rule asks."""
    return bool(user and user.is_authenticated and user.is_active)


def is_admin(user) -> bool:
    """An active staff member or superuser: reads and edits everything."""
    return is_active_user(user) and bool(user.is_superuser or user.is_staff)
