"""The Alembic migrations build, match and tear down the schema on both backends.

Each test gets an empty database of its own: a fresh SQLite file, or a scratch PostgreSQL
database created on TEST_DATABASE_URL's server (and dropped afterwards), so the suite's own
database is never touched.
"""

import json
import logging
import os
import secrets
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import BACKENDS, _database_url, close_app, make_test_app
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

import incidents.accounts.models
import incidents.audit.models
import incidents.cases.models
import incidents.notices.models
import incidents.wards.models  # noqa: F401  (every model registers its table)
from incidents import vocab
from incidents.crypto.keys import key_fingerprint
from incidents.extensions import db
from incidents.wards.models import Ward
from incidents.wards.service import create_ward, seat_by_recovery
from incidents.wards.trust import KeyMismatch, certify_ward, pins_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The core tables; the models may add more, never fewer. (End-to-end keys folded the
# Foundation's case_keys into case_routes: a route now carries the case key sealed to its desk.)
CORE_TABLES = {
    "wards",
    "residential_groups",
    "users",
    "leader_groups",
    "audit_entries",
    "cases",
    "case_routes",
    "case_events",
    "case_notes",
}


def model_tables() -> set[str]:
    tables = set(db.metadata.tables)
    assert tables >= CORE_TABLES, "the models lost a table"
    return tables


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def head_revision() -> str:
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, db.metadata)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path, tmp_path_factory):
    """The URL of an empty database on one backend, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server = make_url(_database_url("postgresql", tmp_path_factory))
    name = f"incidents_migr_{secrets.token_hex(6)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture()
def migration_app(empty_database_url, tmp_path):
    """An app on the empty database, inside its app context; no schema built yet."""
    handlers_before = set(logging.getLogger("incidents").handlers)
    # Its own pins: another database's wards are not this one's.
    pins = str(tmp_path / "recovery_key_pins")
    application = make_test_app(
        empty_database_url, str(tmp_path / "instance"), RECOVERY_KEY_PINS_FILE=pins
    )
    with application.app_context():
        yield application
        db.session.remove()
    close_app(application, handlers_before)


def test_upgrade_builds_every_table_and_downgrade_removes_them(migration_app):
    assert table_names() == set(), "the database was not empty"

    upgrade()
    assert table_names() == model_tables() | {"alembic_version"}
    with db.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == [head_revision()]

    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    if "alembic_version" in table_names():
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert rows == []


def test_migrated_schema_matches_the_models(migration_app):
    upgrade()
    assert schema_differences() == []


def test_upgrade_downgrade_upgrade(migration_app):
    upgrade()
    create_ward(None, code="QT", name="Phường Quyết Thắng")
    db.session.commit()
    db.session.remove()

    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    # A new database whose ward takes the same code with a new key: the server's old pin
    # refuses it until its operator removes it.
    with pytest.raises(KeyMismatch):
        upgrade()
        create_ward(None, code="QT", name="Phường Quyết Thắng")
    db.session.rollback()
    downgrade(revision="base")
    pins_file().unlink()

    upgrade()
    assert table_names() == model_tables() | {"alembic_version"}
    assert schema_differences() == []
    # The rebuilt schema is empty and usable.
    assert db.session.scalars(select(Ward)).all() == []
    create_ward(None, code="QT", name="Phường Quyết Thắng")
    db.session.commit()
    assert db.session.scalars(select(Ward.code)).all() == ["QT"]


def test_flask_db_upgrade_command_builds_the_schema(tmp_path):
    database = tmp_path / "x.sqlite3"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FLASK_") and key not in ("REDIS_URL", "INCIDENTS_PASSWORD")
    }
    environment.update(INCIDENTS_ENV="development", DATABASE_URL=f"sqlite:///{database}")
    flask = Path(sys.executable).parent / "flask"

    completed = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [str(flask), "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        connection.close()
    tables = {name for (name,) in rows}
    assert tables == model_tables() | {"alembic_version"}
    assert len(versions) == 1


def test_foundation_cases_are_resealed_and_the_server_key_dropped(
    migration_app, monkeypatch, capsys
):
    """0003 re-keys each Foundation case, seals it to its desks; members make their keys."""
    import base64
    import os as _os
    import re

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from incidents.accounts.models import User
    from incidents.accounts.service import choose_own_password, unlock_personal_key
    from incidents.cases.keys import MemberKeyring
    from incidents.cases.models import Case
    from incidents.crypto import DecryptionError
    from incidents.crypto.fields import new_data_key, open_text, seal_text
    from incidents.crypto.keys import parse_recovery_key
    from incidents.crypto.passwords import hash_password
    from incidents.web import argon2_params

    upgrade(revision="0002")
    server_key, data_key = _os.urandom(32), new_data_key()
    nonce = _os.urandom(12)
    case_id = "ab" * 16
    wrapped = (
        b"\x01"
        + nonce
        + AESGCM(server_key).encrypt(
            nonce, data_key, f"incidents/case-key/server-aesgcm-v1|{case_id}|1".encode()
        )
    )
    name = seal_text(data_key, "Lò Thị Foundation", case_id, "victim_name", 1)
    password = hash_password("foundation password", argon2_params())
    with db.engine.begin() as connection:
        run = connection.exec_driver_sql
        run("INSERT INTO wards (id, code, name, created_at) VALUES (1, 'QT', 'P', '2026-01-01')")
        run(
            "INSERT INTO residential_groups (id, ward_id, name, kind) VALUES (1, 1, 'Bản 1', 'ban')"
        )
        for user_id, username, role in ((1, "leader", "reporter"), (2, "congan", "police")):
            run(
                "INSERT INTO users (id, username, display_name, role, ward_id, password_hash, "
                "active, created_at) VALUES (?, ?, ?, ?, 1, ?, ?, '2026-01-01')"
                if db.engine.dialect.name == "sqlite"
                else "INSERT INTO users (id, username, display_name, role, ward_id, "
                "password_hash, active, created_at) VALUES (%s, %s, %s, %s, 1, %s, %s, "
                "'2026-01-01')",
                (user_id, username, username, role, password, True),
            )
        marks = "?" if db.engine.dialect.name == "sqlite" else "%s"
        run(
            "INSERT INTO cases (id, ward_id, group_id, reporter_id, year, sequence, reference, "
            "kinds, harm_forms, acts, gbv_type, context_flags, immediate_danger, urgency, "
            "status, victim_sex, victim_age_band, victim_circumstances, "
            "perpetrator_relationship, perpetrator_sex, perpetrator_age_band, channel, "
            "source, consent_referral, consent_statistics, incident_date, received_at, "
            f"routing_reason, key_version, victim_name) VALUES ({marks}, 1, 1, 1, 2026, 1, "
            "'QT-2026-0001', '[]', '[]', '[]', 'rape', '[]', false, 'high', 'new', 'female', "
            "'18_59', '[]', 'spouse', 'male', '26_40', 'phone', 'victim', true, true, "
            f"'2026-01-01', '2026-01-02 03:04:05.000000', 'serious', 1, {marks})",
            (case_id, name),
        )
        for desk in ("police", "officer", "chairman"):
            run(
                "INSERT INTO case_routes (case_id, desk, routed_at) "
                f"VALUES ({marks}, {marks}, '2026-01-02 03:04:05.000000')",
                (case_id, desk),
            )
        run(
            "INSERT INTO case_keys (case_id, holder, key_version, scheme, wrapped) "
            f"VALUES ({marks}, 'server', 1, 'server-aesgcm-v1', {marks})",
            (case_id, wrapped),
        )
    monkeypatch.setenv("SERVER_KEY", base64.b64encode(server_key).decode())
    capsys.readouterr()
    upgrade()
    printed = capsys.readouterr().out
    recovery_text = re.search(r"RECOVERY KEY of ward QT \(shown once\): (\S+)", printed).group(1)
    recovery = parse_recovery_key(recovery_text)

    assert "case_keys" not in table_names()  # the server-wrapped keys are gone
    police = db.session.get(User, 2)
    assert police.needs_own_password and police.public_key is None  # he makes his own key
    # The documented step after the upgrade: the recovery key pins the ward and signs its
    # desks; nothing is sealed to the ward's keys before.
    with pytest.raises(KeyMismatch):
        choose_own_password(police, "his very own password", argon2_params())
    db.session.rollback()
    police = db.session.get(User, police.id)
    certify_ward(police.ward, recovery)
    choose_own_password(police, "his very own password", argon2_params())
    desk = police.ward.desk("police")
    seat_by_recovery(None, desk, police, recovery, checked_code=key_fingerprint(police.public_key))
    db.session.commit()
    case = db.session.get(Case, case_id)
    keyring = MemberKeyring(police, unlock_personal_key(police, "his very own password"))
    new_key = keyring.case_key(case)
    assert new_key != data_key and case.key_version == 2  # re-keyed, not just re-sealed
    assert open_text(new_key, case.victim_name, case_id, "victim_name", 2) == "Lò Thị Foundation"
    with pytest.raises(DecryptionError):  # the old key opens nothing any more
        open_text(data_key, case.victim_name, case_id, "victim_name", 1)
    assert "destroy every copy" in printed
    assert {route.desk.kind for route in case.routes} == {"police", "officer", "chairman"}


def test_0012_gives_every_ward_its_partner_desks_sealed_to_its_recovery_key(migration_app):
    """0012: existing wards get the four partner desks, each opened by the recovery key."""
    from sqlalchemy import MetaData, Table

    from incidents.crypto.keys import new_seed, public_key
    from incidents.wards.models import PARTNER_KINDS
    from incidents.wards.service import desk_seed_by_recovery

    upgrade(revision="0011")  # the revision before the partner desks
    recovery = new_seed()
    with db.engine.begin() as connection:
        wards = Table("wards", MetaData(), autoload_with=connection)
        connection.execute(
            wards.insert().values(
                id=1,
                code="QT",
                name="Phường Quyết Thắng",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                recovery_public_key=public_key(recovery),
            )
        )
    upgrade(revision="0012")
    upgrade()  # the models are the head's; 0019 then asks for 'ward certify'
    ward = db.session.get(Ward, 1)
    assert sorted(desk.kind for desk in ward.desks) == sorted(PARTNER_KINDS)
    certify_ward(ward, recovery)
    seeds = {desk.kind: desk_seed_by_recovery(desk, recovery) for desk in ward.desks}
    assert all(public_key(seeds[desk.kind]) == desk.public_key for desk in ward.desks)
    assert len(set(seeds.values())) == len(PARTNER_KINDS)  # a key pair of its own each
    db.session.rollback()
    db.session.remove()

    downgrade(revision="0011")
    assert "referrals" not in table_names() and "referral_answers" not in table_names()
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM desks")).scalar() == 0


def _inserter(connection):
    """insert(table, **row) into the tables as the database has them at this revision."""
    from sqlalchemy import MetaData

    tables = MetaData()
    tables.reflect(connection)
    return lambda table, **row: connection.execute(tables.tables[table].insert().values(**row))


def _ward_and_users(insert, at, users: dict) -> None:
    """Ward 1 with group 1, and the users {id: {column: value}} (role, public key...)."""
    insert("wards", id=1, code="QT", name="P", created_at=at, recovery_public_key=b"k")
    insert("residential_groups", id=1, ward_id=1, name="Bản 1", kind="ban")
    for user_id, columns in users.items():
        insert(
            "users", id=user_id, username=f"u{user_id}", display_name="U", ward_id=1,
            password_hash="!", active=True, created_at=at, **columns,
        )  # fmt: skip


def _case_row(name: str, sequence: int, received, **columns) -> dict:
    """A case of ward 1 as the 0006 schema holds it (columns override the defaults)."""
    return {
        "id": name.ljust(32, "0"), "ward_id": 1, "group_id": 1, "reporter_id": 1,
        "year": 2026, "sequence": sequence, "reference": f"QT-2026-{sequence:04d}",
        "kinds": ["domestic_violence"], "harm_forms": [], "acts": [], "gbv_type": "non_gbv",
        "context_flags": [], "immediate_danger": False, "urgency": "normal", "status": "new",
        "victim_sex": "female", "victim_age_band": "18_59", "victim_circumstances": [],
        "trafficking_indicators": [], "perpetrator_relationship": "spouse",
        "perpetrator_sex": "male", "perpetrator_age_band": "26_40", "channel": "phone",
        "source": "victim", "consent_referral": True, "consent_statistics": True,
        "incident_date": received.date(), "received_at": received, "routing_reason": "serious",
        "key_version": 1, **columns,
    }  # fmt: skip


def test_0007_starts_the_clocks_of_open_cases_and_meets_the_chairmans_where_he_acted(
    migration_app,
):
    """0007: open cases get the clocks their facts start, from when they were received."""
    from datetime import timedelta

    upgrade(revision="0006")
    received = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in the ward
    with db.engine.begin() as connection:
        insert = _inserter(connection)
        _ward_and_users(insert, received, {1: {"role": "reporter"}, 2: {"role": "chairman"}})
        facts = {
            "adult": (["domestic_violence"], "18_59", None, "new"),
            "acted": (["domestic_violence"], "18_59", None, "acknowledged"),
            "child": (["trafficking", "child_abuse"], "under_16", True, "in_progress"),
            "closed": (["trafficking"], "18_59", None, "closed"),
        }
        for sequence, (name, (kinds, band, risk, status)) in enumerate(facts.items(), 1):
            insert(
                "cases",
                **_case_row(
                    name, sequence, received, kinds=kinds, victim_age_band=band,
                    child_serious_risk=risk, status=status,
                ),
            )  # fmt: skip
        insert(
            "case_events", case_id="acted".ljust(32, "0"), actor_id=2, kind="status",
            detail={"from": "new", "to": "acknowledged"}, at=received + timedelta(minutes=20),
        )  # fmt: skip
    upgrade(revision="0007")
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT case_id, kind, started_at, due_at, met_at FROM case_deadlines")
        ).all()

    def moment(value):
        if isinstance(value, str):  # SQLite hands back text
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    clocks = {
        (case_id.rstrip("0"), kind): (moment(due) - received, met and moment(met) - received)
        for case_id, kind, started, due, met in rows
    }
    assert clocks == {
        ("adult", "chairman_informed"): (timedelta(hours=1), None),
        ("acted", "chairman_informed"): (timedelta(hours=1), timedelta(minutes=20)),
        ("child", "chairman_informed"): (timedelta(hours=1), None),
        ("child", "child_emergency"): (timedelta(hours=12), None),
        ("child", "child_plan"): (timedelta(days=7), None),  # Monday + 5 working days
        ("child", "trafficking_verification"): (timedelta(days=3), None),
    }
    downgrade(revision="0006")
    assert "case_deadlines" not in table_names()


def test_0014_gives_a_waiting_first_password_a_lifetime_and_leaves_the_rest(migration_app):
    """0014: an account still waiting with a password someone else typed gets 72 hours."""
    upgrade(revision="0013")
    made = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    code_expires = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    accounts = {  # username: (needs own password, password hash, activation expiry)
        "given": (True, "$argon2id$given", None),
        "coded": (True, "$argon2id$code", code_expires),
        "nothing": (True, "!", None),
        "own": (False, "$argon2id$own", None),
    }
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO wards (id, code, name, created_at, recovery_public_key) "
                "VALUES (1, 'QT', 'P', :at, :key)"
            ),
            {"at": made, "key": b"k"},
        )
        for number, (name, (needs, hashed, expires)) in enumerate(accounts.items(), 1):
            connection.execute(
                text(
                    "INSERT INTO users (id, username, display_name, role, ward_id, password_hash,"
                    " active, created_at, needs_own_password, activation_expires_at) VALUES"
                    " (:id, :name, 'U', 'police', 1, :hashed, :yes, :at, :needs, :expires)"
                ),
                {"id": number, "name": name, "hashed": hashed, "yes": True, "at": made,
                 "needs": needs, "expires": expires},
            )  # fmt: skip
    before = datetime.now(UTC)
    upgrade(revision="0014")
    with db.engine.connect() as connection:
        rows = dict(
            connection.execute(text("SELECT username, activation_expires_at FROM users")).all()
        )

    def moment(value):
        if isinstance(value, str):  # SQLite hands back text
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    given = moment(rows["given"])
    assert before + timedelta(hours=72) <= given <= datetime.now(UTC) + timedelta(hours=72)
    assert moment(rows["coded"]) == code_expires  # an activation code keeps its own
    assert rows["nothing"] is None and rows["own"] is None


def test_0015_marks_each_reporter_copy_sealed_to_his_key_unless_a_reset_came_after(
    migration_app,
):
    """0015: a case filed before its reporter's key reset is sealed to a key he lost."""
    from incidents.audit.service import record

    upgrade(revision="0014")
    day = datetime.now(UTC) - timedelta(days=1)  # the reset comes now, through the audit
    with db.engine.begin() as connection:
        insert = _inserter(connection)
        keys = {1: b"new key of the reset one", 2: b"key of the other", 3: None}
        users = {user_id: {"role": "reporter", "public_key": key} for user_id, key in keys.items()}
        _ward_and_users(insert, day, users)
        filed = {  # case: (reporter, received)
            "before": (1, day),
            "after": (1, day + timedelta(days=2)),  # after the reset
            "other": (2, day),
            "keyless": (3, day),
        }
        for sequence, (name, (reporter, received)) in enumerate(filed.items(), 1):
            row = _case_row(name, sequence, received, reporter_id=reporter, version=1)
            insert("cases", **row, reporter_sealed_key=b"sealed")
    record("account.key_reset", actor=None, target="user:1", detail="seats:0", ward_id=1)
    db.session.commit()
    upgrade(revision="0015")
    with db.engine.connect() as connection:
        sealed_to = dict(connection.execute(text("SELECT id, reporter_sealed_to FROM cases")).all())
    assert {name.rstrip("0"): value for name, value in sealed_to.items()} == {
        "before": None,  # filed before the reset: sealed to the key he lost
        "after": b"new key of the reset one",
        "other": b"key of the other",
        "keyless": None,
    }


