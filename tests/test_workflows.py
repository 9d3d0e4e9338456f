"""The workflows the keys require, over HTTP: routing on, seating, password change, read-back."""

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, code_from_desks, enrol_on_page, login_data
from sqlalchemy import select, update

from incidents.accounts.models import SessionRecord, User
from incidents.accounts.service import choose_own_password, reset_password, unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import service
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case
from incidents.crypto.keys import format_recovery_key, key_fingerprint, new_seed
from incidents.timeutil import utcnow
from incidents.wards.models import DeskMember
from incidents.web import AUTHENTICATED_AT, argon2_params

KEY_CODE = re.compile(r'<code class="secret">([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</code>')


def _desk_id(ward, kind):
    return ward.desk(kind).id


def test_a_reader_routes_a_case_to_another_desk(db, client, ward, make_user, file_report, login_as):
    leader, officer, police = make_user("reporter"), make_user("officer"), make_user("police")
    case_id = file_report(leader, victim_name="Hoàng Thị Lan")  # officer and chairman only
    login_as(police)
    assert client.get(f"/cases/{case_id}").status_code == 404
    login_as(officer)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Gửi thêm vụ việc này đến" in page  # the form offers the police desk
    response = client.post(f"/cases/{case_id}/route", data={"desk_id": _desk_id(ward, "police")})
    assert response.status_code == 302
    again = client.post(f"/cases/{case_id}/route", data={"desk_id": _desk_id(ward, "police")})
    assert again.status_code == 302  # refused with a message: no second route
    db.session.expire_all()
    assert db.session.get(Case, case_id).desks == {"officer", "chairman", "police"}
    login_as(police)
    assert "Hoàng Thị Lan" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("case.route") == 1  # by the officer (filing records its desks)


def test_the_leader_and_the_admin_cannot_route(db, client, ward, make_user, file_report, login_as):
    leader, admin = make_user("reporter"), make_user("admin")
    case_id = file_report(leader)
    for user in (leader, admin):
        login_as(user)
        response = client.post(
            f"/cases/{case_id}/route", data={"desk_id": _desk_id(ward, "police")}
        )
        assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, case_id).desks == {"officer", "chairman"}


def test_a_member_seats_a_colleague_at_his_own_desk(
    db, client, ward, make_user, file_report, login_as, totp_code
):
    leader, police, officer = make_user("reporter"), make_user("police"), make_user("officer")
    recruit = make_user("police", seated=False)
    case_id = file_report(leader, immediate_danger="yes")
    login_as(police)
    response = client.post(
        "/desks/seat",
        data={
            "desk_id": _desk_id(ward, "police"),
            "user_id": recruit.id,
            "key_code": key_fingerprint(recruit.public_key).lower(),  # as typed
            "second_username": officer.username,  # present with him
            "second_password": PASSWORD,
            "second_code": totp_code(officer, 1),  # a code he has not used yet
        },
    )
    assert response.status_code == 302
    login_as(recruit)
    assert client.get(f"/cases/{case_id}").status_code == 200


def test_the_officer_seats_the_first_police_member_with_the_recovery_key(
    db, client, ward, make_user, login_as, recovery_keys
):
    officer = make_user("officer")
    recruit = make_user("police", seated=False)
    login_as(officer)
    form = {
        "desk_id": _desk_id(ward, "police"),
        "user_id": recruit.id,
        "key_code": key_fingerprint(recruit.public_key),
    }
    refused = [
        client.post("/desks/seat", data=form),  # he does not sit at the police desk
        client.post("/desks/seat", data={**form, "recovery_key": format_recovery_key(new_seed())}),
        client.post("/desks/seat", data={**form, "recovery_key": "mistyped key"}),
    ]
    assert [response.status_code for response in refused] == [400, 400, 400]
    assert "khóa khôi phục" in refused[0].get_data(as_text=True)
    assert (
        db.session.scalars(select(DeskMember).where(DeskMember.user_id == recruit.id)).all() == []
    )
    audited = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "desk.grant.refused")
    ).all()
    assert len(audited) == 3
    right = {**form, "recovery_key": format_recovery_key(recovery_keys[ward.id]).lower()}
    assert client.post("/desks/seat", data=right).status_code == 302
    db.session.expire_all()
    assert [seat.desk.kind for seat in db.session.get(User, recruit.id).seats] == ["police"]


