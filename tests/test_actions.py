"""The case's actions (issue 7, item 3): handler, contact bans, protection measures,
support services and the perpetrator's outcome — who may, what is refused, what is kept."""

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, login_data, make_test_app, status_change
from sqlalchemy import func, select, text, update
from sqlalchemy.orm.exc import StaleDataError
from test_canary import canary_needles, new_canary
from test_migrations import close_app

from incidents import access
from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import actions, clocks
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import (
    Case,
    CaseDeadline,
    CaseEvent,
    ContactBan,
    PerpetratorOutcome,
    ProtectionMeasure,
    SupportService,
)
from incidents.cases.service import CaseError, Conflict
from incidents.notices.models import Notice
from incidents.timeutil import as_utc, from_ward_time, to_ward_time, utcnow, ward_today

ROLES = ("police", "officer", "chairman", "leader", "admin", "police_elsewhere")


@pytest.fixture()
def world(db, ward, make_ward, make_user, file_report):
    """Every role of the ward, the police of another ward, a case routed to every desk."""
    elsewhere = make_ward(code="EL")
    users = {role: make_user(role) for role in ("police", "officer", "chairman", "admin")}
    users["leader"] = make_user("reporter")
    users["police_elsewhere"] = make_user("police", in_ward=elsewhere)
    case_id = file_report(users["leader"], immediate_danger="yes")
    return users, case_id


def keyring_of(user) -> MemberKeyring:
    """The keyring a member's session holds after he signed in."""
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def picker(moment) -> str:
    """A time as the form's date-and-time picker sends it: ward time, to the minute."""
    return to_ward_time(moment).strftime("%Y-%m-%dT%H:%M")


def minute(moment):
    """The instant a picker's value stands for: the moment, to the minute (UTC)."""
    return from_ward_time(to_ward_time(moment))


# Each form of the actions section prefixes its fields' names (see triage.forms).
PREFIXES = {
    "/handler": "handler",
    "/contact-bans": "ban_request",
    "/contact-bans/decision": "ban",
    "/measures": "measure",
    "/services": "service",
    "/outcome": "outcome",
}


def send(client, url: str, data: dict):
    """Post a form of the actions section as the case page does, its fields prefixed."""
    prefix = next(
        PREFIXES[end] for end in sorted(PREFIXES, key=len, reverse=True) if url.endswith(end)
    )
    return client.post(url, data={f"{prefix}-{name}": value for name, value in data.items()})


def case_of(db, case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


WATCHED = (
    "cases",
    "case_contact_bans",
    "case_measures",
    "case_services",
    "case_perpetrator_outcomes",
    "case_events",
    "case_deadlines",
)


def state(db):
    """Every row of the tables these actions touch, and the audit trail but for reads."""
    db.session.expire_all()
    with db.engine.connect() as connection:
        rows = {
            table: sorted(map(tuple, connection.execute(text(f"SELECT * FROM {table}"))), key=str)
            for table in WATCHED
        }
        rows["audit"] = connection.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.notin_(("case.read", "login.success", "logout")))
            .order_by(AuditEntry.seq)
        ).all()
    return rows


def pending_request(db, users, case_id, hours_ago=1) -> ContactBan:
    """A request for a contact ban recorded by the police, made hours_ago."""
    ban = actions.request_contact_ban(
        users["police"],
        db.session.get(Case, case_id),
        keyring_of(users["police"]),
        requester="victim",
        requested_at=utcnow() - timedelta(hours=hours_ago),
    )
    db.session.commit()
    return ban


# --- Who may do what ----------------------------------------------------------------------


def _handler(db, users, case_id):
    return {"handler_id": str(users["officer"].id), "version": str(case_of(db, case_id).version)}


def _ban_request(db, users, case_id):
    return {"requester": "guardian", "requested_at": picker(utcnow() - timedelta(hours=1))}