def test_0016_keeps_consent_as_said_and_a_crime_ground_as_signs_of_a_crime(migration_app):
    """0016: yes/no consent becomes agreed/refused, the "crime" ground signs of a crime,
    every earlier case was received by a group leader; and back again on downgrade."""
    upgrade(revision="0015")
    day = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    filed = {  # case: (consent to referral, legal ground)
        "agreed": (True, None),
        "crime": (False, "crime"),
        "danger": (False, "danger_to_life"),
    }
    with db.engine.begin() as connection:
        insert = _inserter(connection)
        _ward_and_users(insert, day, {1: {"role": "reporter"}})
        for sequence, (name, (consent, ground)) in enumerate(filed.items(), 1):
            row = _case_row(name, sequence, day, consent_referral=consent, version=1)
            insert("cases", **row, legal_ground=ground)
    upgrade(revision="0016")
    query = "SELECT id, consent, signs_of_crime, receiving_point FROM cases"
    with db.engine.connect() as connection:
        rows = {row[0].rstrip("0"): tuple(row[1:]) for row in connection.execute(text(query))}
    assert rows == {
        "agreed": ("agreed", False, "group_leader"),
        "crime": ("refused", True, "group_leader"),
        "danger": ("refused", False, "group_leader"),  # danger is immediate_danger's to say
    }
    with db.engine.begin() as connection:  # what only the new schema can hold
        connection.execute(
            text(
                "UPDATE cases SET consent = 'not_asked', gbv_type = NULL, channel = NULL, "
                "consent_statistics = NULL WHERE id LIKE 'agreed%'"
            )
        )
    downgrade(revision="0015")
    query = "SELECT id, consent_referral, legal_ground, gbv_type, channel, consent_statistics"
    with db.engine.connect() as connection:
        rows = {
            row[0].rstrip("0"): tuple(row[1:])
            for row in connection.execute(text(query + " FROM cases"))
        }
    assert rows == {
        "agreed": (False, None, "non_gbv", "in_person", False),
        "crime": (False, "crime", "non_gbv", "phone", True),
        "danger": (False, None, "non_gbv", "phone", True),
    }


