"""Shared fixtures: one app per database backend, per-test cleanup, factories, sign-in.

The suite runs on a real SQLite file, and also on PostgreSQL when TEST_DATABASE_URL names
one (postgresql+psycopg://...) or this machine runs one (tests/local_services.py). With
CI=true PostgreSQL is required, not skipped.
"""

import base64
import logging
import os
import re
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import count

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, event, update

from config import TestingConfig
from incidents import create_app
from incidents.access import STAFF_ROLES
from incidents.accounts import factors
from incidents.accounts.models import User
from incidents.accounts.service import create_user, unlock_personal_key
from incidents.audit.chain import GENESIS
from incidents.audit.models import AuditHead
from incidents.crypto.keys import key_fingerprint
from incidents.crypto.totp import code_at, new_secret, step_at
from incidents.extensions import db as _db
from incidents.wards.models import DESK_KINDS
from incidents.wards.service import add_group, create_ward, seat_by_recovery
from incidents.wards.trust import pins_file
from incidents.web import argon2_params
from tests.local_services import LocalServices

PASSWORD = "correct horse battery staple"
# The sealed fields that must hold a year (a canary there is a field error, not a value).
YEAR_FIELDS = frozenset({"victim_birth_year", "perpetrator_birth_year"})
BACKENDS = ["sqlite", "postgresql"]


_SERVICES = LocalServices()


def pytest_sessionstart(session):
    """Use this machine's PostgreSQL and Redis when they answer (tests/local_services.py)."""
    _SERVICES.open()


def pytest_sessionfinish(session, exitstatus):
    _SERVICES.close()


def pytest_terminal_summary(terminalreporter):
    """Say which database and Redis the suite ran on, or why it skipped them."""
    for note in _SERVICES.notes:
        terminalreporter.write_line(note)


def _database_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires TEST_DATABASE_URL (PostgreSQL)")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return url


def _reset_schema(app) -> None:
    """Start from an empty database, then build the schema with the migrations."""
    with app.app_context():
        # Whatever an earlier schema left (tables the models no longer have included).
        leftovers = MetaData()
        leftovers.reflect(_db.engine)
        leftovers.drop_all(_db.engine)
        upgrade()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production.

    Tests hold an app context for their own queries; without this, every request of a
    test would share it, and with it flask.g and the database session. A redirect followed
    is a request of its own too, made once the one before has ended (as a browser does):
    on SQLite a request holds the write lock until its context ends.
    """

    def run_wsgi_app(self, environ, buffered=False):
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=buffered)


# One pins file for every app of the run: a test that builds a second app on the same
# database (CSRF on, logs kept) must trust the wards the first one made. The db fixture
# empties it with the tables.
PINS_FILE = os.path.join(tempfile.mkdtemp(prefix="incidents-pins-"), "recovery_key_pins")


def make_test_app(database_url: str, instance_path: str, **overrides):
    """A TestingConfig app on the given database and instance folder."""

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        ENVIRONMENT_KEYS = {}
        RECOVERY_KEY_PINS_FILE = PINS_FILE

    for key, value in overrides.items():
        setattr(Config, key, value)
    application = create_app(Config, instance_path=instance_path)
    application.test_client_class = FreshContextClient
    return application


def close_app(application, handlers_before) -> None:
    """Dispose a made app's engine and close the log handlers create_app() added to it."""
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()
    for handler in set(logging.getLogger(application.name).handlers) - handlers_before:
        application.logger.removeHandler(handler)
        handler.close()


@pytest.fixture()
def csrf_app(app, db, tmp_path):
    """The test app with CSRF protection on, on the same database."""
    handlers_before = set(logging.getLogger(app.name).handlers)
    guarded = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        str(tmp_path / "csrf-instance"),
        WTF_CSRF_ENABLED=True,
    )
    yield guarded
    close_app(guarded, handlers_before)


@contextmanager
def audit_triggers_suspended(connection):
    """Let a test empty (or tamper with) the append-only audit table, then restore it."""
    if connection.dialect.name == "sqlite":
        triggers = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name IN ('audit_entries', 'audit_head')"
        ).all()
        for name, _sql in triggers:
            connection.exec_driver_sql(f"DROP TRIGGER {name}")
        yield
        for _name, sql in triggers:
            connection.exec_driver_sql(sql)
    else:
        connection.exec_driver_sql("SET session_replication_role = replica")
        yield
        connection.exec_driver_sql("SET session_replication_role = origin")


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    """The application on one backend, its schema built by the migrations."""
    url = _database_url(request.param, tmp_path_factory)
    application = make_test_app(url, str(tmp_path_factory.mktemp("instance")))
    _reset_schema(application)
    yield application
    with application.app_context():
        _db.engine.dispose()  # close pooled connections before the interpreter does


