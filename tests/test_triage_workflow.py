"""The triage state machine: every move for every role, reasons, merges and conflicts."""

import itertools
import re

import pytest
from conftest import PASSWORD, report_data, status_change
from sqlalchemy import func, select, update

from incidents import access
from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import service
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseEvent, CaseRoute
from incidents.vocab import CLOSE_REASONS, STATUSES, codes

ROLES = ("police", "officer", "chairman")
# What each desk role may do, written out by hand from the law's duties (DOMAIN.md): the
# table in access.py must say exactly this.
EXPECTED_MOVES = {
    "new": {"acknowledged": ROLES},
    "acknowledged": {"in_progress": ROLES, "closed": ROLES},
    "in_progress": {"waiting_info": ROLES, "closed": ROLES},
    "waiting_info": {"in_progress": ROLES, "closed": ROLES},
    "closed": {"reopened": ("police", "chairman")},
    "reopened": {"in_progress": ROLES, "waiting_info": ROLES, "closed": ROLES},
}
EXPECTED_CLOSE_REASONS = {
    # Handing a case to criminal procedure does not close it (a state, see verification).
    "police": {"resolved", "unfounded", "duplicate"},
    "officer": {"resolved", "duplicate"},
    "chairman": {"resolved", "unfounded", "duplicate"},
}


@pytest.fixture()
def desk(db, ward, make_user):
    """A leader, a member of each desk with his keyring, and a serious case (all desks)."""
    leader = make_user("reporter")
    members = {role: make_user(role) for role in ROLES}
    keyrings = {
        role: MemberKeyring(user, unlock_personal_key(user, PASSWORD))
        for role, user in members.items()
    }
    return leader, members, keyrings


def _file(db, leader, **changes) -> Case:
    changes.setdefault("immediate_danger", True)  # routed to the police, officer and chairman
    case = service.file_report(
        leader, report_data(leader.groups[0].id, **changes), own_public_key=leader.public_key
    )
    db.session.commit()
    return case


def _put(db, case: Case, status: str) -> None:
    """Put the case in a status directly (the moves to get there are tested elsewhere)."""
    db.session.execute(update(Case).where(Case.id == case.id).values(status=status, version=7))
    db.session.commit()
    db.session.expire_all()


def _snapshot(db, case_id: str) -> tuple:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count()).select_from(CaseEvent))
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return case.status, case.close_reason, case.merged_into_id, case.version, events, audits


def test_the_access_table_is_the_one_written_out_from_the_law():
    table = {}
    for (start, to), roles in access.TRANSITIONS.items():
        table.setdefault(start, {})[to] = tuple(sorted(roles))
    expected = {
        start: {to: tuple(sorted(roles)) for to, roles in moves.items()}
        for start, moves in EXPECTED_MOVES.items()
    }
    assert table == expected
    assert set(EXPECTED_MOVES) == set(codes(STATUSES))  # every status has its row
    for role, reasons in EXPECTED_CLOSE_REASONS.items():
        assert {r for r, roles in access.CLOSE_REASON_ROLES.items() if role in roles} == reasons
    # Every reason has its row, but the earlier "handed to criminal procedure", now a state
    # of an open case (verification.hand_to_criminal_procedure), kept for old cases' labels.
    assert set(access.CLOSE_REASON_ROLES) == set(codes(CLOSE_REASONS)) - {"criminal_procedure"}