def test_0017_gives_relationships_their_direction_where_it_can_and_keeps_the_rest(
    migration_app,
):
    """0017: every case pending verification, its reported facts kept; a spouse who is a
    man becomes the husband, a cohabiting partner the partner; what cannot be directed,
    nor banded finer, stays (to be verified); and back again on downgrade."""
    upgrade(revision="0016")
    day = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    filed = {  # case: (relationship, perpetrator sex, victim band, perpetrator band)
        "husband": ("spouse", "male", "18_59", "26_40"),
        "wife": ("spouse", "female", "60_plus", "0_11"),
        "unclear": ("spouse", "unknown", "under_16", "12_17"),
        "parent": ("parent_child", "male", "under_16", "61_plus"),
        "partner": ("cohabiting", "male", "16_17", "41_60"),
        "false": ("spouse", "male", "18_59", "26_40"),  # closed as unfounded
    }
    with db.engine.begin() as connection:
        insert = _inserter(connection)
        _ward_and_users(insert, day, {1: {"role": "reporter"}})
        for sequence, (name, (relation, sex, victim, perpetrator)) in enumerate(filed.items(), 1):
            row = _case_row(
                name,
                sequence,
                day,
                version=1,
                perpetrator_relationship=relation,
                perpetrator_sex=sex,
                victim_age_band=victim,
                perpetrator_age_band=perpetrator,
                immediate_danger=name == "wife",
            )
            if name == "false":
                row.update(status="closed", close_reason="unfounded")
            row.pop("consent_referral")
            insert(
                "cases",
                **row,
                consent="agreed",
                receiving_point="group_leader",
                signs_of_crime=False,
            )
    upgrade(revision="0017")
    query = (
        "SELECT id, verification, perpetrator_relationship, victim_age_band, "
        "perpetrator_age_band, reported FROM cases"
    )
    with db.engine.connect() as connection:
        rows = {row[0].rstrip("0"): tuple(row[1:]) for row in connection.execute(text(query))}
    assert {name: row[:4] for name, row in rows.items()} == {
        "husband": ("pending", "husband", "18_59", "26_40"),
        "wife": ("pending", "wife", "60_plus", "under_12"),
        "unclear": ("pending", "spouse", "under_16", "12_17"),
        "parent": ("pending", "parent_child", "under_16", "60_plus"),
        "partner": ("pending", "cohabiting_partner", "16_17", "41_60"),
        "false": ("unfounded", "husband", "18_59", "26_40"),  # the police's or chairman's
    }
    reported = {
        name: row[4] if isinstance(row[4], dict) else json.loads(row[4])
        for name, row in rows.items()
    }
    assert reported["husband"]["perpetrator_relationship"] == "spouse"  # as he gave it
    assert reported["husband"]["trafficking_purposes"] == []
    assert reported["husband"]["trafficking_status"] is None
    # Booleans stay booleans (SQLite hands back 0 and 1), so the facts compare and show.
    assert reported["wife"]["immediate_danger"] is True
    assert reported["husband"]["immediate_danger"] is False
    # Every code a reporter gave before still has its label to be read back with.
    for facts in reported.values():
        assert facts["perpetrator_relationship"] in dict(vocab.ALL_RELATIONSHIPS)
        assert facts["victim_age_band"] in dict(vocab.ALL_AGE_BANDS)
        assert facts["perpetrator_age_band"] in dict(vocab.ALL_AGE_BANDS)
    downgrade(revision="0016")
    query = "SELECT id, perpetrator_relationship, victim_age_band, perpetrator_age_band"
    with db.engine.connect() as connection:
        rows = {
            row[0].rstrip("0"): tuple(row[1:])
            for row in connection.execute(text(query + " FROM cases"))
        }
    assert rows == {
        "husband": ("spouse", "18_59", "26_40"),
        "wife": ("spouse", "60_plus", "0_11"),
        "unclear": ("spouse", "under_16", "12_17"),
        "parent": ("parent_child", "under_16", "61_plus"),
        "partner": ("cohabiting", "16_17", "41_60"),
        "false": ("spouse", "18_59", "26_40"),
    }