def test_a_police_member_cannot_use_the_recovery_key_for_another_desk(
    db, client, ward, make_user, login_as, recovery_keys
):
    police = make_user("police")
    recruit = make_user("officer", seated=False)
    login_as(police)
    response = client.post(
        "/desks/seat",
        data={
            "desk_id": _desk_id(ward, "officer"),
            "user_id": recruit.id,
            "key_code": key_fingerprint(recruit.public_key),
            "recovery_key": format_recovery_key(recovery_keys[ward.id]),
        },
    )
    assert response.status_code == 400  # the officer desk is not even offered to him
    assert db.session.get(User, recruit.id).seats == []


def test_a_password_change_keeps_access_and_ends_other_sessions(
    app, db, client, make_user, file_report, login_as
):
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    elsewhere = app.test_client()
    login_as(officer, on=elsewhere)
    login_as(officer)
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "wrong one!!",
            "new_password": "a different long password",
            "confirm": "a different long password",
        },
    )
    assert wrong.status_code == 200 and "không đúng" in wrong.get_data(as_text=True)
    changed = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a fresh long password",
            "confirm": "a fresh long password",
        },
    )
    assert changed.status_code == 302
    assert client.get(f"/cases/{case_id}").status_code == 200  # this browser goes on
    assert elsewhere.get(f"/cases/{case_id}").status_code == 302  # the other one ended
    db.session.expire_all()
    assert len(db.session.scalars(select(SessionRecord)).all()) == 1
    client.post("/logout")
    bad = client.post("/login", data=login_data(officer))
    assert bad.status_code == 200
    good = client.post("/login", data=login_data(officer, "a fresh long password"))
    assert good.status_code == 302
    assert client.get(f"/cases/{case_id}").status_code == 200