def _ban_decision(db, users, case_id):
    ban = pending_request(db, users, case_id)
    now = utcnow()
    return {
        "request_id": str(ban.id),
        "decision": "granted",
        "starts_at": picker(now),
        "ends_at": picker(now + timedelta(days=2)),
    }


def _measure(db, users, case_id):
    return {"measure": "order_to_stop", "applied_on": ward_today().isoformat()}


def _service(db, users, case_id):
    return {"service": "health_care", "received_on": ward_today().isoformat()}


def _outcome(db, users, case_id):
    return {"counselled": "yes", "prosecuted": "no", "version": "0"}


def _handler_done(db, users, case_id):
    return case_of(db, case_id).handler_id == users["officer"].id


def _ban_requested(db, users, case_id):
    return db.session.scalar(select(ContactBan.requester)) == "guardian"


def _ban_decided(db, users, case_id):
    return db.session.scalar(select(ContactBan.decision)) == "granted"


def _measure_done(db, users, case_id):
    return db.session.scalar(select(ProtectionMeasure.measure)) == "order_to_stop"


def _service_done(db, users, case_id):
    return db.session.scalar(select(SupportService.service)) == "health_care"


def _outcome_done(db, users, case_id):
    row = db.session.get(PerpetratorOutcome, case_id)
    return row is not None and (row.counselled, row.prosecuted) == (True, False)


# action: (URL under the case, its policy action, the roles allowed, form, it was done)
ACTIONS = {
    "handler": ("handler", "case.assign_handler", {"chairman"}, _handler, _handler_done),
    "ban_request": (
        "contact-bans",
        "case.contact_ban_request",
        {"police", "officer", "chairman"},
        _ban_request,
        _ban_requested,
    ),
    "ban_decision": (
        "contact-bans/decision",
        "case.contact_ban_decide",
        {"chairman"},
        _ban_decision,
        _ban_decided,
    ),
    "measure": ("measures", "case.measure", {"police", "chairman"}, _measure, _measure_done),
    "service": ("services", "case.service", {"officer"}, _service, _service_done),
    "outcome": ("outcome", "case.outcome", {"officer"}, _outcome, _outcome_done),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_who_may_take_each_action(db, client, world, login_as, action, role):
    users, case_id = world
    path, policy, allowed, form, done = ACTIONS[action]
    user, case = users[role], db.session.get(Case, case_id)
    assert access.can(user, policy, case) is (role in allowed)
    data = form(db, users, case_id)
    login_as(user)
    before = state(db)
    response = send(client, f"/cases/{case_id}/{path}", data)
    if role in allowed:
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
        assert response.headers["Location"] == f"/cases/{case_id}"
        assert done(db, users, case_id)
        audited = {row.action for row in state(db)["audit"]} - {a for a, _ in before["audit"]}
        assert audited, "no audit entry"
    else:
        assert response.status_code == 404
        assert state(db) == before
        assert not done(db, users, case_id)


def test_the_case_page_offers_each_form_only_to_whom_may_use_it(db, client, world, login_as):
    users, case_id = world
    urls = {name: f"/cases/{case_id}/{path}" for name, (path, *_rest) in ACTIONS.items()}
    pending_request(db, users, case_id)  # so that the decision form can show
    for role in ("police", "officer", "chairman"):
        login_as(users[role])
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        for name, (_path, _policy, allowed, *_rest) in ACTIONS.items():
            if name == "ban_request":  # not while a request waits for a decision
                assert f'action="{urls[name]}"' not in page
                continue
            assert (f'action="{urls[name]}"' in page) is (role in allowed), (role, name)


# --- The handler ----------------------------------------------------------------------------


def test_assigning_a_handler_meets_the_chairmans_clock(db, client, world, login_as):
    users, case_id = world
    chairman, officer = users["chairman"], users["officer"]
    login_as(chairman)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Chưa có người xử lý" in page and officer.display_name in page
    response = send(client, f"/cases/{case_id}/handler", _handler(db, users, case_id))
    assert response.status_code == 302
    case = case_of(db, case_id)
    assert case.handler_id == officer.id
    clock = next(d for d in case.deadlines if d.kind == "chairman_informed")
    assert clock.met_at is not None and clock.met_by_id == chairman.id
    assert "chairman_informed" not in {view.kind for view in clocks.running(case)}
    event = next(e for e in case.events if e.kind == "handler")
    assert event.detail == {"handler": officer.id, "role": "officer"}
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "case.handler")).one()
    assert (audit.target, audit.detail) == (case_id, str(officer.id))
    told = db.session.scalars(select(Notice.user_id).where(Notice.reason == "assigned")).all()
    assert told == [officer.id]  # the handler is told
    timeline = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"Người xử lý được giao: {officer.display_name}" in timeline


