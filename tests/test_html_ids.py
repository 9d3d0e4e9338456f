"""Every id on a page is unique: a label must point at its own field (WCAG 1.3.1, 4.1.1).

The case page holds many forms at once (status, clocks, actions, questions, notes,
referrals, routing); each is checked here for the desk roles that see the most of them.
"""

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from conftest import PASSWORD, login_data

from incidents.accounts.service import unlock_personal_key
from incidents.cases import questions
from incidents.cases.keys import MemberKeyring


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_targets = Counter(), []

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if "id" in attributes:
            self.ids[attributes["id"]] += 1
        if tag == "label" and "for" in attributes:
            self.label_targets.append(attributes["for"])


def _check(page: str) -> None:
    parser = _Ids()
    parser.feed(page)
    repeated = [name for name, count in parser.ids.items() if count > 1]
    assert repeated == [], f"ids used more than once: {repeated}"
    dangling = [target for target in parser.label_targets if target not in parser.ids]
    assert dangling == [], f"labels pointing at no field: {dangling}"


def _signed_in(csrf_app, user):
    """A browser of the app that checks CSRF tokens (so every form carries one), signed in."""
    web = csrf_app.test_client()
    page = web.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert web.post("/login", data={**login_data(user), "csrf_token": token}).status_code == 302
    return web


@pytest.mark.parametrize("role", ["police", "officer", "chairman"])
def test_the_case_page_has_unique_ids_for_each_desk_role(
    db, csrf_app, make_user, file_report, role
):
    leader, member = make_user("reporter"), make_user(role)
    others = {
        other: make_user(other) for other in ("police", "officer", "chairman") if other != role
    }
    case_id = file_report(
        leader, immediate_danger="yes", victim_age_band="12_13", child_serious_risk="yes"
    )
    from incidents.cases.models import Case

    asker = others.get("police") or member
    questions.ask(
        asker,
        db.session.get(Case, case_id),
        "Cháu ở đâu?",
        MemberKeyring(asker, unlock_personal_key(asker, PASSWORD)),
    )
    db.session.commit()
    response = _signed_in(csrf_app, member).get(f"/cases/{case_id}")
    assert response.status_code == 200
    _check(response.get_data(as_text=True))


def test_the_leader_s_pages_have_unique_ids(db, csrf_app, make_user, file_report):
    leader = make_user("reporter")
    case_id = file_report(leader)
    client = _signed_in(csrf_app, leader)
    for url in ("/report/new", "/reports", f"/reports/{case_id}", "/account"):
        response = client.get(url)
        assert response.status_code == 200, url
        _check(response.get_data(as_text=True))


def test_the_queue_has_unique_ids(db, csrf_app, make_user, file_report):
    leader, officer = make_user("reporter"), make_user("officer")
    file_report(leader)
    _check(_signed_in(csrf_app, officer).get("/cases/").get_data(as_text=True))