@pytest.fixture()
def db(app):
    """The database inside an app context; every table is emptied after the test."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        pins_file().unlink(missing_ok=True)  # the pins of the wards just emptied
        with _db.engine.begin() as connection:
            with audit_triggers_suspended(connection):
                for table in reversed(_db.metadata.sorted_tables):
                    connection.execute(table.delete())
            connection.execute(AuditHead.__table__.insert().values(id=1, seq=0, hash=GENESIS))


@pytest.fixture()
def client(app, db):
    """A test client (cookies kept between requests)."""
    return app.test_client()


_numbers = count(1)


@pytest.fixture()
def recovery_keys():
    """The recovery seed of each ward a test made, by ward id (shown once, kept here)."""
    return {}


@pytest.fixture()
def make_ward(db, recovery_keys):
    """Factory: a ward with residential groups and its three desks."""

    def factory(code=None, groups=("Tổ dân phố số 1", "Bản 1", "Bản 2")):
        ward, recovery_seed = create_ward(
            None, code=code or f"W{next(_numbers)}", name="Phường Thử Nghiệm"
        )
        for name in groups:
            add_group(None, ward, name=name)
        _db.session.commit()
        recovery_keys[ward.id] = recovery_seed
        return ward

    return factory


@pytest.fixture()
def ward(make_ward):
    """The default ward of a test."""
    return make_ward(code="QT")


# The authenticator secret of each enrolled staff account the current test made, by id.
TOTP_SECRETS: dict[int, bytes] = {}


@pytest.fixture()
def totp_secrets():
    """TOTP_SECRETS, emptied for each test."""
    TOTP_SECRETS.clear()
    yield TOTP_SECRETS
    TOTP_SECRETS.clear()


def login_data(user, password=PASSWORD, **extra) -> dict:
    """The sign-in form of a test account: its password and, for enrolled staff, a code.

    A test signs the same member in many times within one 30-second step, which the
    replay rule would refuse: the account's last used step is forgotten first. The
    replay rule itself is tested without this (tests/test_second_factor.py).
    """
    form = {"username": user.username, "password": password, **extra}
    if user.id in TOTP_SECRETS:
        _db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
        _db.session.commit()
        form["code"] = code_at(TOTP_SECRETS[user.id], step_at(time.time()))
    return form


_CSRF_FIELD = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+(")')


def without_csrf_token(page: str) -> str:
    """The page with its CSRF token blanked: the token carries the second it was signed in,
    so two answers a second apart differ there by design and tell nothing about the account."""
    return _CSRF_FIELD.sub(r"\1TOKEN\2", page)


@contextmanager
def counted_statements(engine):
    """Count the SQL statements sent to the database inside the block."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


_SECRET_ON_PAGE = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')


def enrol_on_page(web, user) -> bytes:
    """Set up an authenticator app as its owner does, on the enrolment page; its secret."""
    page = web.get("/account/second-factor").get_data(as_text=True)
    text = _SECRET_ON_PAGE.search(page).group(1).replace(" ", "")
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    code = code_at(secret, step_at(time.time()))
    response = web.post("/account/second-factor", data={"code": code})
    assert response.status_code == 200 and 'class="codes"' in response.get_data(as_text=True)
    TOTP_SECRETS[user.id] = secret
    return secret


_ACTIVATION_CODE = re.compile(r'<p class="codes"><strong>([A-Z2-7-]+)</strong>')


def activation_code_on(response) -> str:
    """The one-time activation code the administrator's page shows."""
    return _ACTIVATION_CODE.search(response.get_data(as_text=True)).group(1)


def code_from_desks(web, user) -> str:
    """The activation code the seated officer or chairman signed in on web issues for
    user on the desks page (once one sits there, the administrator sees none)."""
    response = web.post("/desks/activation", data={"user_id": user.id})
    assert response.status_code == 200, response.get_data(as_text=True)[-1500:]
    return activation_code_on(response)


@pytest.fixture()
def totp_code(totp_secrets):
    """The code a staff member's authenticator app shows now (or steps from now)."""

    def code(user, steps=0):
        return code_at(totp_secrets[user.id], step_at(time.time()) + steps)

    return code


