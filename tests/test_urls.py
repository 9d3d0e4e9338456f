"""Deny by default (every URL rule walked) and the role × endpoint matrix."""

import secrets

import pytest
from sqlalchemy import func, select

from incidents.audit.models import AuditEntry
from incidents.cases.models import Case
from incidents.security import PUBLIC_ENDPOINTS

# Values for URL arguments, by name: a new argument name makes the walk fail until added.
ARGUMENTS = {
    "case_id": secrets.token_hex(16),
    "code": "en",
    "filename": "style.css",
    "user_id": 1,
}


def _urls(app):
    for rule in app.url_map.iter_rules():
        missing = set(rule.arguments) - set(ARGUMENTS)
        assert not missing, f"{rule.rule}: no test value for {missing}"
        values = {name: ARGUMENTS[name] for name in rule.arguments}
        yield rule, app.url_map.bind("localhost").build(rule.endpoint, values)


def test_the_public_allowlist_is_short_and_known():
    assert PUBLIC_ENDPOINTS == {"accounts.login", "accounts.set_language", "static"}


def _row_counts(db):
    return tuple(
        db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    )


def test_every_non_public_rule_sends_anonymous_visitors_to_sign_in(app, db, client):
    checked = 0
    before = _row_counts(db)
    for rule, url in _urls(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in ("GET", "POST"):
            response = client.open(url, method=method)
            if method not in rule.methods:
                assert response.status_code in (302, 405), (method, url)
                continue
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/login"), (method, url)
            checked += 1
    assert checked >= 10  # the walk really visited the application's routes
    assert _row_counts(db) == before  # and nothing anonymous changed anything


@pytest.fixture()
def people(db, make_user, file_report):
    users = {
        role: make_user(role) for role in ("reporter", "police", "officer", "chairman", "admin")
    }
    serious = file_report(users["reporter"], immediate_danger="yes")
    return users, serious


# GET path -> the roles that get 200; every other role gets 404.
MATRIX = {
    "/report/new": {"reporter"},
    "/reports": {"reporter"},
    "/cases/": {"police", "officer", "chairman"},
    "/stats/": {"officer", "chairman"},
    "/admin/users": {"admin"},
    "/admin/users/new": {"admin"},
    "/cases/{case}": {"police", "officer", "chairman"},
    "/reports/{case}": {"reporter"},
    "/report/filed/{case}": {"reporter"},  # the leader's confirmation of his own report
    "/desks/": {"police", "officer", "chairman"},
    "/account": {"reporter", "police", "officer", "chairman", "admin"},
    "/admin/users/{user}/reset": {"admin"},
    "/audit/": {"officer", "chairman"},
    "/audit/export.csv": {"officer", "chairman"},
}


@pytest.mark.parametrize("role", ["reporter", "police", "officer", "chairman", "admin"])
def test_role_endpoint_matrix(db, client, login_as, people, role):
    users, case_id = people
    login_as(users[role])
    for path, allowed in MATRIX.items():
        url = path.format(case=case_id, user=users["reporter"].id)
        status = client.get(url).status_code
        if role == "reporter" and url == f"/cases/{case_id}":
            assert status == 302  # his own case opens in "my reports"
            continue
        assert status == (200 if role in allowed else 404), (role, url, status)
    assert client.get("/").status_code == 302


def test_posts_by_the_wrong_role_change_nothing(db, client, login_as, people):
    users, case_id = people
    for role in ("admin", "reporter"):
        login_as(users[role])
        assert (
            client.post(f"/cases/{case_id}/status", data={"status": "acknowledged"}).status_code
            == 404
        )
        assert client.post(f"/cases/{case_id}/notes", data={"text": "x"}).status_code == 404
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.status == "new" and case.notes == []
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "case.status" not in actions and "case.note" not in actions


@pytest.mark.parametrize("case_id", ["a%00b", "%00" * 16, "A" * 32, "0" * 31, "g" * 32, "0" * 33])
def test_malformed_case_ids_are_404(db, client, make_user, login_as, case_id):
    login_as(make_user("officer"))
    assert client.get(f"/cases/{case_id}").status_code == 404
