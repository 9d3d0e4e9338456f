"""The flask commands: ward create / add-group, user create, seed-demo."""

import logging
import re
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from conftest import PASSWORD, login_data, make_test_app
from sqlalchemy import func, select

from incidents.accounts.models import User
from incidents.accounts.service import choose_own_password
from incidents.audit.models import AuditEntry
from incidents.crypto.keys import key_fingerprint
from incidents.extensions import db as _db
from incidents.timeutil import as_utc, format_datetime, utcnow
from incidents.wards.models import ResidentialGroup, Ward
from incidents.wards.service import ward_by_code
from incidents.web import argon2_params

DEMO_LINE = re.compile(r"demo account: (\S+) (\S+) (\S+)")
STAFF_ROLES = ("police", "officer", "chairman", "admin")


@pytest.fixture()
def cli(app, db):
    """Invoke a flask command inside the test's app context; returns the click result."""
    runner = app.test_cli_runner()

    def invoke(*args, **kwargs):
        return runner.invoke(args=list(args), **kwargs)

    return invoke


def counts(db) -> dict[str, int]:
    """Row counts of every table a command may write to, read afresh."""
    db.session.expire_all()
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Ward, ResidentialGroup, User, AuditEntry)
    }


def assert_refused(result, message: str) -> None:
    """A clean refusal: non-zero exit, the reason shown, no Python exception escaping."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert message in result.output


def user_named(db, username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def signs_in(client, username: str, password: str, code: str | None = None) -> bool:
    """True when the password opens a session over HTTP (the client is signed out after).

    Staff made by the tests' make_user get their code from it; others may be given one.
    """
    client.post("/logout")
    user = user_named(_db, username)
    form = login_data(user, password) if user else {"username": username, "password": password}
    if code is not None:
        form["code"] = code
    response = client.post("/login", data=form)
    if response.status_code != 302:
        return False
    landed = client.get("/")
    client.post("/logout")
    return landed.status_code == 302 and "/login" not in landed.headers["Location"]


# --- ward ------------------------------------------------------------------------------


def test_ward_create_with_groups(db, cli):
    result = cli(
        "ward", "create", "--code", "QT", "--name", "Phường Quyết Thắng",
        "--group", "Tổ dân phố số 1", "--group", "Bản 1", "--group", "Bản 2",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "QT" in result.output
    db.session.expire_all()
    ward = ward_by_code("QT")
    assert ward is not None
    assert ward.name == "Phường Quyết Thắng"
    assert [(group.name, group.kind) for group in ward.groups] == [
        ("Tổ dân phố số 1", "to_dan_pho"),
        ("Bản 1", "ban"),
        ("Bản 2", "ban"),
    ]
    actions = Counter(db.session.scalars(select(AuditEntry.action)))
    assert actions["ward.create"] == 1
    assert actions["group.create"] == 3


def test_ward_add_group(db, cli, make_ward):
    make_ward(code="QT", groups=("Bản 1",))

    first = cli("ward", "add-group", "--ward", "qt", "--name", "Bản 2")
    second = cli("ward", "add-group", "--ward", "QT", "--name", "Tổ dân phố số 2")
    third = cli("ward", "add-group", "--ward", "QT", "--name", "Khu Nà Nhạn", "--kind", "ban")

    for result in (first, second, third):
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert [(group.name, group.kind) for group in ward_by_code("QT").groups] == [
        ("Bản 1", "ban"),
        ("Bản 2", "ban"),
        ("Tổ dân phố số 2", "to_dan_pho"),
        ("Khu Nà Nhạn", "ban"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # the code is taken (codes are case-insensitive)
        (("ward", "create", "--code", "qt", "--name", "Phường Khác", "--group", "Bản 9"),
         "taken"),
        # a group named twice: the ward created before the failure must not stay
        (("ward", "create", "--code", "NB", "--name", "Phường Mới",
          "--group", "Bản 1", "--group", "Bản 1"), "already exists"),
        (("ward", "create", "--code", "N-B", "--name", "Phường Mới"), "ward code"),
        (("ward", "add-group", "--ward", "ZZ", "--name", "Bản 9"), "no ward with code 'ZZ'"),
        (("ward", "add-group", "--ward", "QT", "--name", "Bản 1"), "already exists"),
        (("user", "create", "--ward", "ZZ", "--username", "someone", "--role", "police"),
         "no ward with code 'ZZ'"),
    ],
)  # fmt: skip
def test_ward_errors_exit_non_zero_and_change_nothing(db, cli, make_ward, args, message):
    make_ward(code="QT", groups=("Bản 1",))
    before = counts(db)

    result = cli(*args, env={"INCIDENTS_PASSWORD": PASSWORD})

    assert_refused(result, message)
    assert counts(db) == before
    db.session.expire_all()
    assert ward_by_code("NB") is None
    assert ward_by_code("QT").name == "Phường Thử Nghiệm"
    assert [group.name for group in ward_by_code("QT").groups] == ["Bản 1"]


# --- user ------------------------------------------------------------------------------


def test_user_create_reporter_with_password_from_environment(db, cli, client, make_ward):
    make_ward(code="QT")

    result = cli(
        "user", "create", "--ward", "QT", "--username", "ToTruong7",
        "--name", "Tổ trưởng Bản 1", "--role", "reporter", "--group", "Bản 1",
        env={"INCIDENTS_PASSWORD": PASSWORD},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    user = user_named(db, "totruong7")
    assert user is not None
    assert (user.role, user.display_name, user.ward.code) == ("reporter", "Tổ trưởng Bản 1", "QT")
    assert [group.name for group in user.groups] == ["Bản 1"]
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert signs_in(client, "totruong7", PASSWORD)
    assert not signs_in(client, "totruong7", PASSWORD + "x")


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_user_create_staff_with_password_from_stdin(db, cli, client, make_ward, role):
    make_ward(code="QT")
    typed = "a long passphrase typed on stdin"

    result = cli(
        "user", "create", "--ward", "QT", "--username", f"{role}7", "--role", role,
        "--password-stdin",
        input=typed + "\n",
        env={"INCIDENTS_PASSWORD": PASSWORD},  # --password-stdin wins over the variable
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert typed not in result.output
    user = user_named(db, f"{role}7")
    assert user is not None
    assert (user.role, user.groups) == (role, [])
    assert signs_in(client, f"{role}7", typed)
    assert not signs_in(client, f"{role}7", PASSWORD)


@pytest.mark.parametrize(
    ("args", "password", "stdin", "message"),
    [
        (("--role", "police"), "short-pw", None, "at least 12"),
        (("--role", "police", "--password-stdin"), None, "elevenchars\n", "at least 12"),
        (("--role", "reporter", "--group", "Bản 1"), "x" * 11, None, "at least 12"),
        (("--role", "police"), "x" * 129, None, "at most 128"),
        (("--role", "reporter", "--group", "Bản 99"), PASSWORD, None, "no such group"),
        (("--role", "reporter"), PASSWORD, None, "at least one residential group"),
        (("--role", "police", "--group", "Bản 1"), PASSWORD, None, "only group leaders"),
    ],
)
def test_user_create_refusals(db, cli, client, make_ward, args, password, stdin, message):
    make_ward(code="QT")
    before = counts(db)

    result = cli(
        "user", "create", "--ward", "QT", "--username", "newuser", *args,
        input=stdin, env={"INCIDENTS_PASSWORD": password},
    )  # fmt: skip

    assert_refused(result, message)
    assert counts(db) == before
    assert user_named(db, "newuser") is None


def test_user_create_duplicate_username_refused(db, cli, ward, make_user):
    existing = make_user("police", username="congan")
    before = counts(db)

    result = cli(
        "user", "create", "--ward", "QT", "--username", "CongAn", "--role", "officer",
        env={"INCIDENTS_PASSWORD": "another long password"},
    )  # fmt: skip

    assert_refused(result, "taken")
    assert counts(db) == before
    assert user_named(db, "congan").role == existing.role == "police"


# --- seed-demo -------------------------------------------------------------------------


def demo_accounts(output: str) -> list[tuple[str, str, str]]:
    lines = [line for line in output.splitlines() if line.startswith("demo account:")]
    accounts = []
    for line in lines:
        match = DEMO_LINE.fullmatch(line)
        assert match, f"malformed line {line!r}"
        accounts.append(match.groups())
    return accounts


def test_seed_demo_seeds_the_demo_ward_and_lists_one_account_per_role(db, cli, client):
    assert counts(db)["wards"] == 0

    result = cli("seed-demo")

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    wards = db.session.scalars(select(Ward)).all()
    assert [ward.name for ward in wards] == ["Phường Quyết Thắng"]
    assert Counter(group.kind for group in wards[0].groups) == {"to_dan_pho": 1, "ban": 5}

    accounts = demo_accounts(result.output)
    roles = Counter(role for role, _username, _password in accounts)
    assert set(roles) == {"reporter", "partner", *STAFF_ROLES}
    assert all(roles[role] == 1 for role in (*STAFF_ROLES, "partner")), roles
    assert len({username for _role, username, _password in accounts}) == len(accounts)
    for role, username, password in accounts:
        user = user_named(db, username)
        assert user is not None and user.role == role and user.ward_id == wards[0].id
        assert bool(user.groups) == (role == "reporter")
        # the core desks by role; a referral partner at the health station
        desks = {
            "police": ["police"],
            "officer": ["officer"],
            "chairman": ["chairman"],
            "partner": ["health_station"],
        }
        assert [seat.desk.kind for seat in user.seats] == desks.get(role, [])
        # Staff sign in with the demo authenticator's current code, as printed by demo-code.
        staff = role in (*STAFF_ROLES, "partner")
        code = cli("demo-code").output.strip() if staff else None
        assert not staff or re.fullmatch(r"[0-9]{6}", code), code
        assert signs_in(client, username, password, code), username
        if staff:
            assert not signs_in(client, username, password), "a staff sign-in without a code"
    assert "demo authenticator key" in result.output


def test_seed_demo_twice_seeds_nothing_new(db, cli, client):
    first = cli("seed-demo")
    assert first.exit_code == 0, first.output
    after_first = counts(db)
    assert after_first["users"] == len(demo_accounts(first.output))

    second = cli("seed-demo")

    assert second.exit_code == 0, second.output
    assert counts(db) == after_first
    assert demo_accounts(second.output) == demo_accounts(first.output)


def test_seed_demo_leaves_a_real_ward_alone(db, cli, make_ward):
    make_ward(code="XB")
    before = counts(db)

    result = cli("seed-demo")

    assert result.exit_code == 0, result.output
    assert demo_accounts(result.output) == []
    assert counts(db) == before


def test_seed_demo_refused_where_demo_seeding_is_off(app, db, tmp_path):
    handlers_before = set(app.logger.handlers)
    guarded = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path / "instance"), ALLOW_DEMO_SEED=False
    )
    try:
        with guarded.app_context():
            result = guarded.test_cli_runner().invoke(args=["seed-demo"])
            code = guarded.test_cli_runner().invoke(args=["demo-code"])
            db.session.remove()
            db.engine.dispose()
    finally:
        for handler in set(logging.getLogger(guarded.name).handlers) - handlers_before:
            guarded.logger.removeHandler(handler)
            handler.close()

    assert_refused(result, "refused")
    assert_refused(code, "refused")
    assert demo_accounts(result.output) == []
    assert counts(db) == {"wards": 0, "residential_groups": 0, "users": 0, "audit_entries": 0}


# --- end-to-end keys: the recovery key, seats, restoration ------------------------------


def _created_ward_and_key(cli) -> tuple[Ward, str]:
    result = cli("ward", "create", "--code", "RK", "--name", "Phường Khóa", "--group", "Bản 1")
    assert result.exit_code == 0, result.output
    key = re.search(r"^recovery key: (\S+)$", result.output, re.M).group(1)
    return ward_by_code("RK"), key


def test_ward_create_prints_a_recovery_key_it_does_not_store(db, cli):
    from incidents.crypto.keys import parse_recovery_key, public_key

    ward, key = _created_ward_and_key(cli)
    assert public_key(parse_recovery_key(key)) == ward.recovery_public_key
    assert {desk.kind for desk in ward.desks} == {
        *("police", "officer", "chairman"),
        *("health_station", "womens_union", "school", "shelter"),
    }


def test_desk_grant_needs_the_recovery_key(db, cli, client, monkeypatch):
    ward, key = _created_ward_and_key(cli)
    monkeypatch.setenv("INCIDENTS_PASSWORD", PASSWORD)
    assert (
        cli("user", "create", "--ward", "RK", "--username", "ca1", "--role", "police").exit_code
        == 0
    )
    grant = ("desk", "grant", "--ward", "RK", "--desk", "police", "--username", "ca1")
    # the operator typed his first password: no key until he chooses his own
    no_key = (*grant, "--key-code", "AAAA-AAAA-AAAA-AAAA", "--recovery-key-stdin")
    assert_refused(cli(*no_key, input=key + "\n"), "own password")
    choose_own_password(user_named(db, "ca1"), "only ca1 knows this", argon2_params())
    db.session.commit()
    # the code he reads out from his account page must be his key's
    not_his = (*grant, "--key-code", "AAAA-AAAA-AAAA-AAAA", "--recovery-key-stdin")
    assert_refused(cli(*not_his, input=key + "\n"), "key code does not match")
    grant = (*grant, "--key-code", key_fingerprint(user_named(db, "ca1").public_key))
    wrong = "A" * 5 + key[5:]
    for bad, message in ((wrong, "mistyped"), ("not a key", "recovery key")):
        assert_refused(cli(*grant, "--recovery-key-stdin", input=bad + "\n"), message)
    assert user_named(db, "ca1").seats == []
    result = cli(*grant, "--recovery-key-stdin", input=key + "\n")
    assert result.exit_code == 0, result.output
    assert [seat.desk.kind for seat in user_named(db, "ca1").seats] == ["police"]
    # a police account cannot sit at the chairman's desk
    chairman_desk = ("desk", "grant", "--ward", "RK", "--desk", "chairman", "--username", "ca1")
    chairman_desk = (*chairman_desk, "--key-code", grant[-1])
    assert_refused(cli(*chairman_desk, "--recovery-key-stdin", input=key + "\n"), "cannot sit")


def _officer_with_his_own_password(db, cli, monkeypatch, username: str) -> None:
    """An officer of ward RK made at the command line who then chose "only <him> knows this"."""
    monkeypatch.setenv("INCIDENTS_PASSWORD", PASSWORD)
    cli("user", "create", "--ward", "RK", "--username", username, "--role", "officer")
    choose_own_password(user_named(db, username), f"only {username} knows this", argon2_params())
    db.session.commit()


def test_user_restore_gives_a_new_password_to_the_same_key(db, cli, client, monkeypatch):
    ward, key = _created_ward_and_key(cli)
    _officer_with_his_own_password(db, cli, monkeypatch, "vh1")
    before = user_named(db, "vh1").public_key
    monkeypatch.setenv("INCIDENTS_PASSWORD", "a new and long password")
    restore = ("user", "restore", "--ward", "RK", "--username", "vh1", "--recovery-key-stdin")
    # Not seated yet: nothing but the row vouches for his recovery copy, so no restore.
    assert_refused(cli(*restore, input=key + "\n"), "reset it instead")
    grant = ("desk", "grant", "--ward", "RK", "--desk", "officer", "--username", "vh1")
    code = key_fingerprint(before)
    assert cli(*grant, "--key-code", code, "--recovery-key-stdin", input=key + "\n").exit_code == 0
    result = cli(*restore, input=key + "\n")
    assert result.exit_code == 0, result.output
    assert user_named(db, "vh1").public_key == before
    assert signs_in(client, "vh1", "a new and long password")
    assert not signs_in(client, "vh1", PASSWORD)


def test_user_reset_gives_a_password_that_works_once_and_expires(db, cli, client, monkeypatch):
    ward, key = _created_ward_and_key(cli)
    _officer_with_his_own_password(db, cli, monkeypatch, "vh2")
    grant = ("desk", "grant", "--ward", "RK", "--desk", "officer", "--username", "vh2")
    code = key_fingerprint(user_named(db, "vh2").public_key)
    assert cli(*grant, "--key-code", code, "--recovery-key-stdin", input=key + "\n").exit_code == 0
    reset = ("user", "reset", "--ward", "RK", "--username", "vh2")

    monkeypatch.setenv("INCIDENTS_PASSWORD", "short")
    assert_refused(cli(*reset), "at least 12")
    assert user_named(db, "vh2").public_key is not None  # a refused reset drops nothing

    monkeypatch.setenv("INCIDENTS_PASSWORD", "a temporary passphrase")
    result = cli(*reset)
    assert result.exit_code == 0, result.output
    user = user_named(db, "vh2")
    expires = format_datetime(user.activation_expires_at)
    assert f"works once, until {expires} ward time" in result.output
    assert "1 desk seats" in result.output
    assert (user.public_key, user.seats) == (None, [])
    assert abs(as_utc(user.activation_expires_at) - utcnow() - timedelta(hours=72)) < timedelta(
        minutes=1
    )
    assert not signs_in(client, "vh2", "only vh2 knows this")  # his old password is gone
    assert signs_in(client, "vh2", "a temporary passphrase")
    assert not signs_in(client, "vh2", "a temporary passphrase")  # it worked once

    assert cli(*reset).exit_code == 0  # a new one, left unused past its lifetime
    with time_machine.travel(utcnow() + timedelta(hours=72, minutes=1), tick=False):
        assert not signs_in(client, "vh2", "a temporary passphrase")


def test_a_first_password_set_at_the_command_line_expires_unused(db, cli, client, make_ward):
    make_ward(code="QT")
    result = cli(
        "user", "create", "--ward", "QT", "--username", "late7", "--role", "reporter",
        "--group", "Bản 1", env={"INCIDENTS_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the password works once, until" in result.output
    with time_machine.travel(utcnow() + timedelta(hours=72, minutes=1), tick=False):
        assert not signs_in(client, "late7", PASSWORD)
    assert signs_in(client, "late7", PASSWORD)  # within its lifetime it still opens


def test_ward_create_writes_a_printable_recovery_page(db, cli, tmp_path):
    import stat

    import segno

    page = tmp_path / "recovery.html"
    result = cli(
        "ward", "create", "--code", "PG", "--name", "Phường In", "--recovery-page", str(page)
    )
    assert result.exit_code == 0, result.output
    key = re.search(r"^recovery key: (\S+)$", result.output, re.M).group(1)
    html = page.read_text(encoding="utf-8")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert key in html and "Phường In" in html and '<html lang="vi">' in html
    expected_qr = segno.make(key, error="m").svg_inline(scale=4, omitsize=True, title="QR")
    assert expected_qr in html  # the QR code encodes exactly the printed key


def test_a_recovery_key_made_offline_never_reaches_the_server(db, cli, tmp_path, monkeypatch):
    public = tmp_path / "recovery.pub"
    made = cli("recovery-key", "new", "--public-out", str(public), "--ward-name", "Phường X")
    assert made.exit_code == 0, made.output
    key = re.search(r"^recovery key: (\S+)$", made.output, re.M).group(1)
    created = cli("ward", "create", "--code", "OF", "--name", "Phường X",
                  "--recovery-public-key", str(public))  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "recovery key:" not in created.output and key not in created.output
    monkeypatch.setenv("INCIDENTS_PASSWORD", PASSWORD)
    cli("user", "create", "--ward", "OF", "--username", "of1", "--role", "officer")
    choose_own_password(user_named(db, "of1"), "only of1 knows this", argon2_params())
    db.session.commit()
    seated = cli("desk", "grant", "--ward", "OF", "--desk", "officer", "--username", "of1",
                 "--key-code", key_fingerprint(user_named(db, "of1").public_key),
                 "--recovery-key-stdin", input=key + "\n")  # fmt: skip
    assert seated.exit_code == 0, seated.output
    public.write_text("not base64 at all!")
    assert_refused(
        cli("ward", "create", "--code", "OG", "--name", "Y", "--recovery-public-key", str(public)),
        "base64",
    )


def test_a_reader_routes_a_case_and_changes_his_password_from_the_command_line(
    db, cli, ward, make_user, file_report, client
):
    from incidents.cases.models import Case

    leader, officer = make_user("reporter"), make_user("officer")
    case = db.session.get(Case, file_report(leader))  # officer and chairman only
    route = ("case", "route", "--ward", ward.code, "--reference", case.reference,
             "--desk", "police", "--password-stdin")  # fmt: skip
    assert_refused(cli(*route, "--username", leader.username, input=PASSWORD + "\n"), "cannot")
    assert_refused(cli(*route, "--username", officer.username, input="wrong one\n"), "not correct")
    result = cli(*route, "--username", officer.username, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).desks == {"officer", "chairman", "police"}

    change = ("user", "password", "--ward", ward.code, "--username", officer.username, "--stdin")
    assert_refused(cli(*change, input="wrong\na brand new password\n"), "not correct")
    assert cli(*change, input=f"{PASSWORD}\na brand new password\n").exit_code == 0
    assert signs_in(client, officer.username, "a brand new password")


@pytest.mark.parametrize("planted", ["file", "link"])
def test_the_recovery_page_is_never_written_over_a_file_or_through_a_link(
    db, cli, tmp_path, planted
):
    """A file there (perhaps readable by others) or a link to another place is refused
    before any key is made: no ward, no key printed, the file or the link's target kept."""
    elsewhere = tmp_path / "elsewhere.html"
    elsewhere.write_text("kept")
    page = tmp_path / "recovery.html"
    if planted == "file":
        page.write_text("kept")
    else:
        page.symlink_to(elsewhere)
    result = cli(
        "ward", "create", "--code", "PX", "--name", "Phường X", "--recovery-page", str(page)
    )
    assert result.exit_code != 0 and "exists" in result.output
    assert "recovery key:" not in result.output
    assert elsewhere.read_text() == "kept"
    assert (page.read_text() if planted == "file" else page.readlink()) in ("kept", elsewhere)
    assert db.session.scalar(select(Ward.id).where(Ward.code == "PX")) is None
    offline = cli(
        "recovery-key", "new", "--public-out", str(tmp_path / "k.pub"), "--page", str(page)
    )
    assert offline.exit_code != 0 and "recovery key:" not in offline.output