def test_the_leader_reads_back_for_30_days_then_sees_the_status_only(
    db, client, make_user, file_report
):
    leader = make_user("reporter")
    case_id = file_report(leader, victim_name="Lường Thị Xuân")
    assert "Lường Thị Xuân" in client.get(f"/reports/{case_id}").get_data(as_text=True)
    db.session.execute(
        update(Case)
        .where(Case.id == case_id)
        .values(received_at=utcnow() - timedelta(days=30, minutes=1))
    )
    db.session.commit()
    page = client.get(f"/reports/{case_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Lường Thị Xuân" not in text
    assert "30 ngày" in text  # says why
    assert db.session.get(Case, case_id).reference in client.get("/reports").get_data(as_text=True)


def test_a_reset_gives_a_new_key_the_old_seats_and_reports_stay_closed(
    db, client, ward, make_user, file_report, login_as, totp_code
):
    leader, police, colleague = make_user("reporter"), make_user("police"), make_user("police")
    admin, officer = make_user("admin"), make_user("officer")
    old_report = file_report(leader, immediate_danger="yes", victim_name="Sầm Thị Hạnh")
    login_as(admin)
    for user in (police, leader):
        response = client.post(f"/admin/users/{user.id}/reset")
        assert response.status_code == 200
        assert 'class="codes"' not in response.get_data(as_text=True)  # he sees no code
    # The seated officer hands the codes out, in person.
    login_as(officer)
    codes = {user.id: code_from_desks(client, user) for user in (police, leader)}
    db.session.expire_all()
    assert db.session.get(User, police.id).seats == []
    assert "account.key_reset" in db.session.scalars(select(AuditEntry.action)).all()

    # He signs in with the activation code, must choose his own password (which makes his
    # new key) and set up his authenticator again, and then reaches no case until he is
    # seated again.
    client.post("/logout")
    code = codes[police.id].lower().replace("-", " ")  # as typed on a phone
    assert (
        client.post("/login", data={"username": police.username, "password": code}).status_code
        == 302
    )
    gated = client.get(f"/cases/{old_report}")
    assert gated.status_code == 302 and gated.headers["Location"] == "/account/own-password"
    normalised = codes[police.id].replace("-", "")
    same = {"new_password": normalised, "confirm": normalised}
    assert client.post("/account/own-password", data=same).status_code == 200  # refused
    own = {"new_password": "only the police knows", "confirm": "only the police knows"}
    assert client.post("/account/own-password", data=own).status_code == 302
    assert client.get(f"/cases/{old_report}").headers["Location"] == "/account/second-factor"
    enrol_on_page(client, police)
    assert client.get(f"/cases/{old_report}").status_code == 404
    # His own account page shows the code of the key his session holds.
    db.session.expire_all()
    police = db.session.get(User, police.id)
    code = key_fingerprint(police.public_key)
    assert code in client.get("/account").get_data(as_text=True)
    login_as(colleague)
    seat = {"desk_id": _desk_id(ward, "police"), "user_id": police.id, "key_code": code}
    page = client.get("/desks/").get_data(as_text=True)
    assert "Đặt lại" in page and "mã do người khác cấp" in page  # the reset is shown
    # A key made with the administrator's activation code: one member alone cannot seat it
    # (the administrator could have signed in with that code himself).
    alone = client.post("/desks/seat", data=seat)
    assert alone.status_code == 400 and "thành viên thứ hai" in alone.get_data(as_text=True)
    wrong = {**seat, "second_username": officer.username, "second_password": "not his"}
    assert client.post("/desks/seat", data=wrong).status_code == 400
    no_code = {**seat, "second_username": officer.username, "second_password": PASSWORD}
    assert client.post("/desks/seat", data=no_code).status_code == 400
    second = {**no_code, "second_code": totp_code(officer, 1)}
    assert client.post("/desks/seat", data=second).status_code == 302
    granted = db.session.scalars(
        select(AuditEntry.detail)
        .where(AuditEntry.action == "desk.grant")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).one()
    assert granted.endswith(f"key {code} with user:{officer.id}")
    client.post("/logout")
    client.post("/login", data=login_data(police, "only the police knows"))
    assert "Sầm Thị Hạnh" in client.get(f"/cases/{old_report}").get_data(as_text=True)

    # The leader's old report is sealed to his old key: the page says so; new ones work.
    client.post("/logout")
    client.post("/login", data={"username": leader.username, "password": codes[leader.id]})
    client.post("/account/own-password", data=own)
    page = client.get(f"/reports/{old_report}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Sầm Thị Hạnh" not in text and "đặt lại" in text


def test_after_a_leaders_key_reset_a_desk_member_gives_him_his_case_again(
    app, db, client, ward, make_user, file_report, login_as, totp_code
):
    leader, police, admin = make_user("reporter"), make_user("police"), make_user("admin")
    officer = make_user("officer")  # the second member, present
    case_id = file_report(leader, immediate_danger="yes", victim_name="Sầm Thị Hạnh")
    login_as(police)
    asked = client.post(f"/cases/{case_id}/questions", data={"question-text": "Chị ấy ở đâu?"})
    assert asked.status_code == 302
    assert "lại quyền" not in client.get(f"/cases/{case_id}").get_data(as_text=True)
    login_as(admin)
    client.post(f"/admin/users/{leader.id}/reset")
    login_as(officer)
    code = code_from_desks(client, leader)

    # Until he chooses his own password he has no key at all: the desk is told, no button.
    login_as(police)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "cho đến khi đăng nhập và tự đặt mật khẩu" in page
    assert "/reporter-key" not in page
    client.post("/logout")
    client.post("/login", data={"username": leader.username, "password": code})
    own = {"new_password": "only the leader knows", "confirm": "only the leader knows"}
    assert client.post("/account/own-password", data=own).status_code == 302
    reports = client.get("/reports").get_data(as_text=True)
    assert "Có câu hỏi đang chờ bạn trả lời" not in reports  # he could not open it
    assert "Chị ấy ở đâu?" not in client.get(f"/reports/{case_id}").get_data(as_text=True)

    # His account page shows the code of his new key, which he reads out to the desk.
    told = KEY_CODE.search(client.get("/account").get_data(as_text=True)).group(1)

    # The desk sees a key he lost, when and by whom it was reset, and the code to check;
    # it mends it after a fresh confirmation of who the desk member is.
    login_as(police)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'action="/cases/{case_id}/reporter-key"' in page
    assert "bởi: Quản trị viên" in page  # the reset, by the administrator
    assert told not in page  # he types what the leader reads out: the page gives nothing
    present = {
        "second_username": officer.username,
        "second_password": PASSWORD,
        "second_code": totp_code(officer, 1),
    }
    wrong = client.post(
        f"/cases/{case_id}/reporter-key", data={"key": "AAAA-BBBB-CCCC-DDDD", **present}
    )
    assert "không phải mã khóa của tổ trưởng" in client.get(wrong.headers["Location"]).get_data(
        as_text=True
    )
    assert db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "case.reseal_reporter.refused")
    ).all() == ["key code"]
    shown = told.lower()  # as typed
    alone = client.post(f"/cases/{case_id}/reporter-key", data={"key": shown})
    assert "thành viên thứ hai" in client.get(alone.headers["Location"]).get_data(as_text=True)
    second = {
        "second_username": officer.username,
        "second_password": PASSWORD,
        "second_code": totp_code(officer, 1),
    }
    with client.session_transaction() as session:
        session[AUTHENTICATED_AT] -= int(app.config["REAUTH_WINDOW"].total_seconds()) + 1
    stale = client.post(f"/cases/{case_id}/reporter-key", data={"key": shown, **second})
    assert stale.headers["Location"] == f"/account/confirm?next=/cases/{case_id}"
    assert db.session.get(Case, case_id).reporter_sealed_to != leader.public_key
    client.post("/account/confirm", data=login_data(police))
    mended = client.post(f"/cases/{case_id}/reporter-key", data={"key": shown, **second})
    assert mended.status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "/reporter-key" not in page
    assert "Tổ trưởng, trưởng bản đã được cấp lại quyền xem sau khi đặt lại khóa" in page
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "case.reseal_reporter")
    ).all()
    assert [(e.actor_id, e.target, e.detail) for e in entries] == [
        (police.id, case_id, f"user:{leader.id} key {told} with user:{officer.id}")
    ]
    # a second time there is nothing to mend: nothing changes
    sealed = db.session.get(Case, case_id).reporter_sealed_key
    client.post(
        f"/cases/{case_id}/reporter-key",
        data={"key": shown, **second, "second_code": totp_code(officer, 1)},
    )
    db.session.expire_all()
    assert db.session.get(Case, case_id).reporter_sealed_key == sealed

    # The leader reads his report and the question again, and answers it.
    client.post("/logout")
    client.post("/login", data={"username": leader.username, "password": "only the leader knows"})
    assert "Có câu hỏi đang chờ bạn trả lời" in client.get("/reports").get_data(as_text=True)
    mine = client.get(f"/reports/{case_id}").get_data(as_text=True)
    assert "Chị ấy ở đâu?" in mine and "Sầm Thị Hạnh" in mine


