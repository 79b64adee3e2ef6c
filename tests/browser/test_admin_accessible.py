"""axe-core on the admin pages staff use most, at desktop and phone widths: the index, the
postmortem list, a postmortem's and an action item's change forms. Django's stock admin left the
autocomplete boxes without a name, told some links apart by colour alone and, on a phone, let an
inline table scroll where the keyboard cannot; templates/admin/base_site.html adds the stylesheet
and script that fix them, so a serious or critical finding here is ours to fix."""

import pytest

from tests.browser.seen import WIDTHS, assert_accessible
from tests.factories import ActionItemFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/h5shots"


@pytest.mark.parametrize("size", WIDTHS)
def test_the_admin_pages_staff_use_most_pass_axe(page, live_server, sign_in, size):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    item = ActionItemFactory()  # no team yet: its autocomplete box shows no selection
    page.set_viewport_size(WIDTHS[size])
    sign_in(admin)
    pages = {
        "index": "/admin/",
        "postmortems": "/admin/postmortems/postmortem/",
        "postmortem": f"/admin/postmortems/postmortem/{item.postmortem.pk}/change/",
        "action-item": f"/admin/actions/actionitem/{item.pk}/change/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        page.screenshot(path=f"{SHOTS}/admin-{name}-{size}.png", full_page=True)
        assert_accessible(page)
    # The names come from the fields' labels, as a screen reader announces them.
    page.goto(f"{live_server.url}{pages['action-item']}")
    assert page.locator("#id_team + .select2 [role=combobox]").get_attribute("aria-label") == "Team"
    page.goto(f"{live_server.url}{pages['postmortem']}")
    assert page.locator("#id_reviewers + .select2 .select2-search__field").get_attribute("aria-label") == "Reviewers"


@pytest.mark.parametrize("size", WIDTHS)
def test_saving_a_search_synonym_group_untouched_in_the_admin_changes_nothing(page, live_server, sign_in, size):
    from django.contrib.admin.models import LogEntry

    from postmortems.models import SearchSynonym
    from tests.browser.seen import assert_usable

    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    group = SearchSynonym.objects.create(terms="hydra, ledger service", note="The ledger's nickname.")
    before = SearchSynonym.objects.values().get(pk=group.pk)
    page.set_viewport_size(WIDTHS[size])
    sign_in(admin)
    page.goto(f"{live_server.url}/admin/postmortems/searchsynonym/{group.pk}/change/")
    assert_usable(page, "#content textarea, #content input[type=text], #content input[name=_save]")
    assert_accessible(page)
    page.screenshot(path=f"{SHOTS}/admin-synonym-change-{size}.png", full_page=True)
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/admin/postmortems/searchsynonym/")
    assert SearchSynonym.objects.values().get(pk=group.pk) == before
    assert not LogEntry.objects.filter(object_id=str(group.pk)).exists()
