"""The access policy as a table, and its SQL form agreeing with it case by case."""

import pytest
from sqlalchemy import select

from incidents import access
from incidents.cases.models import Case

ROLES = ("reporter", "police", "officer", "chairman", "admin", "partner")


@pytest.fixture()
def world(db, ward, make_ward, make_user, file_report):
    """Two wards; in the first, a serious case (all desks) and a civil one (no police)."""
    other_ward = make_ward(code="OT")
    leader = make_user("reporter", groups=[ward.groups[0]])
    neighbour = make_user("reporter", groups=[ward.groups[1]])
    users = {role: make_user(role) for role in ROLES if role != "reporter"}
    users["reporter"] = leader
    users["neighbour"] = neighbour
    users["police_elsewhere"] = make_user("police", in_ward=other_ward)
    users["officer_elsewhere"] = make_user("officer", in_ward=other_ward)
    serious = db.session.get(Case, file_report(leader, immediate_danger="yes"))
    civil = db.session.get(Case, file_report(leader))
    return users, {"serious": serious, "civil": civil}


# (user, case, may read, may note / change status)
CASE_TABLE = [
    ("reporter", "serious", True, False),
    ("reporter", "civil", True, False),
    ("neighbour", "serious", False, False),
    ("police", "serious", True, True),
    ("police", "civil", False, False),
    ("officer", "serious", True, True),
    ("officer", "civil", True, True),
    ("chairman", "serious", True, True),
    ("chairman", "civil", True, True),
    ("admin", "serious", False, False),
    ("admin", "civil", False, False),
    ("police_elsewhere", "serious", False, False),
    ("officer_elsewhere", "civil", False, False),
    # A partner never reads a case: only what a referral to his desk shares.
    ("partner", "serious", False, False),
    ("partner", "civil", False, False),
]


@pytest.mark.parametrize(("who", "which", "reads", "works"), CASE_TABLE)
def test_case_actions(world, who, which, reads, works):
    users, cases = world
    user, case = users[who], cases[which]
    assert access.can(user, "case.read", case) is reads
    assert access.can(user, "case.note", case) is works
    assert access.can(user, "case.change_status", case) is works
    assert access.can(user, "case.refer", case) is works


GLOBAL_TABLE = {
    # A group leader and a partner file; a desk member records a report received at the
    # ward (Law 13/2022 Art. 19.1: every receiving point).
    "case.file": {"reporter", "partner", "police", "officer", "chairman"},
    "case.list_own": {"reporter", "partner"},
    "queue.view": {"police", "officer", "chairman"},
    "stats.view": {"officer", "chairman"},
    "accounts.manage": {"admin"},
    "referral.list": {"partner"},
    "stats.export": {"officer", "chairman"},
}


@pytest.mark.parametrize("action", sorted(GLOBAL_TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_global_actions(world, action, role):
    users, _ = world
    assert access.can(users[role], action) is (role in GLOBAL_TABLE[action])


# The actions that also need a seat at a desk: without one, an account of the right role
# (one the administrator made, say) reads neither the audit trail nor the statistics.
SEATED = ("stats.view", "audit.view", "stats.export")


@pytest.mark.parametrize("role", ["partner", "police", "officer", "chairman"])
def test_staff_file_from_a_desk_they_sit_at_and_leaders_need_none(db, make_user, role):
    """The desk says where the report was received: without a seat, no filing."""
    assert access.can(make_user(role), "case.file")
    assert not access.can(make_user(role, seated=False), "case.file")
    assert access.can(make_user("reporter"), "case.file")


def test_a_partner_reads_back_the_report_he_filed_and_no_other(db, world, make_user):
    from conftest import report_data

    from incidents.cases.service import file_report

    users, cases = world
    partner = users["partner"]
    own = file_report(partner, report_data(partner.ward.groups[1].id))
    db.session.commit()
    assert access.can(partner, "case.read", own) and access.can(partner, "case.track", own)
    assert not access.can(partner, "case.note", own)
    assert not any(access.can(partner, "case.read", case) for case in cases.values())
    assert set(db.session.scalars(select(Case.id).where(access.case_scope(partner)))) == {own.id}


@pytest.mark.parametrize("role", ["officer", "chairman"])
def test_the_audit_and_the_statistics_need_a_seat(db, client, make_user, login_as, role):
    seated, unseated = make_user(role), make_user(role, seated=False)
    assert all(access.can(seated, action) for action in SEATED)
    assert not any(access.can(unseated, action) for action in SEATED)
    login_as(unseated)
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/audit/"' not in page and 'href="/stats/"' not in page
    for url in ("/audit/", "/audit/export.csv", "/stats/", "/stats/export.xlsx",
                "/stats/export.csv", "/stats/report.docx"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    login_as(seated)
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/audit/"' in page and 'href="/stats/"' in page
    assert client.get("/audit/").status_code == client.get("/stats/").status_code == 200


@pytest.mark.parametrize("action", ["case.read", "case.track", "question.ask"])
def test_scope_agrees_with_can_for_every_user_and_case(db, world, make_user, action):
    from conftest import report_data

    from incidents.cases.service import file_report

    users, _ = world
    # A case a desk member recorded: nobody filed it to be asked questions.
    officer = users["officer"]
    form = report_data(officer.ward.groups[0].id, receiving_point="ward_committee")
    file_report(officer, form)
    db.session.commit()
    every_case = db.session.scalars(select(Case)).all()
    for user in users.values():
        scope = access.case_scope(user, action)
        in_scope = set(db.session.scalars(select(Case.id).where(scope)))
        allowed = {case.id for case in every_case if access.can(user, action, case)}
        assert in_scope == allowed, (user.username, action)


def test_deactivated_and_anonymous_users_can_do_nothing(db, world):
    users, cases = world
    from flask_login import AnonymousUserMixin

    officer = users["officer"]
    officer.active = False
    assert not access.can(officer, "case.read", cases["civil"])
    assert not access.can(officer, "stats.view")
    assert db.session.scalars(select(Case.id).where(access.case_scope(officer))).all() == []
    assert not access.can(AnonymousUserMixin(), "case.read", cases["civil"])
    assert not access.can(None, "case.file")


def test_unknown_actions_are_denied(world):
    users, cases = world
    assert not access.can(users["chairman"], "case.delete", cases["civil"])
    assert not access.can(users["admin"], "anything")
    # a case action without a case, and a global action with one, are refused too
    assert not access.can(users["officer"], "case.read")
    assert not access.can(users["reporter"], "case.file", cases["civil"])


def test_the_read_back_window_agrees_in_can_and_in_scope(db, world):
    from datetime import timedelta

    from sqlalchemy import update

    from incidents.timeutil import utcnow

    users, cases = world
    leader, old = users["reporter"], cases["civil"]
    db.session.execute(
        update(Case).where(Case.id == old.id).values(received_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()
    db.session.expire_all()
    assert not access.can(leader, "case.read", old)
    assert access.can(leader, "case.track", old)
    readable = set(db.session.scalars(select(Case.id).where(access.case_scope(leader))))
    tracked = set(
        db.session.scalars(select(Case.id).where(access.case_scope(leader, "case.track")))
    )
    assert readable == {cases["serious"].id}
    assert tracked == {cases["serious"].id, old.id}
    # the window is the leader's alone: the desks read old cases as before
    assert access.can(users["officer"], "case.read", old)