def test_resealing_is_refused_where_there_is_nothing_to_mend_or_no_one_to_give_it(
    db, make_user, file_report
):
    leader, officer = make_user("reporter"), make_user("officer")
    case = db.session.get(Case, file_report(leader))
    keyring = MemberKeyring(officer, unlock_personal_key(officer, PASSWORD))
    assert service.reporter_access(case) == "sealed"

    colleague = make_user("police")  # the second member, present

    def reseal(user=officer, code=None, second=colleague):
        code = code or key_fingerprint(leader.public_key or b"")
        service.reseal_for_reporter(user, case, keyring, checked_key=code, second=second)

    with pytest.raises(service.CaseError, match="reseal_not_needed"):
        reseal()
    reset_password(None, leader, argon2_params())
    assert service.reporter_access(case) == "awaiting_key"
    with pytest.raises(service.CaseError, match="reseal_not_needed"):
        reseal()
    choose_own_password(leader, "only the leader knows", argon2_params())
    assert service.reporter_access(case) == "lost"
    leader.active = False  # deactivated meanwhile: no one to give it to
    with pytest.raises(service.CaseError, match="reseal_not_needed"):
        reseal()
    leader.active = True
    with pytest.raises(service.NotAllowed):
        reseal(make_user("partner"))
    # Past his read-back window and with no question open, he needs it no more.
    received = case.received_at
    case.received_at = utcnow() - timedelta(days=31)
    assert not service.reporter_needs_key(case)
    with pytest.raises(service.CaseError, match="reseal_not_needed"):
        reseal()
    case.received_at = received
    # A code that is not his key's (the page showed a key since reset again): refused.
    with pytest.raises(service.CaseError, match="reseal_key_changed"):
        reseal(code="AAAA-AAAA-AAAA-AAAA")
    assert service.reporter_access(case) == "lost"
    with pytest.raises(service.CaseError, match="reseal_needs_second"):
        reseal(second=None)
    with pytest.raises(service.CaseError, match="reseal_needs_second"):
        reseal(second=officer)  # not himself
    reseal(code=key_fingerprint(leader.public_key).lower().replace("-", " "))  # as typed
    assert service.reporter_access(case) == "sealed"
    mine = MemberKeyring(leader, unlock_personal_key(leader, "only the leader knows"))
    assert mine.case_key(case) == keyring.case_key(case)