def test_every_move_for_every_desk_role_is_allowed_or_refused_as_the_table_says(db, desk):
    leader, members, keyrings = desk
    case = _file(db, leader)
    statuses = codes(STATUSES)
    checked = 0
    for role, start, to in itertools.product(ROLES, statuses, statuses):
        _put(db, case, start)
        case = db.session.get(Case, case.id)
        allowed = role in EXPECTED_MOVES[start].get(to, ())
        reason = "resolved" if to == "closed" else None
        before = _snapshot(db, case.id)
        case = db.session.get(Case, case.id)
        try:
            service.change_status(
                members[role], case, to, keyrings[role], why="lý do", close_reason=reason
            )
            db.session.commit()
        except service.CaseError as error:
            db.session.rollback()
            assert not allowed, (role, start, to, error)
            assert str(error) == "status"
            assert _snapshot(db, case.id) == before, (role, start, to)
        else:
            assert allowed, (role, start, to)
            db.session.expire_all()
            moved = db.session.get(Case, case.id)
            assert moved.status == to and moved.version == 8
            last = [event for event in moved.events if event.kind == "status"][-1]
            assert last.actor_id == members[role].id
            assert last.detail["from"] == start and last.detail["to"] == to
        checked += 1
    assert checked == len(ROLES) * len(statuses) ** 2


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("reason", codes(CLOSE_REASONS))
def test_closing_reasons_by_role(db, desk, role, reason):
    leader, members, keyrings = desk
    case, other = _file(db, leader), _file(db, leader)
    _put(db, case, "in_progress")
    case = db.session.get(Case, case.id)
    merge = db.session.get(Case, other.id) if reason == "duplicate" else None
    before = _snapshot(db, case.id)
    allowed = reason in EXPECTED_CLOSE_REASONS[role]
    try:
        service.change_status(
            members[role],
            case,
            "closed",
            keyrings[role],
            why="lý do",
            close_reason=reason,
            merge_into=merge,
        )
        db.session.commit()
    except service.CaseError as error:
        db.session.rollback()
        assert not allowed and str(error) == "close_reason"
        assert _snapshot(db, case.id) == before
    else:
        assert allowed
        assert _snapshot(db, case.id)[:2] == ("closed", reason)


@pytest.mark.parametrize("role", ["reporter", "admin", "police_elsewhere", "police_unseated"])
def test_no_one_off_the_case_moves_it(db, desk, make_user, make_ward, role):
    leader, members, keyrings = desk
    case = _file(db, leader)
    if role == "police_elsewhere":
        user = make_user("police", in_ward=make_ward(code="XE"))
    elif role == "police_unseated":
        user = make_user("police", seated=False)
    else:
        user = leader if role == "reporter" else make_user(role)
    keyring = MemberKeyring(user, unlock_personal_key(user, PASSWORD))
    before = _snapshot(db, case.id)
    for to in codes(STATUSES):
        with pytest.raises(service.NotAllowed):
            service.change_status(user, db.session.get(Case, case.id), to, keyring, why="x")
        db.session.rollback()
    assert _snapshot(db, case.id) == before
    assert access.allowed_moves(user, db.session.get(Case, case.id)) == ()


@pytest.mark.parametrize(
    "start, to, why",
    [
        ("in_progress", "waiting_info", ""),
        ("in_progress", "waiting_info", "   "),
        ("closed", "reopened", ""),
        ("in_progress", "closed", "x" * (service.WHY_MAX_LENGTH + 1)),
    ],
)
def test_a_step_without_a_reason_is_refused(db, desk, start, to, why):
    leader, members, keyrings = desk
    case = _file(db, leader)
    _put(db, case, start)
    before = _snapshot(db, case.id)
    with pytest.raises(service.CaseError, match="why"):
        service.change_status(
            members["police"],
            db.session.get(Case, case.id),
            to,
            keyrings["police"],
            why=why,
            close_reason="resolved",
        )
    db.session.rollback()
    assert _snapshot(db, case.id) == before


def test_acknowledging_needs_no_reason_and_the_reason_given_is_sealed(db, desk):
    leader, members, keyrings = desk
    case = _file(db, leader)
    service.change_status(members["officer"], case, "acknowledged", keyrings["officer"])
    secret = "Đã gặp bà CANARY-ly-do-9f1"
    service.change_status(members["officer"], case, "in_progress", keyrings["officer"], why=secret)
    db.session.commit()
    stored = db.session.scalars(select(CaseEvent.body).where(CaseEvent.case_id == case.id)).all()
    assert any(stored) and all(secret.encode() not in (body or b"") for body in stored)
    content = service.read_case(members["police"], case, keyrings["police"])
    assert secret in content.reasons.values()
    assert (
        service.read_case(
            leader, case, MemberKeyring(leader, unlock_personal_key(leader, PASSWORD))
        ).reasons
        == {}
    )


def test_a_duplicate_is_merged_and_both_timelines_say_so(db, desk):
    leader, members, keyrings = desk
    first, second = _file(db, leader), _file(db, leader)
    police = members["police"]
    for case in (first, second):
        service.change_status(police, case, "acknowledged", keyrings["police"])
    service.change_status(
        police,
        second,
        "closed",
        keyrings["police"],
        why="cùng một người",
        close_reason="duplicate",
        merge_into=first,
    )
    db.session.commit()
    db.session.expire_all()
    first, second = db.session.get(Case, first.id), db.session.get(Case, second.id)
    assert (second.status, second.close_reason, second.merged_into_id) == (
        "closed",
        "duplicate",
        first.id,
    )
    assert [e.kind for e in second.events] == ["filed", "routed", "status", "status"]
    assert second.events[-1].detail["merged_into"] == first.id
    assert [e.kind for e in first.events] == ["filed", "routed", "status", "merged"]
    assert first.events[-1].detail == {"from": second.id}
    assert first.status == "acknowledged"  # the case it joined goes on as it was


