"""End-to-end keys: only the routed desks and the reporter can read (SECURITY.md 4, 5, 6)."""

from pathlib import Path

import pytest
from conftest import PASSWORD, activation_code_on
from sqlalchemy import LargeBinary, MetaData, select

from incidents.accounts.models import User
from incidents.accounts.service import (
    AccountError,
    change_password,
    restore_with_recovery_key,
    unlock_personal_key,
)
from incidents.cases.keys import (
    MemberKeyring,
    case_key_info_for_desk,
    case_key_info_for_reporter,
    desk_key_info_for_member,
)
from incidents.cases.models import Case, CaseRoute
from incidents.cases.service import read_case
from incidents.crypto import DecryptionError
from incidents.crypto.keys import SEED_BYTES, key_fingerprint, new_seed, open_with
from incidents.wards.models import Desk, DeskMember
from incidents.wards.service import WardError, desk_seed_by_recovery, grant_seat, seat_by_recovery
from incidents.web import argon2_params


def _keyring(user, password=PASSWORD):
    return MemberKeyring(user, unlock_personal_key(user, password))


def test_a_case_routed_to_the_officer_only_has_no_key_for_the_police(
    db, client, ward, make_user, file_report, login_as
):
    leader, police, officer = make_user("reporter"), make_user("police"), make_user("officer")
    case_id = file_report(leader)  # other violence: officer and chairman only
    desks = set(
        db.session.scalars(
            select(Desk.kind)
            .join(CaseRoute, CaseRoute.desk_id == Desk.id)
            .where(CaseRoute.case_id == case_id)
        )
    )
    assert desks == {"officer", "chairman"}  # no sealed key for the police desk at all
    login_as(police)
    assert client.get(f"/cases/{case_id}").status_code == 404
    case = db.session.get(Case, case_id)
    with pytest.raises(DecryptionError):
        _keyring(police).case_key(case)  # and the cryptography agrees with the policy
    assert len(_keyring(officer).case_key(case)) == 32


def test_the_reporter_reads_his_own_report_with_his_own_key(db, make_user, file_report):
    leader = make_user("reporter")
    case = db.session.get(Case, file_report(leader, victim_name="Vì Thị Nga"))
    content = read_case(leader, case, _keyring(leader))
    assert content.fields["victim_name"] == "Vì Thị Nga"
    other = make_user("reporter")
    with pytest.raises(DecryptionError):
        MemberKeyring(other, unlock_personal_key(other, PASSWORD)).case_key(case)


def test_a_staff_member_without_a_seat_cannot_read(db, client, make_user, file_report, login_as):
    leader = make_user("reporter")
    unseated = make_user("police", seated=False)
    case_id = file_report(leader, immediate_danger="yes")
    login_as(unseated)
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert case_id not in client.get("/cases/").get_data(as_text=True)


def _server_secrets(app) -> list[bytes]:
    """Every secret the server holds, as candidate keys: config, instance files, and
    every 32-byte prefix of every byte value in the database."""
    candidates = []
    for value in app.config.values():
        if isinstance(value, str) and len(value) >= 16:
            candidates.append(value.encode()[:SEED_BYTES].ljust(SEED_BYTES, b"\0"))
    for path in Path(app.instance_path).rglob("*"):
        if path.is_file() and path.stat().st_size < 1_000_000:
            data = path.read_bytes()
            candidates += [data[:SEED_BYTES]] if len(data) >= SEED_BYTES else []
    return candidates


