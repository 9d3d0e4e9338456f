"""The legal clocks, on a frozen clock: each starts, shows, turns overdue and escalates."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from conftest import PASSWORD, report_data, status_change
from sqlalchemy import func, select

from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import clocks, service
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseDeadline, CaseEvent
from incidents.notices.models import Notice
from incidents.timeutil import WARD_ZONE

# A Monday, 09:00 in the ward, well after the accounts were made (a code's time step must
# never go back, or sign-in would take it for a replay).
START = datetime.combine(
    date.today() + timedelta(days=7 - date.today().weekday() + 7), datetime.min.time()
)
START = START.replace(hour=9, tzinfo=WARD_ZONE).astimezone(UTC)


@pytest.fixture()
def people(db, make_user):
    leader = make_user("reporter")
    staff = {role: make_user(role) for role in ("police", "officer", "chairman")}
    return leader, staff


def _keyring(user):
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def _file(db, leader, **changes) -> Case:
    case = service.file_report(leader, report_data(leader.groups[0].id, **changes))
    db.session.commit()
    return case


def _running(db, case_id):
    db.session.expire_all()
    return {view.kind: view for view in clocks.running(db.session.get(Case, case_id))}


def test_working_days_skip_weekends_and_the_ward_s_holidays():
    friday = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # 15:00 in the ward
    assert clocks.add_working_days(friday, 5) == datetime(2026, 12, 11, 8, 0, tzinfo=UTC)
    holiday = {date(2026, 12, 8)}
    assert clocks.add_working_days(friday, 5, holiday) == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
    # 23:30 UTC on a Sunday is already Monday 06:30 in the ward: Monday is day zero.
    sunday_night = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert clocks.add_working_days(sunday_night, 1) == datetime(2026, 12, 7, 23, 30, tzinfo=UTC)


def test_a_report_starts_the_clocks_its_facts_call_for(db, people):
    leader, _ = people
    with time_machine.travel(START, tick=False):
        adult = _file(db, leader)
        child = _file(
            db,
            leader,
            kinds=["trafficking", "child_abuse"],
            victim_age_band="12_13",
            child_serious_risk=True,
        )
    assert {kind: view.due_at - START for kind, view in _running(db, adult.id).items()} == {
        "chairman_informed": timedelta(hours=1)
    }
    assert {kind: view.due_at - START for kind, view in _running(db, child.id).items()} == {
        "chairman_informed": timedelta(hours=1),
        "child_emergency": timedelta(hours=12),
        "trafficking_verification": timedelta(days=3),
        "child_plan": timedelta(days=7),  # five working days from a Monday: the next Monday
    }


def test_each_deadline_shows_turns_overdue_and_escalates_once(app, db, client, people, login_as):
    leader, staff = people
    with time_machine.travel(START, tick=False) as traveller:
        case = _file(db, leader, kinds=["trafficking"])
        login_as(staff["police"])
        queue = client.get("/cases/").get_data(as_text=True)
        assert "Chủ tịch được báo cáo: còn 1 tiếng" in queue
        assert "Xác minh ban đầu tin báo mua bán người: còn 3 ngày" in queue
        assert client.get("/cases/?overdue=1").get_data(as_text=True).count(case.reference) == 0

        traveller.shift(timedelta(hours=3))
        login_as(staff["police"])  # three hours idle: a new sign-in
        queue = client.get("/cases/?overdue=1").get_data(as_text=True)
        assert case.reference in queue
        assert "Chủ tịch được báo cáo: quá hạn 2 tiếng" in queue
        assert "đã báo lên Chủ tịch" not in queue
        assert "Xác minh ban đầu tin báo mua bán người: còn 2 ngày 21 tiếng" in queue

        runner = app.test_cli_runner()
        assert "1 overdue clocks escalated" in runner.invoke(args=["case", "escalate"]).output
        assert "0 overdue clocks escalated" in runner.invoke(args=["case", "escalate"]).output
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "escalated")
        ).all()
        assert [event.detail for event in events] == [{"clock": "chairman_informed"}]
        audited = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "case.escalate")
        ).all()
        assert audited == ["chairman_informed"]
        told = db.session.scalars(select(Notice.user_id).where(Notice.reason == "escalated")).all()
        assert told == [staff["chairman"].id]  # his desk, once
        queue = client.get("/cases/?overdue=1").get_data(as_text=True)
        assert "quá hạn 2 tiếng · đã báo lên Chủ tịch" in queue

        traveller.shift(timedelta(days=3))
        login_as(staff["police"])
        assert "Xác minh ban đầu tin báo mua bán người: quá hạn" in client.get("/cases/").get_data(
            as_text=True
        )
        assert "1 overdue clocks escalated" in runner.invoke(args=["case", "escalate"]).output


def test_the_chairman_s_first_step_meets_his_clock_and_late_is_said(db, people):
    leader, staff = people
    with time_machine.travel(START, tick=False) as traveller:
        on_time, late = _file(db, leader), _file(db, leader)
        traveller.shift(timedelta(minutes=20))
        chairman = staff["chairman"]
        service.change_status(chairman, on_time, "acknowledged", _keyring(chairman))
        traveller.shift(timedelta(hours=2))
        service.change_status(chairman, late, "acknowledged", _keyring(chairman))
        db.session.commit()
    for case, was_late in ((on_time, False), (late, True)):
        assert _running(db, case.id) == {}
        met = db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "clock_met")
        ).one()
        assert met.detail == {"clock": "chairman_informed", "late": was_late}
        assert met.actor_id == chairman.id


def test_the_police_record_the_child_s_emergency_protection_by_hand(db, client, people, login_as):
    leader, staff = people
    with time_machine.travel(START, tick=False) as traveller:
        case = _file(db, leader, victim_age_band="12_13", child_serious_risk=True)
        traveller.shift(timedelta(hours=4))
        login_as(staff["police"])
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "Can thiệp khẩn cấp bảo vệ trẻ em: còn 8 tiếng" in page
        # Without saying what was done: refused, the clock runs on.
        empty = client.post(f"/cases/{case.id}/clocks", data={"clock": "child_emergency"})
        assert empty.status_code == 400
        assert "child_emergency" in _running(db, case.id)
        # The plan is the officer's and the chairman's to record, not the police's.
        forged = client.post(
            f"/cases/{case.id}/clocks", data={"clock": "child_plan", "why": "kế hoạch"}
        )
        assert forged.status_code == 400
        assert "child_plan" in _running(db, case.id)
        done = client.post(
            f"/cases/{case.id}/clocks",
            data={"clock": "child_emergency", "why": "Đưa cháu đến nhà bà ngoại"},
        )
        assert done.status_code == 302
    running = _running(db, case.id)
    assert "child_emergency" not in running and "child_plan" in running
    deadline = db.session.scalars(
        select(CaseDeadline).where(
            CaseDeadline.case_id == case.id, CaseDeadline.kind == "child_emergency"
        )
    ).one()
    assert deadline.met_by_id == staff["police"].id
    assert deadline.met_at.replace(tzinfo=UTC) == START + timedelta(hours=4)
    bodies = db.session.scalars(select(CaseEvent.body).where(CaseEvent.case_id == case.id)).all()
    assert all(b"nh\xc3\xa0 b\xc3\xa0 ngo\xe1\xba\xa1i" not in (body or b"") for body in bodies)


def test_a_closed_case_has_no_running_clock_and_is_never_overdue(db, people):
    leader, staff = people
    with time_machine.travel(START, tick=False) as traveller:
        case = _file(db, leader, kinds=["trafficking"])  # routed to the police too
        police = staff["police"]
        service.change_status(police, case, "acknowledged", _keyring(police))
        service.change_status(
            police, case, "closed", _keyring(police), why="không có thật", close_reason="unfounded"
        )
        db.session.commit()
        traveller.shift(timedelta(days=2))
        assert _running(db, case.id) == {}
        assert clocks.escalate_overdue() == []
        overdue = db.session.scalar(
            select(func.count()).select_from(Case).where(clocks.overdue_condition(clocks.utcnow()))
        )
        assert overdue == 0


def test_a_clock_that_is_not_running_cannot_be_met(db, people):
    leader, staff = people
    case = _file(db, leader)
    officer = staff["officer"]
    with pytest.raises(service.NotAllowed):  # no such clock is the officer's to meet
        service.meet_clock(officer, case, "trafficking_verification", _keyring(officer), why="x")
    with pytest.raises(service.CaseError, match="clock"):  # his kind, but not running here
        service.meet_clock(officer, case, "child_plan", _keyring(officer), why="x")
    db.session.rollback()
    assert set(_running(db, case.id)) == {"chairman_informed"}


def test_a_status_change_through_the_page_bumps_the_version(db, client, people, login_as):
    leader, staff = people
    case = _file(db, leader)
    login_as(staff["chairman"])
    client.post(f"/cases/{case.id}/status", data=status_change(case.id, "acknowledged"))
    db.session.expire_all()
    assert db.session.get(Case, case.id).version == 2
    assert _running(db, case.id) == {}  # and it met his clock


def test_the_leader_sees_his_reports_clocks(db, client, people, login_as):
    leader, staff = people
    with time_machine.travel(START, tick=False) as traveller:
        case = _file(db, leader, victim_age_band="12_13", child_serious_risk=True)
        traveller.shift(timedelta(hours=2))
        login_as(leader)
        listing = client.get("/reports").get_data(as_text=True)
        assert "Can thiệp khẩn cấp bảo vệ trẻ em: còn 10 tiếng" in listing
        assert "Chủ tịch được báo cáo: quá hạn 1 tiếng" in listing
        page = client.get(f"/reports/{case.id}").get_data(as_text=True)
        assert "Pháp luật yêu cầu việc gì, hạn đến khi nào" in page
        assert "Kế hoạch hỗ trợ, can thiệp cho trẻ em: còn 6 ngày 22 tiếng" in page


@pytest.mark.parametrize(
    "left, shown",
    [
        (timedelta(hours=11, minutes=40, seconds=59), "11 tiếng 40 phút"),
        (timedelta(days=2, hours=13, minutes=5), "2 ngày 13 tiếng"),
        (timedelta(days=3), "3 ngày"),
        (timedelta(hours=23, minutes=59), "23 tiếng 59 phút"),
        (timedelta(hours=1), "1 tiếng"),
        (timedelta(seconds=59), "0 phút"),
        (-timedelta(hours=2, minutes=1), "2 tiếng 1 phút"),
    ],
)
def test_time_left_is_rounded_down_never_up(app, left, shown):
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        assert app.jinja_env.filters["duration"](left) == shown