def test_a_stale_version_gives_a_conflict_and_changes_nothing(db, client, world, login_as):
    users, case_id = world
    login_as(users["chairman"])
    seen = _handler(db, users, case_id)  # the version the chairman's page showed
    moved = client.post(f"/cases/{case_id}/status", data=status_change(case_id, "acknowledged"))
    assert moved.status_code == 302  # someone (here, he himself elsewhere) moved the case on
    before = state(db)
    response = send(client, f"/cases/{case_id}/handler", seen)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "một người khác đã thay đổi vụ việc này" in page
    after = state(db)
    assert after["cases"] == before["cases"] and after["case_events"] == before["case_events"]
    assert case_of(db, case_id).handler_id is None
    # The page shows the case as it is now: sending the form again works.
    again = send(client, f"/cases/{case_id}/handler", _handler(db, users, case_id))
    assert again.status_code == 302
    assert case_of(db, case_id).handler_id == users["officer"].id


def test_a_write_racing_past_the_version_check_is_refused(db, world):
    users, case_id = world
    case = db.session.get(Case, case_id)
    seen = case.version
    # Someone else's change lands between this session's read and its write.
    db.session.connection().execute(
        update(Case.__table__).where(Case.id == case_id).values(version=seen + 1)
    )
    with pytest.raises(StaleDataError):
        actions.assign_handler(
            users["chairman"],
            case,
            users["officer"],
            keyring_of(users["chairman"]),
            seen_version=seen,
        )
    db.session.rollback()
    assert case_of(db, case_id).handler_id is None


def test_only_a_member_seated_at_a_routed_desk_can_handle(db, client, world, make_user, login_as):
    users, case_id = world
    unseated = make_user("police", seated=False)
    refused = {
        "unseated": unseated,
        "another ward": users["police_elsewhere"],
        "the leader": users["leader"],
        "the admin": users["admin"],
    }
    chairman = users["chairman"]
    keyring = keyring_of(chairman)
    before = state(db)
    for who, user in refused.items():
        with pytest.raises(CaseError, match="^handler$"):
            actions.assign_handler(chairman, db.session.get(Case, case_id), user, keyring)
        db.session.rollback()
        assert state(db) == before, who
    login_as(chairman)
    for user in refused.values():
        data = {**_handler(db, users, case_id), "handler_id": str(user.id)}
        response = send(client, f"/cases/{case_id}/handler", data)
        assert response.status_code == 400
        assert "Chưa lưu gì" in response.get_data(as_text=True)
    after = state(db)
    assert after["cases"] == before["cases"] and after["case_events"] == before["case_events"]
    # The same handler twice, or on a closed case: refused too.
    actions.assign_handler(chairman, db.session.get(Case, case_id), users["police"], keyring)
    db.session.commit()
    with pytest.raises(CaseError, match="^handler_unchanged$"):
        actions.assign_handler(chairman, db.session.get(Case, case_id), users["police"], keyring)
    db.session.rollback()
    db.session.execute(update(Case).where(Case.id == case_id).values(status="closed"))
    db.session.commit()
    with pytest.raises(CaseError, match="^closed$"):
        actions.assign_handler(chairman, case_of(db, case_id), users["officer"], keyring)


# --- Contact bans -----------------------------------------------------------------------------