def test_the_database_and_every_server_secret_open_nothing(app, db, make_user, file_report):
    leader = make_user("reporter")
    for role in ("police", "officer", "chairman", "admin"):
        make_user(role)
    case = db.session.get(Case, file_report(leader, immediate_danger="yes"))
    candidates = _server_secrets(app)
    metadata = MetaData()
    metadata.reflect(db.engine)
    for table in metadata.sorted_tables:
        binary = [column for column in table.columns if isinstance(column.type, LargeBinary)]
        for row in db.session.execute(select(*binary)).all() if binary else ():
            candidates += [value[:SEED_BYTES] for value in row if value and len(value) >= 32]
    assert len(candidates) > 20  # the search really gathered the server's material
    sealed_keys = [(route.sealed_key, route.desk_id) for route in case.routes]
    for candidate in candidates:
        for sealed, desk_id in sealed_keys:
            with pytest.raises(DecryptionError):
                open_with(candidate, sealed, case_key_info_for_desk(case.id, 1, desk_id))
        with pytest.raises(DecryptionError):
            open_with(
                candidate,
                case.reporter_sealed_key,
                case_key_info_for_reporter(case.id, 1, leader.id),
            )
        for seat in db.session.scalars(select(DeskMember)):
            with pytest.raises(DecryptionError):
                open_with(
                    candidate, seat.sealed_key, desk_key_info_for_member(seat.desk_id, seat.user_id)
                )


def test_the_admin_has_no_path_to_a_case(db, client, make_user, file_report, login_as):
    leader, admin = make_user("reporter"), make_user("admin")
    case = db.session.get(Case, file_report(leader, immediate_danger="yes"))
    assert admin.seats == []
    with pytest.raises(DecryptionError):
        _keyring(admin).case_key(case)
    # He can create a police account, but not seat it: that needs a desk's or the
    # recovery key, which he has neither of.
    recruit = make_user("police", seated=False)
    desk = recruit.ward.desk("police")
    with pytest.raises(WardError):
        grant_seat(
            admin, desk, recruit, new_seed(), checked_code=key_fingerprint(recruit.public_key)
        )
    with pytest.raises(WardError):
        desk_seed_by_recovery(desk, new_seed())


def test_the_wrong_password_opens_no_key(db, make_user):
    user = make_user("officer")
    assert unlock_personal_key(user, PASSWORD) is not None
    with pytest.raises(DecryptionError):
        unlock_personal_key(user, PASSWORD + "!")


def test_a_password_change_rewraps_the_key_and_nothing_else(db, make_user, file_report):
    leader, officer = make_user("reporter"), make_user("officer")
    case = db.session.get(Case, file_report(leader))
    routes_before = [(route.desk_id, route.sealed_key) for route in case.routes]
    seat_before = officer.seats[0].sealed_key
    with pytest.raises(AccountError):
        change_password(officer, "not the password", "a brand new password", argon2_params())
    change_password(officer, PASSWORD, "a brand new password", argon2_params())
    db.session.commit()
    with pytest.raises(DecryptionError):
        unlock_personal_key(officer, PASSWORD)
    assert len(_keyring(officer, "a brand new password").case_key(case)) == 32
    db.session.expire_all()
    assert [(route.desk_id, route.sealed_key) for route in case.routes] == routes_before
    assert db.session.get(User, officer.id).seats[0].sealed_key == seat_before


def test_the_recovery_key_restores_a_member_who_forgot(
    db, ward, make_user, file_report, recovery_keys
):
    leader, police = make_user("reporter"), make_user("police")
    case = db.session.get(Case, file_report(leader, immediate_danger="yes"))
    with pytest.raises(AccountError):
        restore_with_recovery_key(None, police, new_seed(), "forgot and restored", argon2_params())
    restore_with_recovery_key(
        None, police, recovery_keys[ward.id], "forgot and restored", argon2_params()
    )
    db.session.commit()
    assert len(_keyring(police, "forgot and restored").case_key(case)) == 32
    with pytest.raises(DecryptionError):
        unlock_personal_key(police, PASSWORD)


