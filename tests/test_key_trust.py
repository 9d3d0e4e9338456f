"""Trust in keys (SECURITY.md properties 25, 26, 29): the attacks of the first attacker
review, each played out, each now failing for the attacker.

The database writer's attacks swap rows directly, as he would, and leave every other row
alone; the administrator's attack uses the web pages only.
"""

import pytest
from conftest import (
    PASSWORD,
    PINS_FILE,
    activation_code_on,
    code_from_desks,
    enrol_on_page,
    post_report,
    report_form,
)
from sqlalchemy import func, select, update

from config import ProductionConfig
from incidents import create_app
from incidents.accounts.models import User
from incidents.audit.models import AuditEntry
from incidents.cases.models import Case
from incidents.crypto.keys import key_fingerprint, new_seed, public_key
from incidents.extensions import db as _db
from incidents.extensions import limiter
from incidents.wards.models import Desk, DeskMember, Ward
from incidents.wards.service import create_ward, seat_by_recovery
from incidents.wards.trust import KeyMismatch, certify_ward, pinned, pins_file


@pytest.fixture()
def production(app, tmp_path):
    """Factory: a production app on the test database and pins file (its limiter binding
    and its engine undone afterwards, so the tests after it run as before)."""
    saved = {name: getattr(limiter, name) for name in ("enabled", "_storage", "_limiter")}
    built = []

    class Production(ProductionConfig):
        SECRET_KEY = "k" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        RECOVERY_KEY_PINS_FILE = str(PINS_FILE)
        ENVIRONMENT_KEYS = {}
        LOG_TO_INSTANCE = False

    def factory(**overrides):
        for name, value in overrides.items():
            setattr(Production, name, value)
        served = create_app(Production, instance_path=str(tmp_path / f"production{len(built)}"))
        built.append(served)
        return served

    yield factory
    for served in built:
        with served.app_context():
            _db.engine.dispose()
    for name, value in saved.items():
        setattr(limiter, name, value)


def _mismatches() -> list[tuple[str, str]]:
    return _db.session.execute(
        select(AuditEntry.target, AuditEntry.detail).where(AuditEntry.action == "key.mismatch")
    ).all()


def test_a_swapped_desk_key_makes_the_filing_refuse_keep_the_report_and_audit(
    db, client, ward, make_user, login_as
):
    leader = make_user("reporter")
    desk = ward.desk("officer")
    attacker = new_seed()
    db.session.execute(
        update(Desk).where(Desk.id == desk.id).values(public_key=public_key(attacker))
    )
    db.session.commit()
    login_as(leader)
    form = report_form(leader.groups[0].id, narrative="Chồng đánh vợ tối qua.")
    response = post_report(client, form)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Chồng đánh vợ tối qua." in page  # nothing typed is lost
    assert "khóa của phường" in page
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert _mismatches() == [(f"desk:{desk.id}", "desk key")]


def test_a_swapped_recovery_key_is_refused_and_audited_on_the_web(
    db, client, ward, make_user, login_as
):
    admin = make_user("admin")
    login_as(admin)
    response = client.post(
        "/admin/users/new",
        data={"username": "newofficer", "display_name": "Cán bộ mới", "role": "officer"},
    )
    code = activation_code_on(response)
    db.session.execute(
        update(Ward).where(Ward.id == ward.id).values(recovery_public_key=public_key(new_seed()))
    )
    db.session.commit()
    client.post("/logout")
    client.post("/login", data={"username": "newofficer", "password": code})
    own = {"new_password": "only the officer knows", "confirm": "only the officer knows"}
    response = client.post("/account/own-password", data=own)
    assert response.status_code == 409
    assert "khóa khôi phục" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.public_key).where(User.username == "newofficer")) is None
    assert _mismatches() == [(f"ward:{ward.id}", "recovery key")]