def test_a_request_starts_a_12_hour_clock_that_the_decision_meets(db, client, world, login_as):
    users, case_id = world
    asked = utcnow() - timedelta(hours=2)
    login_as(users["police"])
    data = {"requester": "victim", "requested_at": picker(asked)}
    assert send(client, f"/cases/{case_id}/contact-bans", data).status_code == 302
    case = case_of(db, case_id)
    clock = next(d for d in case.deadlines if d.kind == "contact_ban_decision")
    assert as_utc(clock.started_at) == minute(asked)  # from the request, not from now
    assert as_utc(clock.due_at) == minute(asked) + timedelta(hours=12)
    assert clock.met_at is None
    ban = db.session.scalars(select(ContactBan)).one()
    assert (ban.requester, as_utc(ban.requested_at), ban.decision) == (
        "victim",
        minute(asked),
        None,
    )

    login_as(users["chairman"])
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Quyết định về đề nghị cấm tiếp xúc" in page  # the clock, running
    start = utcnow()
    decision = {
        "request_id": str(ban.id),
        "decision": "granted",
        "starts_at": picker(start),
        "ends_at": picker(start + timedelta(days=3)),  # the longest allowed
    }
    response = send(client, f"/cases/{case_id}/contact-bans/decision", decision)
    assert response.status_code == 302
    case = case_of(db, case_id)
    clock = next(d for d in case.deadlines if d.kind == "contact_ban_decision")
    assert clock.met_at is not None and clock.met_by_id == users["chairman"].id
    met = [e for e in case.events if e.kind == "clock_met"]
    assert {"clock": "contact_ban_decision", "late": False} in [e.detail for e in met]
    ban = db.session.scalars(select(ContactBan)).one()
    assert ban.decision == "granted"
    assert as_utc(ban.starts_at) == minute(start)  # entered in ward time, stored in UTC
    assert as_utc(ban.ends_at) == minute(start) + timedelta(days=3)
    assert actions.ban_state(ban) == "in_force"
    # Granting is applying the measure "contact ban" that day (form 01/BC-X counts it).
    assert db.session.scalars(select(ProtectionMeasure.measure)).all() == ["contact_ban"]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Đang có hiệu lực" in page
    assert to_ward_time(start).strftime("%d/%m/%Y %H:%M") in page


def test_a_decision_after_12_hours_is_marked_late(db, world):
    users, case_id = world
    ban = pending_request(db, users, case_id, hours_ago=13)
    case = db.session.get(Case, case_id)
    running = {view.kind: view for view in clocks.running(case)}
    assert running["contact_ban_decision"].overdue
    actions.decide_contact_ban(
        users["chairman"], case, ban, keyring_of(users["chairman"]), granted=False, why="Không"
    )
    db.session.commit()
    case = case_of(db, case_id)
    met = [e.detail for e in case.events if e.kind == "clock_met"]
    assert {"clock": "contact_ban_decision", "late": True} in met
    assert actions.ban_state(db.session.get(ContactBan, ban.id)) == "refused"
    assert db.session.scalars(select(ProtectionMeasure)).all() == []  # refused: no measure