def test_0018_takes_the_periods_exported_before_as_publications_without_files(
    migration_app,
):
    """0018: every period the audit trail shows exported for publication (xlsx, csv, and
    the suppressed docx of then) is taken, once, from its first export; the statutory
    report's downloads and other entries are not publications."""
    from incidents.audit.service import record

    upgrade(revision="0017")
    day = datetime(2026, 5, 5, 2, 0, tzinfo=UTC)
    with db.engine.begin() as connection:
        _ward_and_users(_inserter(connection), day, {1: {"role": "officer"}})
    for detail in (
        "xlsx 2026-01-01..2026-03-31",
        "csv 2026-01-01..2026-03-31",  # the same period again: one publication
        "docx 2025-11-01..2026-04-30",
        "report.xlsx 2026-02-01..2026-02-28",  # the statutory report: not published
        "2026-01-01..2026-01-31",  # a view, not an export
    ):
        action = "stats.export" if " " in detail else "stats.view"
        record(action, actor=None, detail=detail, ward_id=1)
    db.session.commit()
    upgrade(revision="0018")
    with db.engine.connect() as connection:
        rows = connection.execute(
            text('SELECT ward_id, "first", "last", xlsx, csv FROM publications ORDER BY "first"')
        ).all()
    as_dates = [(row[0], str(row[1]), str(row[2]), row[3], row[4]) for row in rows]
    assert as_dates == [
        (1, "2025-11-01", "2026-04-30", None, None),
        (1, "2026-01-01", "2026-03-31", None, None),
    ]