def test_a_swapped_member_key_at_a_seat_grant_does_not_match_the_code_he_reads_out(
    db, client, ward, make_user, login_as
):
    police, recruit = make_user("police"), make_user("police", seated=False)
    # What the recruit reads out: his account page, from the key his session holds.
    login_as(recruit)
    code = key_fingerprint(recruit.public_key)
    assert code in client.get("/account").get_data(as_text=True)
    # Meanwhile a database writer puts his own key in the recruit's row.
    db.session.execute(
        update(User).where(User.id == recruit.id).values(public_key=public_key(new_seed()))
    )
    db.session.commit()
    login_as(police)
    seat = {"desk_id": ward.desk("police").id, "user_id": recruit.id, "key_code": code}
    response = client.post("/desks/seat", data=seat)
    assert response.status_code == 400
    assert "không phải mã khóa" in response.get_data(as_text=True)
    assert db.session.scalar(select(DeskMember).where(DeskMember.user_id == recruit.id)) is None
    refused = db.session.scalars(
        select(AuditEntry.target).where(AuditEntry.action == "desk.grant.refused")
    ).all()
    assert refused == [f"user:{recruit.id}"]


def test_the_administrators_reset_and_reseat_no_longer_seats_him(
    db, client, ward, make_user, login_as, file_report
):
    """The attack: the administrator resets a police account, signs in with the code he
    is shown, makes the key and enrols his own authenticator; a colleague, told on the
    phone that the officer's account was reset, seats "him" with the code he reads out."""
    leader, police, colleague = make_user("reporter"), make_user("police"), make_user("police")
    admin = make_user("admin")
    file_report(leader, immediate_danger="yes")
    login_as(admin)
    code = activation_code_on(client.post(f"/admin/users/{police.id}/reset"))
    client.post("/logout")
    signed_in = client.post("/login", data={"username": police.username, "password": code})
    assert signed_in.status_code == 302
    own = {"new_password": "the administrator's pick", "confirm": "the administrator's pick"}
    assert client.post("/account/own-password", data=own).status_code == 302
    enrol_on_page(client, police)
    db.session.expire_all()
    read_out = key_fingerprint(db.session.get(User, police.id).public_key)
    login_as(colleague)
    seat = {"desk_id": ward.desk("police").id, "user_id": police.id, "key_code": read_out}
    page = client.get("/desks/").get_data(as_text=True)
    assert "Đặt lại" in page  # the seat form shows the reset, when and by whom
    assert client.post("/desks/seat", data=seat).status_code == 400
    assert db.session.scalar(select(DeskMember).where(DeskMember.user_id == police.id)) is None
    # The administrator cannot be his own second member either: he sits at no desk.
    with_admin = {**seat, "second_username": admin.username, "second_password": PASSWORD}
    assert client.post("/desks/seat", data=with_admin).status_code == 400
    assert db.session.scalar(select(DeskMember).where(DeskMember.user_id == police.id)) is None
    assert db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.target == f"user:{police.id}", AuditEntry.action.like("desk.grant%"))
        .order_by(AuditEntry.seq)
    ).all() == ["desk.grant", "desk.grant.refused", "desk.grant.refused"]  # seated, then not


def test_production_refuses_to_start_on_a_demo_database(app, db, production):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with pytest.raises(RuntimeError, match="demo"):
        production()


def test_production_refuses_a_ward_this_server_has_no_pin_for(db, production, tmp_path):
    create_ward(None, code="PX", name="Phường X")
    db.session.commit()
    assert production().config["ENV_NAME"] == "production"  # pinned here: it starts
    with pytest.raises(RuntimeError, match="PX"):
        production(RECOVERY_KEY_PINS_FILE=str(tmp_path / "another-servers-pins"))


def test_a_ward_from_before_signing_is_certified_with_its_recovery_key_only(
    db, app, make_user, login_as, client
):
    ward, seed = create_ward(None, code="OLD", name="Phường Cũ")
    from incidents.wards.service import add_group

    add_group(None, ward, name="Tổ 1")
    db.session.commit()
    # As migration 0019 leaves an existing ward: no signing key, no signatures, no pin.
    db.session.execute(update(Ward).where(Ward.id == ward.id).values(signing_public_key=None))
    db.session.execute(update(Desk).where(Desk.ward_id == ward.id).values(key_signature=None))
    db.session.commit()
    pins_file().unlink()
    db.session.expire_all()
    ward = db.session.get(Ward, ward.id)
    assert pinned(ward) is None
    with pytest.raises(KeyMismatch):  # another key does not certify it
        certify_ward(ward, new_seed())
    db.session.rollback()
    runner = app.test_cli_runner()
    from incidents.crypto.keys import format_recovery_key

    result = runner.invoke(
        args=["ward", "certify", "--ward", "OLD", "--recovery-key-stdin"],
        input=format_recovery_key(seed) + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "7 desk key(s) signed" in result.output
    db.session.expire_all()
    ward = db.session.get(Ward, ward.id)
    assert pinned(ward) is not None and all(desk.key_signature for desk in ward.desks)
    signed = db.session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.action == "key.desk", AuditEntry.ward_id == ward.id
        )
    ).all()
    assert len(signed) == 14  # 7 at creation, 7 again at certification
    police = make_user("police", in_ward=ward, seated=False)
    seat_by_recovery(
        None, ward.desk("police"), police, seed, checked_code=key_fingerprint(police.public_key)
    )
    db.session.commit()