def test_a_ban_too_long_or_badly_timed_is_refused_and_nothing_changes(db, client, world, login_as):
    users, case_id = world
    ban = pending_request(db, users, case_id, hours_ago=2)
    asked = as_utc(ban.requested_at)
    login_as(users["chairman"])
    start = utcnow()
    base = {"request_id": str(ban.id), "decision": "granted"}
    refused = {
        "3 days and 1 minute": (
            {"starts_at": picker(start), "ends_at": picker(start + timedelta(days=3, minutes=1))},
            "tối đa 3 ngày",
        ),
        "ends before it starts": (
            {"starts_at": picker(start), "ends_at": picker(start - timedelta(hours=1))},
            "phải kết thúc sau khi bắt đầu",
        ),
        "starts before the request": (
            {
                "starts_at": picker(asked - timedelta(hours=1)),
                "ends_at": picker(asked + timedelta(days=1)),
            },
            "trước khi có đề nghị",
        ),
        "no period": ({}, "nhập thời điểm bắt đầu và kết thúc"),
        "refused without a reason": ({"decision": "refused"}, "Để không chấp thuận, hãy nêu lý do"),
        "not a time": ({"starts_at": "31/02/2026 10:00", "ends_at": "x"}, "Chưa lưu gì"),
    }
    before = state(db)
    for why, (fields, message) in refused.items():
        typed = {**base, **fields}
        response = send(client, f"/cases/{case_id}/contact-bans/decision", typed)
        assert response.status_code == 400, why
        page = response.get_data(as_text=True)
        assert message in page, why
        if "ends_at" in fields and fields["ends_at"] != "x":
            assert f'value="{fields["ends_at"]}"' in page, why  # what was typed is kept
        assert state(db) == before, why
    clock = next(d for d in case_of(db, case_id).deadlines if d.kind == "contact_ban_decision")
    assert clock.met_at is None


def test_two_requests_recorded_at_the_same_moment_leave_one_waiting(
    db, client, world, login_as, monkeypatch
):
    users, case_id = world
    pending_request(db, users, case_id, hours_ago=2)
    # The second request's check read the case before the first was committed.
    monkeypatch.setattr(actions, "contact_bans", lambda case: [])
    before = state(db)
    login_as(users["officer"])
    data = {"requester": "guardian", "requested_at": picker(utcnow() - timedelta(hours=1))}
    response = send(client, f"/cases/{case_id}/contact-bans", data)
    assert response.status_code == 400
    assert "Đã có một đề nghị đang chờ Chủ tịch quyết định." in response.get_data(as_text=True)
    assert state(db) == before
    assert [ban.decision for ban in db.session.scalars(select(ContactBan)).all()] == [None]


def test_a_granted_ban_is_renewed_by_a_new_request_and_decision(db, client, world, login_as):
    users, case_id = world
    chairman, keyring = users["chairman"], keyring_of(users["chairman"])
    first = pending_request(db, users, case_id, hours_ago=3)
    start = minute(utcnow() - timedelta(hours=2))  # as the form gives it
    actions.decide_contact_ban(
        chairman,
        db.session.get(Case, case_id),
        first,
        keyring,
        granted=True,
        starts_at=start,
        ends_at=start + timedelta(days=3),
    )
    db.session.commit()
    # Another request while one waits, one in the future, one before the last: refused.
    police, police_keys = users["police"], keyring_of(users["police"])
    second = pending_request(db, users, case_id, hours_ago=1)
    for requested_at, code in (
        (utcnow(), "ban_pending"),
        (utcnow() + timedelta(hours=1), "requested_in_future"),
    ):
        with pytest.raises(CaseError, match=f"^{code}$"):
            actions.request_contact_ban(
                police,
                db.session.get(Case, case_id),
                police_keys,
                requester="victim",
                requested_at=requested_at,
            )
        db.session.rollback()
    # The renewal may not overlap the ban in force: it starts when that one ends.
    with pytest.raises(CaseError, match="^overlap$"):
        actions.decide_contact_ban(
            chairman,
            db.session.get(Case, case_id),
            second,
            keyring,
            granted=True,
            starts_at=utcnow(),
            ends_at=utcnow() + timedelta(days=1),
        )
    db.session.rollback()
    login_as(chairman)
    renewal = {
        "request_id": str(second.id),
        "decision": "granted",
        "starts_at": picker(start + timedelta(days=3)),
        "ends_at": picker(start + timedelta(days=6)),
    }
    response = send(client, f"/cases/{case_id}/contact-bans/decision", renewal)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    bans = actions.contact_bans(case_of(db, case_id))
    assert [(ban.decision, actions.ban_state(ban)) for ban in bans] == [
        ("granted", "upcoming"),
        ("granted", "in_force"),
    ]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Đang có hiệu lực" in page and "Chưa bắt đầu" in page
    # A request before the last one is refused (requests follow one another).
    with pytest.raises(CaseError, match="^requested_before_last$"):
        actions.request_contact_ban(
            police,
            case_of(db, case_id),
            police_keys,
            requester="victim",
            requested_at=utcnow() - timedelta(hours=2),
        )


