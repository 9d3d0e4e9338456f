"""A member who leaves a desk loses what is sealed to it after him (SECURITY.md 28)."""

import pytest
from conftest import PASSWORD
from sqlalchemy import select, update

from incidents.accounts.models import User
from incidents.accounts.service import change_role, reset_password, set_active, unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases.keys import case_key_info_for_desk, desk_key_info_for_member
from incidents.cases.models import Case, CaseRoute
from incidents.crypto import DecryptionError
from incidents.crypto.keys import binding, format_recovery_key, new_seed, open_with, public_key
from incidents.wards.models import Desk, DeskMember
from incidents.wards.service import rotate_desk
from incidents.web import argon2_params


def _route(db, case_id, desk_id) -> bytes:
    db.session.expire_all()
    return db.session.get(CaseRoute, (case_id, desk_id)).sealed_key


def test_a_removed_members_old_seat_opens_no_case_sealed_after_the_renewal(
    db, client, ward, make_user, file_report, login_as, recovery_keys
):
    leader, officer = make_user("reporter"), make_user("officer")
    stays, leaves = make_user("police"), make_user("police")
    desk = ward.desk("police")
    before = file_report(leader, immediate_danger="yes", victim_name="Lò Thị Mai")
    # What the leaver keeps, as a copy of the database would: his seat, his password.
    old_seat = db.session.get(DeskMember, (desk.id, leaves.id)).sealed_key
    his_seed = unlock_personal_key(leaves, PASSWORD)
    old_desk_seed = open_with(his_seed, old_seat, desk_key_info_for_member(desk.id, leaves.id))

    login_as(officer)
    removed = client.post("/desks/remove", data={"desk_id": desk.id, "user_id": leaves.id})
    assert removed.status_code == 302
    page = client.get("/desks/").get_data(as_text=True)
    assert "phải được làm mới" in page  # the desk shows its key is due
    db.session.expire_all()
    assert db.session.get(Desk, desk.id).rotation_due_since is not None
    wrong = client.post(
        "/desks/rotate",
        data={"desk_id": desk.id, "recovery_key": format_recovery_key(new_seed())},
    )
    assert wrong.status_code == 400
    # Meanwhile the leaver, who knows the old desk seed, puts his seat back with a MAC
    # that holds: the officer, seeing the list, does not tick him.
    db.session.add(
        DeskMember(
            desk_id=desk.id,
            user_id=leaves.id,
            sealed_key=old_seat,
            key_binding=binding(
                old_desk_seed,
                f"incidents/seat/v1|desk:{desk.id}|user:{leaves.id}|".encode() + leaves.public_key,
            ),
        )
    )
    db.session.commit()
    page = client.get("/desks/").get_data(as_text=True)
    assert f'name="keep" value="{leaves.id}"' in page  # listed, for the officer to judge
    renewed = client.post(
        "/desks/rotate",
        data={
            "desk_id": desk.id,
            "recovery_key": format_recovery_key(recovery_keys[ward.id]),
            "keep": [str(stays.id)],
        },
    )
    assert renewed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Desk, desk.id).rotation_due_since is None
    after = file_report(leader, immediate_danger="yes", victim_name="Sầm Thị Hoa")

    for case_id in (before, after):  # the old case was sealed again; the new one is new
        version = db.session.get(Case, case_id).key_version
        info = case_key_info_for_desk(case_id, version, desk.id)
        with pytest.raises(DecryptionError):
            open_with(old_desk_seed, _route(db, case_id, desk.id), info)
    login_as(stays)  # the member who stays reads both
    assert "Lò Thị Mai" in client.get(f"/cases/{before}").get_data(as_text=True)
    assert "Sầm Thị Hoa" in client.get(f"/cases/{after}").get_data(as_text=True)
    detail = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "desk.rotate")
    ).one()
    assert detail.endswith("routes:1 referrals:0 unreadable:0 kept:1 dropped:1")
    assert [seat.user_id for seat in db.session.get(Desk, desk.id).members] == [stays.id]


def test_a_renewal_seals_the_new_key_only_to_members_the_desk_vouches_for(
    db, ward, make_user, recovery_keys
):
    """A seat from before the MACs, a key swapped in a member's row: neither gets the new
    key (each is audited, and seated again in person if need be); a deactivated member
    left his seats when he was deactivated."""
    old_seat, swapped, inactive, fine = (make_user("police") for _ in range(4))
    desk = ward.desk("police")
    db.session.execute(
        update(DeskMember).where(DeskMember.user_id == old_seat.id).values(key_binding=None)
    )
    attacker = new_seed()
    db.session.execute(
        update(User).where(User.id == swapped.id).values(public_key=public_key(attacker))
    )
    set_active(None, db.session.get(User, inactive.id), False)
    db.session.commit()
    db.session.expire_all()
    desk = db.session.get(Desk, desk.id)
    assert desk.rotation_due_since is not None  # a deactivation is a departure
    done = rotate_desk(None, desk, recovery_keys[ward.id])
    db.session.commit()
    assert (done["kept"], done["dropped"]) == (1, 2)
    db.session.expire_all()
    assert [seat.user_id for seat in db.session.get(Desk, desk.id).members] == [fine.id]
    dropped = db.session.scalars(
        select(AuditEntry.target).where(AuditEntry.action == "desk.grant.dropped")
    ).all()
    assert sorted(dropped) == sorted(f"user:{u.id}" for u in (old_seat, swapped))


@pytest.mark.parametrize("departure", ["role", "reset"])
def test_a_role_change_or_a_reset_makes_the_desk_due_for_renewal(db, ward, make_user, departure):
    member = make_user("police")
    if departure == "role":
        change_role(None, member, "officer")
    else:
        reset_password(None, member, argon2_params())
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Desk, ward.desk("police").id).rotation_due_since is not None


def test_a_seat_from_before_the_macs_gets_one_at_its_members_sign_in(
    db, ward, make_user, login_as, recovery_keys
):
    member = make_user("police")
    db.session.execute(
        update(DeskMember).where(DeskMember.user_id == member.id).values(key_binding=None)
    )
    db.session.commit()
    login_as(member)  # his own private key vouches for his own key
    db.session.expire_all()
    assert db.session.get(DeskMember, (ward.desk("police").id, member.id)).key_binding
    done = rotate_desk(None, db.session.get(Desk, ward.desk("police").id), recovery_keys[ward.id])
    assert (done["kept"], done["dropped"]) == (1, 0)


def test_an_earlier_desk_key_put_back_after_a_renewal_is_refused(
    db, client, ward, make_user, login_as, recovery_keys
):
    """A leaver with database access copies the desk's old key and signature back from a
    backup: both are the ward's, yet the next filing refuses rather than seal to it."""
    leader = make_user("reporter")
    desk = ward.desk("police")
    old = db.session.execute(
        select(Desk.public_key, Desk.key_signature).where(Desk.id == desk.id)
    ).one()
    rotate_desk(None, desk, recovery_keys[ward.id])
    db.session.commit()
    db.session.execute(
        update(Desk)
        .where(Desk.id == desk.id)
        .values(public_key=old.public_key, key_signature=old.key_signature)
    )
    db.session.commit()
    login_as(leader)
    from conftest import post_report, report_form

    response = post_report(client, report_form(leader.groups[0].id, immediate_danger="yes"))
    assert response.status_code == 409
    assert db.session.scalars(select(Case)).all() == []
    assert db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "key.mismatch")
    ).all() == ["desk key (an earlier one)"]