def test_a_second_reset_while_the_page_was_open_makes_the_reseal_fail(
    db, client, make_user, file_report, login_as, totp_code
):
    """The desk checked the code of the leader's key; the account was reset again and
    someone else chose its password before the click: the key is not sealed to him."""
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    reset_password(None, leader, argon2_params())
    choose_own_password(leader, "the leader's own", argon2_params())
    db.session.commit()
    login_as(officer)
    checked = key_fingerprint(db.session.get(User, leader.id).public_key)  # he read it out
    reset_password(None, leader, argon2_params())
    choose_own_password(leader, "someone else's", argon2_params())
    db.session.commit()
    colleague = make_user("police")
    second = {
        "second_username": colleague.username,
        "second_password": PASSWORD,
        "second_code": totp_code(colleague, 1),
    }
    refused = client.post(f"/cases/{case_id}/reporter-key", data={"key": checked, **second})
    assert refused.status_code == 302
    landed = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "không phải mã khóa của tổ trưởng" in landed
    db.session.expire_all()
    assert service.reporter_access(db.session.get(Case, case_id)) == "lost"
    assert checked not in landed


def test_a_case_filed_before_end_to_end_keys_offers_no_reseal(
    db, client, make_user, file_report, login_as
):
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    db.session.execute(
        update(Case)
        .where(Case.id == case_id)
        .values(reporter_sealed_key=None, reporter_sealed_to=None)
    )
    db.session.commit()
    case = db.session.get(Case, case_id)
    assert service.reporter_access(case) == "none"
    login_as(officer)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "/reporter-key" not in page and "đặt lại" not in page
    keyring = MemberKeyring(officer, unlock_personal_key(officer, PASSWORD))
    with pytest.raises(service.CaseError, match="reseal_not_needed"):
        service.reseal_for_reporter(
            officer,
            case,
            keyring,
            checked_key=key_fingerprint(leader.public_key),
            second=make_user("police"),
        )


def test_deactivation_ends_every_session_at_once(app, db, client, make_user, login_as):
    officer, admin = make_user("officer"), make_user("admin")
    phone = app.test_client()
    login_as(officer, on=phone)
    assert phone.get("/cases/").status_code == 200
    login_as(admin)
    assert client.post(f"/admin/users/{officer.id}/active", data={"active": "0"}).status_code == 302
    assert phone.get("/cases/").status_code == 302  # signed out on his phone at once
    refused = phone.post("/login", data=login_data(officer))
    assert refused.status_code == 200
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})  # not himself
    db.session.expire_all()
    assert db.session.get(User, admin.id).active
    client.post(f"/admin/users/{officer.id}/active", data={"active": "1"})
    assert phone.post("/login", data=login_data(officer)).status_code == 302
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "account.deactivate" in actions and "account.activate_again" in actions