@pytest.mark.parametrize("target", ["itself", "closed", "other_ward", "none", "not_duplicate"])
def test_a_bad_merge_is_refused_and_changes_nothing(db, desk, make_user, make_ward, target):
    leader, members, keyrings = desk
    case, other = _file(db, leader), _file(db, leader)
    _put(db, case, "in_progress")
    reason = "duplicate"
    if target == "itself":
        merge = case
    elif target == "closed":
        _put(db, other, "closed")
        merge = other
    elif target == "other_ward":
        elsewhere = make_ward(code="XM")
        merge = _file(db, make_user("reporter", in_ward=elsewhere))
    elif target == "none":
        merge = None
    else:
        merge, reason = other, "resolved"
    before = _snapshot(db, case.id)
    with pytest.raises(service.CaseError, match="merge_into"):
        service.change_status(
            members["police"],
            db.session.get(Case, case.id),
            "closed",
            keyrings["police"],
            why="trùng",
            close_reason=reason,
            merge_into=db.session.get(Case, merge.id) if merge else None,
        )
    db.session.rollback()
    assert _snapshot(db, case.id) == before


# Over HTTP: a refusal keeps the input, a conflict shows the case as it is now.

STATUS_CHOICE = re.compile(r'<option selected value="([a-z_]+)">')


def test_a_refused_change_shows_the_page_again_with_what_was_typed(db, client, desk, login_as):
    leader, members, _ = desk
    case = _file(db, leader)
    _put(db, case, "in_progress")
    login_as(members["officer"])
    before = _snapshot(db, case.id)
    typed = "Lý do đang gõ dở, không được mất"
    form = status_change(case.id, "closed", why=typed, close_reason="")
    page = client.post(f"/cases/{case.id}/status", data=form)
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert typed in text and "Để đóng vụ việc" in text
    # A reason the page does not offer him (the officer cannot find a report unfounded).
    forged = client.post(f"/cases/{case.id}/status", data={**form, "close_reason": "unfounded"})
    assert forged.status_code == 400
    assert typed in forged.get_data(as_text=True)
    assert "Thay đổi chưa được lưu" in forged.get_data(as_text=True)
    assert _snapshot(db, case.id)[:5] == before[:5]  # only the reads of the page are audited


@pytest.mark.parametrize("meanwhile", ["waiting_info", "closed"])
def test_a_stale_page_gets_a_conflict_with_its_input_kept_and_nothing_changed(
    db, client, desk, login_as, meanwhile
):
    leader, members, keyrings = desk
    case = _file(db, leader)
    _put(db, case, "in_progress")
    login_as(members["officer"])
    typed = "Đã hỗ trợ xong, điều tôi gõ"
    seen = status_change(case.id, "closed", why=typed, close_reason="resolved")
    # Meanwhile the police move it on.
    service.change_status(
        members["police"],
        db.session.get(Case, case.id),
        meanwhile,
        keyrings["police"],
        why="việc của công an",
        close_reason="resolved" if meanwhile == "closed" else None,
    )
    db.session.commit()
    before = _snapshot(db, case.id)
    page = client.post(f"/cases/{case.id}/status", data=seen)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert typed in text  # his input, kept
    assert "Trong lúc bạn đang làm, một người khác đã thay đổi vụ việc này" in text
    if meanwhile == "waiting_info":  # he may still close it: the form, at the new version
        assert f'name="version" type="hidden" value="{before[3]}"' in text
        again = client.post(f"/cases/{case.id}/status", data={**seen, "version": before[3]})
        assert again.status_code == 302
        assert _snapshot(db, case.id)[:2] == ("closed", "resolved")
    else:  # closed by the police: nothing is his to do, but what he typed is on the page
        assert 'name="version"' not in text
        assert _snapshot(db, case.id)[:4] == before[:4]