@pytest.fixture()
def make_user(db, ward, recovery_keys, totp_secrets):
    """Factory: an account of one role (reporters lead the given groups, default the first).

    Staff accounts have an authenticator app unless enrolled=False; a partner is seated
    at the partner desk partner_desk (the health station unless told).
    """

    def factory(
        role,
        *,
        in_ward=None,
        groups=None,
        username=None,
        seated=True,
        enrolled=True,
        partner_desk="health_station",
    ):
        home = in_ward or ward
        if role == "reporter" and groups is None:
            groups = [home.groups[0]]
        user = create_user(
            None,
            ward=home,
            username=username or f"{role}{next(_numbers)}",
            display_name=f"Test {role}",
            role=role,
            password=PASSWORD,
            params=argon2_params(),
            groups=groups or [],
            chosen_by_owner=True,
        )
        if seated and (role in DESK_KINDS or role == "partner"):
            desk = home.desk(role if role in DESK_KINDS else partner_desk)
            seat_by_recovery(
                None,
                desk,
                user,
                recovery_keys[home.id],
                checked_code=key_fingerprint(user.public_key),
            )
        if enrolled and role in STAFF_ROLES:
            secret, now = new_secret(), time.time()
            seed = unlock_personal_key(user, PASSWORD)
            assert factors.enrol(user, seed, secret, code_at(secret, step_at(now)), now)
            totp_secrets[user.id] = secret
        _db.session.commit()
        return user

    return factory


@pytest.fixture()
def login_as(client, totp_secrets):
    """Sign a user in on the shared client (signing out whoever was signed in)."""

    def sign_in(user, on=None):
        web = on or client
        web.post("/logout")
        response = web.post("/login", data=login_data(user))
        assert response.status_code == 302, "sign-in failed"
        return web

    return sign_in


_SUBMISSION_TOKEN = re.compile(r'name="submission_token" type="hidden" value="([^"]+)"')


def submission_token(web) -> str:
    """A fresh one-time token, from the report form page as the leader's browser gets it."""
    match = _SUBMISSION_TOKEN.search(web.get("/report/new").get_data(as_text=True))
    assert match, "the report form carries no submission token"
    return match.group(1)


def post_report(web, data: dict, **kwargs):
    """Send a report as the leader's browser does, with a fresh token unless data has one."""
    if "submission_token" not in data:
        data = {**data, "submission_token": submission_token(web)}
    return web.post("/report/new", data=data, **kwargs)


def report_form(group_id: int, **changes) -> dict:
    """A complete, valid report as a group leader's form posts it; changes override fields.

    Insults and threats to an adult who agrees to sharing: a report the officer and the
    chairman get, and not the police (cases.routing).
    """
    form = {
        "group_id": str(group_id),
        "kinds": ["domestic_violence"],
        "harm_forms": ["psychological"],
        "immediate_danger": "no",
        "incident_date": (date.today() - timedelta(days=2)).isoformat(),
        "narrative": "Người chồng chửi mắng, đe dọa vợ nhiều lần.",
        "victim_sex": "female",
        "victim_age_band": "26_40",
        "source": "victim",
        "consent": "agreed",
        "victim_name": "Nguyễn Thị A",
        "victim_birth_year": "1990",
        "victim_address": "",
        "victim_phone": "",
        "perpetrator_name": "",
        "perpetrator_relationship": "husband",
        "perpetrator_sex": "male",
        "perpetrator_age_band": "26_40",
        "perpetrator_details": "",
        "channel": "in_person",
        "witnesses": "",
        "reporter_contact": "",
    }
    form.update(changes)
    return form


def report_data(group_id: int, **changes):
    """A complete, valid ReportData for the service (what report_form() posts)."""
    from incidents.cases.service import ReportData

    values = dict(
        group_id=group_id,
        kinds=["domestic_violence"],
        harm_forms=["psychological"],
        immediate_danger=False,
        victim_sex="female",
        victim_age_band="26_40",
        victim_circumstances=[],
        perpetrator_relationship="husband",
        perpetrator_sex="male",
        perpetrator_age_band="26_40",
        channel="phone",
        source="victim",
        consent="agreed",
        incident_date=date.today() - timedelta(days=2),
        sealed={"victim_name": "Nguyễn Thị A"},
    )
    values.update(changes)
    return ReportData(**values)


@pytest.fixture()
def file_report(client, login_as):
    """Sign the leader in and file a report over HTTP; returns the new case id."""
    from incidents.cases.models import Case

    def filing(leader, **changes):
        login_as(leader)
        response = post_report(client, report_form(leader.groups[0].id, **changes))
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        case_id = response.headers["Location"].rsplit("/", 1)[-1]
        assert _db.session.get(Case, case_id) is not None
        return case_id

    return filing


def status_change(case_id: str, status: str, **fields) -> dict:
    """A status change as the case page sends it: the version of the case as it is now,
    and a reason (every step but acknowledging needs one)."""
    from sqlalchemy import select

    from incidents.cases.models import Case

    version = _db.session.scalar(select(Case.version).where(Case.id == case_id))
    return {"status": status, "version": str(version), "why": f"to {status}", **fields}