def test_a_dropped_desk_signature_never_gets_a_swapped_key_signed(
    db, app, ward, recovery_keys, production
):
    """The writer swaps a desk's key and drops its signature, hoping the officer's
    'ward certify' (which the refusals point to) signs his key: it refuses instead."""
    from incidents.crypto.keys import format_recovery_key

    desk = ward.desk("police")
    db.session.execute(
        update(Desk)
        .where(Desk.id == desk.id)
        .values(public_key=public_key(new_seed()), key_signature=None)
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["ward", "certify", "--ward", ward.code, "--recovery-key-stdin"],
        input=format_recovery_key(recovery_keys[ward.id]) + "\n",
    )
    assert result.exit_code != 0 and "refused" in result.output
    db.session.expire_all()
    assert db.session.get(Desk, desk.id).key_signature is None
    assert _mismatches() == [(f"desk:{desk.id}", "desk key")]
    with pytest.raises(RuntimeError, match=ward.code):
        production()


def test_a_leader_whose_session_holds_no_key_files_without_his_copy(
    db, client, make_user, login_as
):
    """The writer empties the leader's wrapped key (his session then holds none) and puts
    his own key in the row: the report reaches the desks, and nothing is sealed to the row."""
    leader = make_user("reporter")
    db.session.execute(
        update(User)
        .where(User.id == leader.id)
        .values(password_wrapped_key=None, public_key=public_key(new_seed()))
    )
    db.session.commit()
    login_as(leader)
    response = post_report(client, report_form(leader.groups[0].id))
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.reporter_sealed_key is None and case.reporter_sealed_to is None
    assert {route.desk.kind for route in case.routes} >= {"officer"}


def test_a_seat_row_a_writer_made_makes_nobody_a_second_member(db, ward, make_user, totp_code):
    """He inserts a seat for an account he controls, sealing a seed of his own: the
    witness's seat must open to the desk's own, signed key."""
    from incidents.cases.keys import desk_key_info_for_member
    from incidents.crypto.keys import seal_to
    from incidents.wards.service import WardError, witness

    granter, member = make_user("police"), make_user("police", seated=False)
    accomplice = make_user("officer", seated=False)
    desk = ward.desk("officer")
    db.session.add(
        DeskMember(
            desk_id=desk.id,
            user_id=accomplice.id,
            sealed_key=seal_to(
                accomplice.public_key, new_seed(), desk_key_info_for_member(desk.id, accomplice.id)
            ),
        )
    )
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(WardError):
        witness(ward, granter, member, accomplice.username, PASSWORD, totp_code(accomplice, 1), 0.0)


def test_once_an_officer_sits_the_administrator_never_sees_an_activation_code(
    db, client, ward, make_user, login_as
):
    admin, officer, police = make_user("admin"), make_user("officer"), make_user("police")
    login_as(admin)
    made = client.post(
        "/admin/users/new",
        data={"username": "moi", "display_name": "Người mới", "role": "police"},
    )
    reset = client.post(f"/admin/users/{police.id}/reset")
    for page in (made, reset):
        assert page.status_code == 200
        assert 'class="codes"' not in page.get_data(as_text=True)
        assert "Bộ phận" in page.get_data(as_text=True)  # where the code comes from
    assert client.post("/desks/activation", data={"user_id": police.id}).status_code == 404
    login_as(officer)
    listed = client.get("/desks/").get_data(as_text=True)
    assert "moi" in listed and police.username in listed
    code = code_from_desks(client, police)
    assert db.session.scalars(
        select(AuditEntry.actor_id).where(AuditEntry.action == "account.activation_code")
    ).all() == [officer.id]
    client.post("/logout")
    signed_in = client.post("/login", data={"username": police.username, "password": code})
    assert signed_in.status_code == 302
    assert client.get("/cases/").headers["Location"] == "/account/own-password"
