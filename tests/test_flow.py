"""The whole mission over HTTP: a leader files, the police acknowledge, the officer counts."""

import re

from conftest import post_report, status_change
from sqlalchemy import select

from incidents.audit.models import AuditEntry
from incidents.cases.models import Case, CaseEvent


def test_leader_files_police_acknowledge_officer_counts(
    db, client, make_user, file_report, login_as
):
    leader = make_user("reporter")
    police, officer = make_user("police"), make_user("officer")

    case_id = file_report(
        leader,
        kinds=["domestic_violence", "child_abuse"],
        victim_age_band="12_13",
        child_serious_risk="no",  # asked of every child victim
        victim_name="Lò Thị Hoa",
    )
    case = db.session.get(Case, case_id)
    assert case.desks == {"police", "officer", "chairman"}
    assert case.routing_reason == "minor_victim"
    assert re.fullmatch(r"QT-\d{4}-0001", case.reference)

    login_as(police)
    queue = client.get("/cases/").get_data(as_text=True)
    assert case.reference in queue
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Lò Thị Hoa" in text
    for desk in ("Công an phường", "Công chức Văn hóa - xã hội", "Chủ tịch UBND phường"):
        assert text.count(desk) >= 2, desk  # routed to it (and on the timeline)
    assert "&lt;Desk" not in text  # a desk object rendered instead of its name
    assert page.headers["Cache-Control"] == "no-store"
    response = client.post(f"/cases/{case_id}/status", data=status_change(case_id, "acknowledged"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "acknowledged"

    login_as(officer)
    stats = client.get("/stats/").get_data(as_text=True)
    assert re.search(r'class="total">1<', stats)  # the desks' page is exact (DOMAIN.md 4)

    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    for expected in ("case.file", "case.read", "case.status", "stats.view", "login.success"):
        assert expected in actions
    kinds = db.session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    ).all()
    assert kinds == ["filed", "routed", "status"]


def test_other_domestic_violence_goes_to_officer_and_chairman_only(
    db, client, make_user, file_report, login_as
):
    leader, police, chairman = make_user("reporter"), make_user("police"), make_user("chairman")
    case_id = file_report(leader)
    assert db.session.get(Case, case_id).desks == {"officer", "chairman"}
    confirmation = client.get(f"/report/filed/{case_id}").get_data(as_text=True)
    assert "Công chức Văn hóa - xã hội" in confirmation and "Chủ tịch UBND phường" in confirmation
    assert "Công an phường" not in confirmation
    login_as(police)
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert db.session.get(Case, case_id).reference not in client.get("/cases/").get_data(
        as_text=True
    )
    login_as(chairman)
    assert client.get(f"/cases/{case_id}").status_code == 200


def test_leader_of_another_group_gets_404(db, client, ward, make_user, file_report, login_as):
    leader = make_user("reporter", groups=[ward.groups[0]])
    other = make_user("reporter", groups=[ward.groups[1]])
    case_id = file_report(leader)
    login_as(other)
    assert client.get(f"/reports/{case_id}").status_code == 404
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert client.get(f"/report/filed/{case_id}").status_code == 404
    assert db.session.get(Case, case_id).reference not in client.get("/reports").get_data(
        as_text=True
    )


def test_admin_cannot_open_a_case(db, client, make_user, file_report, login_as):
    leader, admin = make_user("reporter"), make_user("admin")
    case_id = file_report(leader, immediate_danger="yes")
    login_as(admin)
    for url in (f"/cases/{case_id}", f"/reports/{case_id}", "/cases/", "/stats/"):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/cases/{case_id}/notes", data={"text": "x"})
    assert response.status_code == 404
    assert client.get("/admin/users").status_code == 200


def test_police_of_another_ward_gets_404(db, client, make_ward, make_user, file_report, login_as):
    leader = make_user("reporter")
    elsewhere = make_ward(code="XB")
    police_elsewhere = make_user("police", in_ward=elsewhere)
    case_id = file_report(leader, immediate_danger="yes")
    login_as(police_elsewhere)
    assert client.get(f"/cases/{case_id}").status_code == 404
    before = db.session.get(Case, case_id).status
    assert (
        client.post(
            f"/cases/{case_id}/status", data=status_change(case_id, "acknowledged")
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == before


def test_status_workflow_and_notes(db, client, make_user, file_report, login_as):
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    login_as(officer)

    # closed straight from new is not a move the workflow allows
    client.post(
        f"/cases/{case_id}/status", data=status_change(case_id, "closed", close_reason="resolved")
    )
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "new"

    for status in ("acknowledged", "in_progress"):
        client.post(f"/cases/{case_id}/status", data=status_change(case_id, status))
    # closing without a reason is refused with a message
    response = client.post(
        f"/cases/{case_id}/status", data=status_change(case_id, "closed"), follow_redirects=True
    )
    assert (
        "closing" in response.get_data(as_text=True).lower()
        or "đóng" in response.get_data(as_text=True).lower()
    )
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "in_progress"
    client.post(
        f"/cases/{case_id}/status", data=status_change(case_id, "closed", close_reason="resolved")
    )
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert (case.status, case.close_reason) == ("closed", "resolved")

    # an empty note is refused and the page keeps the form; a real note is stored sealed
    assert client.post(f"/cases/{case_id}/notes", data={"text": "   "}).status_code == 400
    client.post(f"/cases/{case_id}/notes", data={"text": "Đã gặp nạn nhân tại nhà."})
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Đã gặp nạn nhân tại nhà." in page
    db.session.expire_all()
    note = db.session.get(Case, case_id).notes[0]
    assert "Đã gặp".encode() not in note.body


def test_leader_sees_his_reports_and_their_status(db, client, make_user, file_report):
    leader = make_user("reporter")
    case_id = file_report(leader, victim_name="Hà Thị Mai")
    listing = client.get("/reports").get_data(as_text=True)
    assert db.session.get(Case, case_id).reference in listing
    own = client.get(f"/reports/{case_id}").get_data(as_text=True)
    assert "Hà Thị Mai" in own


def test_reports_filed_at_the_same_moment_are_all_kept(app, db, ward, make_user):
    """Eight leaders press "send" at once: eight cases, numbered 1 to 8, no report lost."""
    import threading

    from conftest import PASSWORD, report_form

    leaders = [make_user("reporter") for _ in range(8)]
    clients = []
    for leader in leaders:
        web = app.test_client()
        assert (
            web.post("/login", data={"username": leader.username, "password": PASSWORD}).status_code
            == 302
        )
        clients.append((web, report_form(leader.groups[0].id, immediate_danger="yes")))
    start = threading.Barrier(len(clients))
    statuses = []

    def send(web, form):
        start.wait()
        statuses.append(post_report(web, form).status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [302] * 8
    db.session.expire_all()
    sequences = sorted(db.session.scalars(select(Case.sequence)).all())
    assert sequences == list(range(1, 9))


def test_the_desks_notes_are_never_shown_or_opened_for_the_leader(
    db, client, make_user, file_report, login_as
):
    from incidents.cases.keys import MemberKeyring
    from incidents.cases.service import read_case

    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    login_as(officer)
    client.post(f"/cases/{case_id}/notes", data={"text": "Nơi tạm lánh: nhà chị Hoa, Bản 3"})
    login_as(leader)
    assert "Nơi tạm lánh" not in client.get(f"/reports/{case_id}").get_data(as_text=True)
    from conftest import PASSWORD

    from incidents.accounts.service import unlock_personal_key

    keyring = MemberKeyring(leader, unlock_personal_key(leader, PASSWORD))
    assert read_case(leader, db.session.get(Case, case_id), keyring).notes == []