def test_two_writers_racing_the_same_version_one_wins_the_other_is_told(app, db, desk):
    """Both passed the version check; the database's UPDATE ... WHERE version decides."""
    leader, members, keyrings = desk
    case = _file(db, leader)
    _put(db, case, "in_progress")
    police_view = db.session.get(Case, case.id)
    seen = police_view.version
    # The officer's request, in its own session, commits first.
    with app.app_context():
        officer_session = db.session
        mine = officer_session.get(Case, case.id)
        service.change_status(
            members["officer"],
            mine,
            "waiting_info",
            keyrings["officer"],
            why="chờ",
            seen_version=seen,
        )
        officer_session.commit()
    from sqlalchemy.orm.exc import StaleDataError

    with pytest.raises(StaleDataError):
        service.change_status(
            members["police"],
            police_view,
            "closed",
            keyrings["police"],
            why="xong",
            close_reason="resolved",
            seen_version=seen,
        )
        db.session.commit()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "waiting_info"


def test_a_merge_hands_the_duplicate_s_desks_and_running_clocks_to_the_case_it_joins(
    db, client, desk, login_as
):
    leader, members, keyrings = desk
    # The older report reached the officer and the chairman only; the new one, about the
    # same victim, is a trafficking report: the police have it, and its 3-day clock runs.
    older = _file(db, leader, immediate_danger=False)
    newer = _file(db, leader, kinds=["trafficking"], immediate_danger=False)
    assert older.desks == {"officer", "chairman"} and "police" in newer.desks
    officer = members["officer"]
    service.change_status(officer, newer, "acknowledged", keyrings["officer"])
    service.change_status(
        officer,
        newer,
        "closed",
        keyrings["officer"],
        why="cùng một người",
        close_reason="duplicate",
        merge_into=older,
    )
    db.session.commit()
    db.session.expire_all()
    older = db.session.get(Case, older.id)
    assert older.desks == {"officer", "chairman", "police"}  # the police keep the case
    running = {d.kind: d.due_at for d in older.deadlines if d.met_at is None}
    newer = db.session.get(Case, newer.id)
    trafficking = next(d for d in newer.deadlines if d.kind == "trafficking_verification")
    assert running["trafficking_verification"] == trafficking.due_at  # same legal deadline
    # ...and can open it: the case key was sealed to their desk.
    assert "victim_name" in service.read_case(members["police"], older, keyrings["police"]).fields
    assert older.version == 2  # claimed by the merge


def test_a_merge_into_a_case_changed_meanwhile_is_a_conflict(db, desk):
    leader, members, keyrings = desk
    target, duplicate = _file(db, leader), _file(db, leader)
    _put(db, duplicate, "in_progress")
    before = _snapshot(db, duplicate.id)
    seen = db.session.get(Case, target.id)
    # Meanwhile, in another request, the target is closed (and its version moved on).
    with db.engine.begin() as elsewhere:
        elsewhere.execute(
            update(Case)
            .where(Case.id == target.id)
            .values(status="closed", close_reason="resolved", version=Case.version + 1)
        )
    with pytest.raises(service.Conflict):
        service.change_status(
            members["police"],
            db.session.get(Case, duplicate.id),
            "closed",
            keyrings["police"],
            why="trùng",
            close_reason="duplicate",
            merge_into=seen,
        )
    db.session.rollback()
    assert _snapshot(db, duplicate.id) == before


def test_the_merged_into_link_shows_only_to_whom_can_read_it(db, client, desk, login_as):
    leader, members, keyrings = desk
    # A case the police reach, merged into one that (before the merge) they did not.
    target = _file(db, leader, immediate_danger=False)
    duplicate = _file(db, leader)
    officer = members["officer"]
    service.change_status(officer, duplicate, "acknowledged", keyrings["officer"])
    service.change_status(
        officer, duplicate, "closed", keyrings["officer"], why="trùng",
        close_reason="duplicate", merge_into=target,
    )  # fmt: skip
    db.session.commit()
    login_as(members["police"])
    page = client.get(f"/cases/{duplicate.id}").get_data(as_text=True)
    link = f'<a href="/cases/{target.id}">{target.reference}</a>'
    assert link in page  # routed to the police by the merge: theirs to follow
    # Take the police off the target: the link and its reference disappear.
    db.session.execute(
        CaseRoute.__table__.delete().where(
            CaseRoute.case_id == target.id, CaseRoute.desk_id == members["police"].seats[0].desk_id
        )
    )
    db.session.commit()
    page = client.get(f"/cases/{duplicate.id}").get_data(as_text=True)
    assert target.reference not in page and target.id not in page
    assert "Đã gộp vào một vụ việc khác của phường." in page