def test_a_request_in_the_future_is_refused_over_http(db, client, world, login_as):
    users, case_id = world
    login_as(users["officer"])
    before = state(db)
    for when, message in (
        (utcnow() + timedelta(hours=2), "không thể ở tương lai"),
        (utcnow() - timedelta(days=30), "trước ngày xảy ra vụ việc"),
    ):
        data = {"requester": "victim", "requested_at": picker(when)}
        response = send(client, f"/cases/{case_id}/contact-bans", data)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert message in page and f'value="{picker(when)}"' in page
    assert state(db) == before


# --- Measures -----------------------------------------------------------------------------------


def test_a_measure_in_the_future_before_the_incident_or_twice_a_day_is_refused(
    db, client, world, login_as
):
    users, case_id = world
    incident = db.session.get(Case, case_id).incident_date
    login_as(users["police"])
    url = f"/cases/{case_id}/measures"
    before = state(db)
    for day, message in (
        (ward_today() + timedelta(days=1), "Ngày không được sau hôm nay"),
        (incident - timedelta(days=1), "trước ngày xảy ra vụ việc"),
    ):
        response = send(client, url, {"measure": "summons", "applied_on": day.isoformat()})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert send(client, url, {"measure": "not_a_measure"}).status_code == 400
    assert state(db) == before
    data = {"measure": "summons", "applied_on": incident.isoformat()}
    assert send(client, url, data).status_code == 302
    before = state(db)
    twice = send(client, url, data)
    assert twice.status_code == 400
    assert "đã được ghi nhận vào ngày đó" in twice.get_data(as_text=True)
    assert state(db) == before
    # The service refuses it itself (the unique constraint is only the last guard).
    with pytest.raises(CaseError, match="^measure_twice$"):
        actions.add_measure(
            users["police"], case_of(db, case_id), "summons", incident, keyring_of(users["police"])
        )
    db.session.rollback()
    other = {"measure": "order_to_stop", "applied_on": incident.isoformat()}
    assert send(client, url, other).status_code == 302
    assert sorted(db.session.scalars(select(ProtectionMeasure.measure))) == [
        "order_to_stop",
        "summons",
    ]
    with db.engine.connect() as connection:  # form 01/BC-X: perpetrators by measure applied
        by_measure = dict(
            connection.execute(
                text("SELECT measure, COUNT(DISTINCT case_id) FROM case_measures GROUP BY measure")
            ).all()
        )
    assert by_measure == {"order_to_stop": 1, "summons": 1}
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Triệu tập người gây bạo lực đến Công an phường" in page


# --- Services and the outcome, as the statistics will count them -----------------------------


