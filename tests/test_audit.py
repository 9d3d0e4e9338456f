"""Audit, first cut: the scripted actions write the expected entries and no content."""

from conftest import PASSWORD, post_report, report_form, status_change
from sqlalchemy import select

from incidents.audit.models import AuditEntry
from incidents.audit.service import escape_control


def _entries(db):
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_a_scripted_scenario_writes_exactly_the_expected_entries(db, client, make_user, login_as):
    leader, officer = make_user("reporter"), make_user("officer")
    start = len(_entries(db))  # account creation is audited too

    client.post("/login", data={"username": "nobody", "password": "wrong password!!"})
    client.post("/login", data={"username": leader.username, "password": "wrong password!!"})
    login_as(leader)
    secret = "Nguyễn Thị AUDIT-CANARY"
    response = post_report(
        client, report_form(leader.groups[0].id, victim_name=secret, narrative=secret)
    )
    case_id = response.headers["Location"].rsplit("/", 1)[-1]
    client.post("/logout")
    login_as(officer)
    client.get(f"/cases/{case_id}")
    client.post(f"/cases/{case_id}/status", data=status_change(case_id, "acknowledged"))
    client.post(f"/cases/{case_id}/notes", data={"text": secret})
    client.get("/stats/")

    entries = _entries(db)[start:]
    got = [(entry.action, entry.actor_id, entry.target) for entry in entries]
    assert got == [
        ("login.failure", None, None),
        ("login.failure", None, f"user:{leader.id}"),
        ("login.success", leader.id, f"user:{leader.id}"),
        ("case.file", leader.id, case_id),
        ("logout", leader.id, f"user:{leader.id}"),
        ("login.success", officer.id, f"user:{officer.id}"),
        ("case.read", officer.id, case_id),
        ("case.status", officer.id, case_id),
        ("case.note", officer.id, case_id),
        ("stats.view", officer.id, None),
    ]
    for entry in entries:
        assert entry.at is not None
        assert entry.client_address == "127.0.0.1"
        assert entry.actor_role in (None, "reporter", "officer")
        for value in (entry.target, entry.detail):
            assert value is None or ("AUDIT-CANARY" not in value and PASSWORD not in value)
    assert [entry.actor_role for entry in entries if entry.action == "case.note"] == ["officer"]


def test_control_characters_are_escaped():
    assert escape_control("a\nb\x1b[31m\x00") == "a\\x0ab\\x1b[31m\\x00"
    assert escape_control("Tổ dân phố số 1") == "Tổ dân phố số 1"


def test_a_refused_sign_in_form_is_audited_too(db, client, make_user):
    user = make_user("police")
    before = len(_entries(db))
    for data in (
        {"username": user.username, "password": ""},
        {"username": user.username, "password": "x" * 129},
        {"username": "pol\x00ice", "password": "whatever password"},
    ):
        response = client.post("/login", data=data)
        assert response.status_code == 200
        assert 'class="error"' in response.get_data(as_text=True)
    refused = _entries(db)[before:]
    assert [(entry.action, entry.detail) for entry in refused] == [
        ("login.failure", "form refused")
    ] * 3


def test_a_sign_in_refused_before_the_view_is_audited(app, db, tmp_path):
    from conftest import make_test_app

    csrf_app = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), WTF_CSRF_ENABLED=True
    )
    response = csrf_app.test_client().post(
        "/login", data={"username": "someone", "password": "no token sent"}
    )
    assert response.status_code == 400
    entries = _entries(db)
    assert [(entry.action, entry.detail) for entry in entries] == [("login.failure", "refused 400")]
    with csrf_app.app_context():
        from incidents.extensions import db as csrf_db

        csrf_db.engine.dispose()