def test_a_recovery_copy_swapped_in_the_database_is_not_restored(
    db, ward, make_user, recovery_keys
):
    """The writer seals a seed of his own to the ward's public recovery key, with the
    matching public key in the row: his seed would become the member's. No seat vouches
    for it (the desk's MAC names the member's real key), so the restore refuses; so it
    does for a group leader, whose key no desk ever checked."""
    from incidents.accounts.service import recovery_info
    from incidents.crypto.keys import public_key, seal_to

    police, leader = make_user("police"), make_user("reporter")
    for user in (police, leader):
        attacker = new_seed()
        user.public_key = public_key(attacker)
        user.recovery_sealed_key = seal_to(
            ward.recovery_public_key, attacker, recovery_info(user.id, ward.id)
        )
    db.session.commit()
    for user in (police, leader):
        with pytest.raises(AccountError, match="reset it instead"):
            restore_with_recovery_key(
                None, user, recovery_keys[ward.id], "the writer's choice", argon2_params()
            )


def test_a_tampered_seat_or_route_fails_to_open(db, make_user, file_report):
    leader, officer = make_user("reporter"), make_user("officer")
    case = db.session.get(Case, file_report(leader))
    route = next(route for route in case.routes if route.desk.kind == "officer")
    tampered = bytearray(route.sealed_key)
    tampered[-1] ^= 1
    route.sealed_key = bytes(tampered)
    with pytest.raises(DecryptionError):
        _keyring(officer).case_key(case)
    db.session.rollback()


def test_the_keys_are_the_hybrid_post_quantum_kind(db, ward, make_user):
    user = make_user("police")
    for public in (user.public_key, ward.recovery_public_key, ward.desk("police").public_key):
        assert len(public) == 1184 + 32  # ML-KEM-768 public key + X25519 public key


def test_an_account_the_admin_made_gets_its_key_only_from_its_owner(
    db, client, ward, make_user, login_as, recovery_keys, file_report
):
    admin, leader = make_user("admin"), make_user("reporter")
    login_as(admin)
    response = client.post(
        "/admin/users/new",
        data={"username": "newpolice", "display_name": "Công an mới", "role": "police"},
    )
    assert response.status_code == 200
    typed = activation_code_on(response)
    recruit = db.session.scalar(select(User).where(User.username == "newpolice"))
    assert recruit.needs_own_password and recruit.public_key is None
    desk = ward.desk("police")
    with pytest.raises(WardError):  # nothing to seal a desk key to yet
        seat_by_recovery(None, desk, recruit, recovery_keys[ward.id], checked_code="")
    # The owner signs in with the admin's activation code and must choose his own first.
    client.post("/logout")
    client.post("/login", data={"username": "newpolice", "password": typed})
    assert client.get("/cases/").headers["Location"] == "/account/own-password"
    mine = "only the new officer knows"
    client.post("/account/own-password", data={"new_password": mine, "confirm": mine})
    db.session.expire_all()
    recruit = db.session.get(User, recruit.id)
    assert not recruit.needs_own_password
    with pytest.raises(DecryptionError):
        unlock_personal_key(recruit, typed)  # the admin's code derives nothing
    seat_by_recovery(
        None,
        desk,
        recruit,
        recovery_keys[ward.id],
        checked_code=key_fingerprint(recruit.public_key),
    )
    db.session.commit()
    case = db.session.get(Case, file_report(leader, immediate_danger="yes"))
    assert len(_keyring(recruit, mine).case_key(case)) == 32


def test_a_tampered_sealed_key_gets_a_generic_page_changes_nothing_and_is_audited(
    db, client, make_user, file_report, login_as
):
    from incidents.audit.models import AuditEntry

    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader, victim_name="Lò Văn Tampered")
    case = db.session.get(Case, case_id)
    route = next(route for route in case.routes if route.desk.kind == "officer")
    tampered = bytearray(route.sealed_key)
    tampered[40] ^= 0xFF
    route.sealed_key = bytes(tampered)
    db.session.commit()
    login_as(officer)
    page = client.get(f"/cases/{case_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 500 and "Lò Văn Tampered" not in text
    assert "Traceback" not in text
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "case.decrypt_failure")
    ).one()
    assert (entry.actor_id, entry.target) == (officer.id, case_id)
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "new"