def test_services_and_outcomes_are_counted_by_plain_sql(db, client, world, login_as, file_report):
    users, case_id = world
    other_id = file_report(users["leader"])  # the officer and the chairman only
    login_as(users["officer"])
    today = ward_today().isoformat()
    for case, service in (
        (case_id, "health_care"),
        (case_id, "legal_aid"),
        (other_id, "legal_aid"),
    ):
        data = {"service": service, "received_on": today}
        assert send(client, f"/cases/{case}/services", data).status_code == 302
    twice = send(
        client, f"/cases/{other_id}/services", {"service": "legal_aid", "received_on": today}
    )
    assert twice.status_code == 400
    with pytest.raises(CaseError, match="^service_twice$"):
        actions.add_service(
            users["officer"],
            case_of(db, other_id),
            "legal_aid",
            ward_today(),
            keyring_of(users["officer"]),
        )
    db.session.rollback()
    for case, counselled in ((case_id, "yes"), (other_id, "no")):
        data = {"counselled": counselled, "prosecuted": "no", "version": "0"}
        assert send(client, f"/cases/{case}/outcome", data).status_code == 302

    with db.engine.connect() as connection:
        reached = connection.scalar(text("SELECT COUNT(DISTINCT case_id) FROM case_services"))
        by_service = dict(
            connection.execute(
                text("SELECT service, COUNT(*) FROM case_services GROUP BY service")
            ).all()
        )
        not_prosecuted = connection.scalar(
            text("SELECT COUNT(*) FROM case_perpetrator_outcomes WHERE prosecuted = :no"),
            {"no": False},
        )
        counselled = connection.scalar(
            text(
                "SELECT COUNT(*) FROM case_perpetrator_outcomes "
                "WHERE prosecuted = :no AND counselled = :yes"
            ),
            {"no": False, "yes": True},
        )
    assert reached == 2 and by_service == {"health_care": 1, "legal_aid": 2}
    assert (not_prosecuted, counselled) == (2, 1)

    # The answers change as the case goes on; a stale form is a conflict, the same is refused.
    url = f"/cases/{case_id}/outcome"
    stale = send(client, url, {"counselled": "yes", "prosecuted": "yes", "version": "0"})
    assert stale.status_code == 409
    same = send(client, url, {"counselled": "yes", "prosecuted": "no", "version": "1"})
    assert same.status_code == 400
    assert "đã được ghi nhận" in same.get_data(as_text=True)
    assert send(client, url, {"counselled": "yes", "version": "1"}).status_code == 400
    changed = send(client, url, {"counselled": "yes", "prosecuted": "yes", "version": "1"})
    assert changed.status_code == 302
    row = db.session.get(PerpetratorOutcome, case_id)
    db.session.refresh(row)
    assert (row.counselled, row.prosecuted, row.version) == (True, True, 2)
    kinds = db.session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case_id, CaseEvent.kind == "outcome")
    ).all()
    assert len(kinds) == 2  # the timeline keeps both answers
    details = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "case.outcome")
    ).all()
    assert details == ["counselled=1,prosecuted=0", "counselled=0,prosecuted=0"] + [
        "counselled=1,prosecuted=1"
    ]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Chăm sóc y tế" in page and "Bị truy cứu trách nhiệm hình sự: có" in page


def test_a_stale_outcome_form_changes_nothing(db, world):
    users, case_id = world
    officer, keyring = users["officer"], keyring_of(users["officer"])
    answers = actions.OutcomeAnswers(counselled=True, prosecuted=False)
    actions.record_outcome(officer, db.session.get(Case, case_id), answers, keyring)
    db.session.commit()
    with pytest.raises(Conflict):
        actions.record_outcome(
            officer,
            db.session.get(Case, case_id),
            actions.OutcomeAnswers(counselled=False, prosecuted=False),
            keyring,
            seen_version=0,
        )
    db.session.rollback()
    row = db.session.get(PerpetratorOutcome, case_id)
    assert (row.counselled, row.version) == (True, 1)


# --- Nothing typed is stored in the clear ----------------------------------------------------


def _database_bytes(db) -> bytes:
    """Every value of every row of every table, as bytes (text as UTF-8)."""
    chunks = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode("utf-8"))
    return b"\x00".join(chunks)


def test_a_refusal_reason_is_sealed_and_shown_to_the_desks(db, client, world, login_as):
    users, case_id = world
    reason, refused_reason = new_canary("ban-refusal"), new_canary("too-long")
    ban = pending_request(db, users, case_id)
    login_as(users["chairman"])
    url = f"/cases/{case_id}/contact-bans/decision"
    too_long = {
        "request_id": str(ban.id),
        "decision": "refused",
        "why": refused_reason + "x" * 1000,
    }
    assert send(client, url, too_long).status_code == 400
    refusal = {"request_id": str(ban.id), "decision": "refused", "why": reason}
    assert send(client, url, refusal).status_code == 302

    stored = _database_bytes(db)
    assert str(ban.id).encode() in stored  # the search reads the real rows
    for canary in (reason, refused_reason):
        found = [
            encoding
            for encoding, forms in canary_needles(canary).items()
            if any(form in stored for form in forms)
        ]
        assert found == [], (canary, found)
    event = db.session.scalars(
        select(CaseEvent).where(CaseEvent.kind == "contact_ban_decision")
    ).one()
    assert event.body is not None and event.detail == {"ban": ban.id, "decision": "refused"}
    assert db.session.scalar(select(func.count()).select_from(CaseDeadline)) >= 2
    for role in ("chairman", "police"):
        login_as(users[role])
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert reason in page and "Các đề nghị và lệnh cấm trước đây" in page, role


def test_a_decision_on_a_request_no_longer_waiting_is_a_conflict(db, client, world, login_as):
    users, case_id = world
    seen = pending_request(db, users, case_id, hours_ago=3)  # what the chairman's page showed
    # Meanwhile it is refused (on another screen) and the police record a new request.
    chairman = users["chairman"]
    actions.decide_contact_ban(
        chairman,
        db.session.get(Case, case_id),
        seen,
        keyring_of(chairman),
        granted=False,
        why="Rút",
    )
    db.session.commit()
    waiting = pending_request(db, users, case_id, hours_ago=1)
    login_as(users["chairman"])
    before = state(db)
    start = utcnow()
    late = {
        "request_id": str(seen.id),
        "decision": "granted",
        "starts_at": picker(start),
        "ends_at": picker(start + timedelta(days=1)),
    }
    response = send(client, f"/cases/{case_id}/contact-bans/decision", late)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f'name="ban-request_id" type="hidden" value="{waiting.id}"' in page  # the one now
    assert state(db) == before
    assert db.session.get(ContactBan, waiting.id).decision is None


@pytest.fixture()
def csrf_app(app, db, tmp_path):
    """The test app with CSRF protection on, on the same database."""
    handlers_before = set(app.logger.handlers)
    guarded = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path / "csrf"), WTF_CSRF_ENABLED=True
    )
    yield guarded
    close_app(guarded, handlers_before)


def _token(page: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)


def test_a_prefixed_form_carries_its_csrf_token(db, world, csrf_app):
    users, case_id = world
    web = csrf_app.test_client()
    login = _token(web.get("/login").get_data(as_text=True), "csrf_token")
    assert web.post("/login", data=login_data(users["police"], csrf_token=login)).status_code == 302
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    measure = {"measure-measure": "summons", "measure-applied_on": ward_today().isoformat()}
    before = state(db)
    for forged in ({}, {"measure-csrf_token": "forged"}):
        assert web.post(f"/cases/{case_id}/measures", data={**measure, **forged}).status_code == 400
    assert state(db) == before
    token = {"measure-csrf_token": _token(page, "measure-csrf_token")}
    assert web.post(f"/cases/{case_id}/measures", data={**measure, **token}).status_code == 302
    assert db.session.scalars(select(ProtectionMeasure.measure)).all() == ["summons"]


def test_a_number_in_another_script_or_past_the_column_is_refused_not_an_error(
    db, client, world, login_as
):
    """ "²" passes str.isdigit() but not int(); an id past 2**31 is an error on PostgreSQL:
    each is refused like any bad input (issue 15's low findings), nothing changed."""
    users, case_id = world
    ban = pending_request(db, users, case_id)
    login_as(users["chairman"])
    start = utcnow()
    for request_id in ("²", "9" * 12):
        decision = {
            "request_id": request_id,
            "decision": "granted",
            "starts_at": picker(start),
            "ends_at": picker(start + timedelta(days=1)),
        }
        response = send(client, f"/cases/{case_id}/contact-bans/decision", decision)
        assert response.status_code == 400
    changed = {**status_change(case_id, "acknowledged"), "version": "²"}
    assert client.post(f"/cases/{case_id}/status", data=changed).status_code == 400
    db.session.expire_all()
    assert db.session.get(ContactBan, ban.id).decision is None
    assert case_of(db, case_id).status == "new"
    assert client.get("/notices?page=²").status_code == 404
