"""Referrals to partners (issue 7, item 5): consent first, and only what is shared.

GBVIMS: no sharing without consent, unless the law's emergency exception is recorded. A
partner desk opens what a referral shares with it, never the case key.
"""

import json

import pytest
from conftest import PASSWORD, login_data, report_data
from sqlalchemy import func, select
from test_canary import canary_needles, new_canary

from incidents.access import needs_second_factor
from incidents.accounts.models import SessionRecord
from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import referrals
from incidents.cases import service as cases
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import SEALED_FIELDS, Case, CaseEvent, CaseRoute, Referral
from incidents.crypto import DecryptionError
from incidents.crypto.fields import open_text
from incidents.crypto.keys import key_fingerprint
from incidents.wards.models import PARTNER_KINDS
from incidents.wards.service import WardError, desk_seed_by_recovery, seat_by_recovery


def refer_form(desk, **changes) -> dict:
    """A complete referral with consent, as the case page's form posts it."""
    form = {
        "desk_id": str(desk.id),
        "fields": [],
        "message": "Xin hỗ trợ khám sức khỏe cho chị.",
        "basis": "consent",
        "consent_by": "victim",
        "consent_how": "in_person",
        "why": "",
    }
    form.update(changes)
    return form


def keyring_of(user) -> MemberKeyring:
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def consented(user, case, desk, message, *, fields=(), by="victim", how="phone"):
    """A referral made with the victim's consent, as most tests need one."""
    return referrals.refer(
        user,
        case,
        desk,
        fields=list(fields),
        basis="consent",
        consent_by=by,
        consent_how=how,
        why="",
        message=message,
        keyring=keyring_of(user),
    )


@pytest.fixture()
def world(db, ward, make_user, file_report):
    """A case filed by the leader (every desk), its police, and a health-station partner."""
    users = {role: make_user(role) for role in ("reporter", "police", "officer", "chairman")}
    users["partner"] = make_user("partner")
    case_id = file_report(users["reporter"], immediate_danger="yes")
    return {**users, "case_id": case_id, "ward": ward}


def _counts(db) -> dict:
    """Rows of every table but sessions (signing in writes one)."""
    with db.engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name != SessionRecord.__tablename__
        }


def _actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _rows_text(db) -> list[bytes]:
    """Every value of every row of every table, as bytes."""
    found = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        found.append(bytes(value))
                    elif isinstance(value, str):
                        found.append(value.encode("utf-8"))
                    elif isinstance(value, dict | list):
                        found.append(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    return found


def _in_database(db, canary: str) -> bool:
    needles = [form for forms in canary_needles(canary).values() for form in forms]
    return any(needle in value for value in _rows_text(db) for needle in needles)


def _found_in_database(db, canaries) -> list[str]:
    return [canary for canary in canaries if _in_database(db, canary)]


# --- Consent first ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"basis": ""},  # neither consent nor emergency
        {"basis": "consent", "consent_by": ""},  # consent, but from whom?
        {"basis": "consent", "consent_how": ""},  # consent, but how?
        {"basis": "emergency", "consent_by": "", "consent_how": "", "why": ""},  # no reason
        {"basis": "emergency", "why": "   "},
    ],
)
def test_a_referral_without_consent_or_emergency_reason_is_refused_and_changes_nothing(
    db, client, login_as, world, changes
):
    login_as(world["police"])
    desk = world["ward"].desk("health_station")
    before, audited = _counts(db), _actions(db)

    typed = "Tin nhắn gõ dở cho trạm y tế"
    response = client.post(
        f"/cases/{world['case_id']}/refer", data=refer_form(desk, message=typed, **changes)
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Chưa chia sẻ gì" in page  # "Nothing was shared"
    assert typed in page  # what was typed is kept
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0  # no sealed key
    assert "referred" not in {event.kind for event in db.session.get(Case, world["case_id"]).events}
    assert "case.refer" not in _actions(db)
    # Showing the form again reads the case (audited as a read); nothing else changed.
    after = _counts(db)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1
    assert after == before and _actions(db)[len(audited) :] == ["case.read"]


def test_the_service_refuses_a_referral_without_consent_and_writes_nothing(db, world):
    police, case = world["police"], db.session.get(Case, world["case_id"])
    desk = world["ward"].desk("health_station")
    before = _counts(db)
    for basis, by, how, why in (
        ("consent", None, None, ""),
        ("consent", "victim", None, ""),
        ("emergency", None, None, ""),
        ("other", "victim", "phone", "x"),
    ):
        with pytest.raises(referrals.ReferralError):
            referrals.refer(
                police,
                case,
                desk,
                fields=["victim_name"],
                basis=basis,
                consent_by=by,
                consent_how=how,
                why=why,
                message="m",
                keyring=keyring_of(police),
            )
    db.session.flush()
    assert _counts(db) == before


def test_a_case_reported_without_consent_is_referred_with_a_consent_given_since(
    db, ward, make_user
):
    leader, officer = make_user("reporter"), make_user("officer")
    case = cases.file_report(
        leader,
        report_data(leader.groups[0].id, consent="refused"),
    )
    db.session.commit()
    referral = consented(
        officer,
        case,
        ward.desk("womens_union"),
        "Chị đã đồng ý hôm nay.",
        by="guardian",
        how="in_writing",
    )
    db.session.commit()
    assert (referral.basis, referral.consent_by, referral.consent_how) == (
        "consent",
        "guardian",
        "in_writing",
    )
    assert referral.referred_by_id == officer.id and referral.referred_at is not None


# --- What the partner sees --------------------------------------------------------------


def test_the_partner_sees_exactly_the_shared_fields_and_the_message(
    db, client, ward, make_user, login_as
):
    leader, police, partner = make_user("reporter"), make_user("police"), make_user("partner")
    canaries = {name: new_canary(name) for name in SEALED_FIELDS}
    case = cases.file_report(
        leader, report_data(leader.groups[0].id, immediate_danger=True, sealed=dict(canaries))
    )
    db.session.commit()
    message = new_canary("message")
    login_as(police)
    response = client.post(
        f"/cases/{case.id}/refer",
        data=refer_form(
            ward.desk("health_station"),
            fields=["victim_name", "victim_phone", "victim_profile"],
            message=message,
            consent_how="phone",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    referral = db.session.scalars(select(Referral)).one()
    assert referral.fields == ["victim_name", "victim_phone", "victim_profile"]

    login_as(partner)
    listing = client.get("/referrals/").get_data(as_text=True)
    assert f"/referrals/{referral.id}" in listing and case.reference not in listing
    page = client.get(f"/referrals/{referral.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    shared = {"victim_name", "victim_phone"}
    assert all(canaries[name] in text for name in shared)
    assert message in text
    assert "Nữ" in text or "Female" in text  # the age band and sex, as labels
    hidden = [name for name in SEALED_FIELDS if name not in shared and canaries[name] in text]
    assert hidden == [], f"not shared, yet shown: {hidden}"
    assert case.reference not in text
    # At rest: none of it in the clear, the shared values and the message included.
    assert _found_in_database(db, [*canaries.values(), message]) == []
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.in_(("case.refer", "referral.read")))
        .order_by(AuditEntry.seq)
    ).all()
    assert [entry.action for entry in entries] == ["case.refer", "referral.read"]
    assert all(entry.target == case.id for entry in entries)
    assert not any(
        canary in (entry.detail or "") for entry in entries for canary in canaries.values()
    )


def test_the_default_shares_only_the_message(db, world):
    police, case = world["police"], db.session.get(Case, world["case_id"])
    referral = consented(
        police, case, world["ward"].desk("school"), "Chỉ tin nhắn.", how="in_person"
    )
    assert referral.fields == []
    assert all(getattr(referral, name) is None for name in dict(referrals.REFERRAL_SHARES))


def test_the_case_key_is_never_sealed_to_a_partner_desk(db, client, login_as, world):
    police, case = world["police"], db.session.get(Case, world["case_id"])
    partner_desks = {world["ward"].desk(kind).id for kind in PARTNER_KINDS}
    login_as(police)
    assert (
        client.post(
            f"/cases/{case.id}/refer", data=refer_form(world["ward"].desk("health_station"))
        ).status_code
        == 302
    )
    routes = db.session.scalars(select(CaseRoute.desk_id)).all()
    assert not set(routes) & partner_desks
    # Nor can a case be routed there by hand: the route form does not offer it either.
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    route_form = page.split('action="/cases/' + case.id + '/route"')[-1].split("</form>")[0]
    assert "Trạm Y tế" not in route_form and "Health station" not in route_form
    for desk_id in partner_desks:
        assert client.post(f"/cases/{case.id}/route", data={"desk_id": desk_id}).status_code == 302
    with pytest.raises(cases.CaseError):
        cases.route_to_desk(police, case, world["ward"].desk("shelter"), keyring_of(police))
    db.session.rollback()
    assert not set(db.session.scalars(select(CaseRoute.desk_id)).all()) & partner_desks
    # And the partner's keyring opens no case key.
    partner = world["partner"]
    with pytest.raises(DecryptionError):
        keyring_of(partner).case_key(db.session.get(Case, case.id))


# --- What the partner cannot reach -----------------------------------------------------


def test_the_partner_gets_404_on_cases_and_on_referrals_not_to_his_desk(
    db, client, make_ward, make_user, login_as, world
):
    police, case = world["police"], db.session.get(Case, world["case_id"])
    ward = world["ward"]
    to_him = consented(
        police, case, ward.desk("health_station"), "cho trạm y tế", fields=["victim_name"]
    )
    to_school = consented(
        police, case, ward.desk("school"), "cho trường học", fields=["victim_name"]
    )
    elsewhere = make_ward(code="EL")
    far_leader = make_user("reporter", in_ward=elsewhere)
    far_police = make_user("police", in_ward=elsewhere)
    far_case = cases.file_report(
        far_leader, report_data(far_leader.groups[0].id, immediate_danger=True)
    )
    db.session.commit()
    far_referral = consented(
        far_police,
        far_case,
        elsewhere.desk("health_station"),
        "phường khác",
        fields=["victim_name"],
    )
    db.session.commit()

    login_as(world["partner"])
    before = _counts(db)
    for url in (
        f"/cases/{case.id}",
        "/cases/",
        "/stats/",
        "/audit/",
        f"/referrals/{to_school.id}",
        f"/referrals/{far_referral.id}",
        f"/referrals/{'0' * 32}",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/referrals/{to_school.id}/answer",
        f"/referrals/{far_referral.id}/answer",
        f"/cases/{case.id}/refer",
        f"/cases/{case.id}/notes",
    ):
        assert client.post(url, data={"state": "accepted", "seen": "sent"}).status_code == 404
    assert _counts(db) == before
    listing = client.get("/referrals/").get_data(as_text=True)
    assert to_him.id in listing and to_school.id not in listing and far_referral.id not in listing
    assert client.get(f"/referrals/{to_him.id}").status_code == 200


def test_a_referral_to_a_partner_desk_of_another_ward_is_refused(
    db, client, make_ward, login_as, world
):
    police, case = world["police"], db.session.get(Case, world["case_id"])
    far_desk = make_ward(code="EL").desk("health_station")
    with pytest.raises(referrals.ReferralError, match="desk"):
        consented(police, case, far_desk, "m")
    # Nor to a core desk: a referral is for partners.
    with pytest.raises(referrals.ReferralError, match="desk"):
        consented(police, case, world["ward"].desk("officer"), "m")
    db.session.rollback()
    login_as(police)
    response = client.post(f"/cases/{case.id}/refer", data=refer_form(far_desk))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


@pytest.mark.parametrize("who", ["reporter", "admin", "police_elsewhere", "partner"])
def test_a_leader_the_admin_another_wards_police_and_a_partner_cannot_refer(
    db, client, make_ward, make_user, login_as, world, who
):
    users = {
        "reporter": world["reporter"],
        "admin": make_user("admin"),
        "police_elsewhere": make_user("police", in_ward=make_ward(code="EL")),
        "partner": world["partner"],
    }
    login_as(users[who])
    before, audited = _counts(db), len(_actions(db))
    response = client.post(
        f"/cases/{world['case_id']}/refer", data=refer_form(world["ward"].desk("health_station"))
    )
    assert response.status_code == 404
    assert _counts(db) == before and len(_actions(db)) == audited
    with pytest.raises(referrals.NotAllowed):
        referrals.refer(
            users[who],
            db.session.get(Case, world["case_id"]),
            world["ward"].desk("health_station"),
            fields=[],
            basis="consent",
            consent_by="victim",
            consent_how="phone",
            why="",
            message="m",
            keyring=MemberKeyring(users[who], None),
        )


# --- The emergency basis ----------------------------------------------------------------


def test_the_emergency_basis_records_its_reason_sealed_for_the_desks(db, client, login_as, world):
    police, officer = world["police"], world["officer"]
    reason = new_canary("emergency")
    login_as(police)
    response = client.post(
        f"/cases/{world['case_id']}/refer",
        data=refer_form(
            world["ward"].desk("shelter"),
            basis="emergency",
            consent_by="",
            consent_how="",
            why=reason,
        ),
    )
    assert response.status_code == 302
    referral = db.session.scalars(select(Referral)).one()
    assert (referral.basis, referral.consent_by, referral.consent_how) == ("emergency", None, None)
    case = db.session.get(Case, world["case_id"])
    event = next(event for event in case.events if event.kind == "referred")
    assert event.detail["basis"] == "emergency" and event.body is not None
    assert (
        open_text(
            keyring_of(officer).case_key(case),
            event.body,
            case.id,
            f"event:{event.id}",
            case.key_version,
        )
        == reason
    )
    assert not _in_database(db, reason)
    login_as(officer)  # another desk of the case reads the reason on the timeline
    assert reason in client.get(f"/cases/{case.id}").get_data(as_text=True)
    login_as(world["partner"])  # the partner does not
    assert reason not in client.get(f"/referrals/{referral.id}").get_data(as_text=True)


# --- The partner's answers --------------------------------------------------------------


def test_the_partner_accepts_then_closes_and_the_desk_sees_the_answers(db, client, login_as, world):
    police = world["police"]
    login_as(police)
    client.post(
        f"/cases/{world['case_id']}/refer", data=refer_form(world["ward"].desk("health_station"))
    )
    referral = db.session.scalars(select(Referral)).one()
    accepted, closed = new_canary("accepted"), new_canary("closed")

    login_as(world["partner"])
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert 'value="accepted"' in page and 'value="declined"' in page
    assert 'value="closed"' not in page
    # A close before accepting is refused, with the typed note kept.
    refused = client.post(
        f"/referrals/{referral.id}/answer", data={"state": "closed", "note": closed, "seen": "sent"}
    )
    assert refused.status_code == 400 and closed in refused.get_data(as_text=True)
    sent = client.post(
        f"/referrals/{referral.id}/answer",
        data={"state": "accepted", "note": accepted, "seen": "sent"},
    )
    assert sent.status_code == 302
    # An answer from a page showing an older state is a conflict: nothing overwritten.
    stale = client.post(
        f"/referrals/{referral.id}/answer",
        data={"state": "declined", "note": "muộn", "seen": "sent"},
    )
    assert stale.status_code == 409
    assert (
        client.post(
            f"/referrals/{referral.id}/answer",
            data={"state": "closed", "note": closed, "seen": "accepted"},
        ).status_code
        == 302
    )
    db.session.expire_all()
    referral = db.session.get(Referral, referral.id)
    assert referral.state == "closed"
    assert [answer.state for answer in referral.answers] == ["accepted", "closed"]
    assert not _in_database(db, accepted) and not _in_database(db, closed)
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert 'name="state"' not in page  # closed: nothing more to answer

    login_as(police)
    page = client.get(f"/cases/{world['case_id']}").get_data(as_text=True)
    assert accepted in page and closed in page
    kinds = [event.kind for event in db.session.get(Case, world["case_id"]).events]
    assert kinds.count("referral_answered") == 2
    responses = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "referral.respond")
    ).all()
    assert responses == [
        f"referral:{referral.id} sent>accepted",
        f"referral:{referral.id} accepted>closed",
    ]


def test_the_partner_declines_saying_why(db, client, login_as, world):
    police = world["police"]
    login_as(police)
    client.post(
        f"/cases/{world['case_id']}/refer", data=refer_form(world["ward"].desk("health_station"))
    )
    referral = db.session.scalars(select(Referral)).one()
    login_as(world["partner"])
    before = _counts(db)
    without = client.post(
        f"/referrals/{referral.id}/answer", data={"state": "declined", "note": "", "seen": "sent"}
    )
    assert without.status_code == 400
    after = _counts(db)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1  # the page's read
    assert after == before
    why = "Trạm không có bác sĩ sản khoa."
    assert (
        client.post(
            f"/referrals/{referral.id}/answer",
            data={"state": "declined", "note": why, "seen": "sent"},
        ).status_code
        == 302
    )
    login_as(police)
    page = client.get(f"/cases/{world['case_id']}").get_data(as_text=True)
    assert why in page
    # Declined, the desk may refer to the same partner again.
    again = client.post(
        f"/cases/{world['case_id']}/refer", data=refer_form(world["ward"].desk("health_station"))
    )
    assert again.status_code == 302


def test_a_second_open_referral_to_the_same_partner_is_refused(db, client, login_as, world):
    login_as(world["police"])
    desk = world["ward"].desk("womens_union")
    assert client.post(f"/cases/{world['case_id']}/refer", data=refer_form(desk)).status_code == 302
    again = client.post(f"/cases/{world['case_id']}/refer", data=refer_form(desk))
    assert again.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 1


# --- Partner accounts and their seats ----------------------------------------------------


def test_a_partner_account_needs_the_second_factor(db, client, make_user, totp_code):
    unenrolled = make_user("partner", enrolled=False)
    assert needs_second_factor(unenrolled)
    assert client.post("/login", data=login_data(unenrolled)).status_code == 302
    response = client.get("/referrals/")
    assert response.headers["Location"] == "/account/second-factor"
    client.post("/logout")

    enrolled = make_user("partner")
    form = {"username": enrolled.username, "password": PASSWORD, "code": "000000"}
    if totp_code(enrolled) == "000000":
        pytest.skip("the code of this step happens to be 000000")
    assert client.post("/login", data=form).status_code == 200  # no session
    assert client.get("/referrals/").headers["Location"].startswith("/login")
    signed_in = client.post("/login", data=login_data(enrolled))
    assert signed_in.status_code == 302
    assert client.get("/").headers["Location"] == "/referrals/"


def test_a_partner_desks_first_member_is_seated_with_the_recovery_key(
    db, client, ward, make_user, login_as, recovery_keys, totp_code
):
    from incidents.crypto.keys import format_recovery_key

    officer = make_user("officer")
    first = make_user("partner", seated=False)
    colleague = make_user("partner", seated=False)
    desk = ward.desk("shelter")
    login_as(officer)
    page = client.get("/desks/").get_data(as_text=True)
    assert "Nhà tạm lánh" in page or "Shelter" in page
    response = client.post(
        "/desks/seat",
        data={
            "desk_id": desk.id,
            "user_id": first.id,
            "key_code": key_fingerprint(first.public_key),
            "recovery_key": format_recovery_key(recovery_keys[ward.id]),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    assert db.session.get(type(first), first.id).desk_ids == {desk.id}

    # The first partner seats a colleague with his own seat; he sees only his own desk.
    login_as(db.session.get(type(first), first.id))
    page = client.get("/desks/").get_data(as_text=True)
    assert "Công an phường" not in page and "Ward police" not in page
    assert (
        client.post(
            "/desks/seat",
            data={
                "desk_id": desk.id,
                "user_id": colleague.id,
                "key_code": key_fingerprint(colleague.public_key),
                # a member of a core desk, present: a partner cannot vouch for a partner
                "second_username": officer.username,
                "second_password": PASSWORD,
                "second_code": totp_code(officer, 1),
            },
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(type(colleague), colleague.id).desk_ids == {desk.id}

    # One partner desk only: a second one is refused.
    other = ward.desk("school")
    seated = db.session.get(type(first), first.id)
    with pytest.raises(WardError):
        seat_by_recovery(
            None,
            other,
            seated,
            recovery_keys[ward.id],
            checked_code=key_fingerprint(seated.public_key),
        )
    # And never a core desk.
    police_desk = ward.desk("police")
    with pytest.raises(WardError):
        seat_by_recovery(
            None,
            police_desk,
            seated,
            recovery_keys[ward.id],
            checked_code=key_fingerprint(seated.public_key),
        )


def test_the_cli_seats_a_partner_at_a_partner_desk(db, app, ward, make_user, recovery_keys):
    from incidents.crypto.keys import format_recovery_key

    partner = make_user("partner", seated=False)
    result = app.test_cli_runner().invoke(
        args=[
            "desk",
            "grant",
            "--ward",
            ward.code,
            "--kind",
            "womens_union",
            "--username",
            partner.username,
            "--key-code",
            key_fingerprint(partner.public_key),
            "--recovery-key-stdin",
        ],
        input=format_recovery_key(recovery_keys[ward.id]) + "\n",
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(type(partner), partner.id).desk_ids == {ward.desk("womens_union").id}


def test_every_ward_has_its_partner_desks_sealed_to_its_recovery_key(db, ward, recovery_keys):
    for kind in PARTNER_KINDS:
        desk = ward.desk(kind)
        seed = desk_seed_by_recovery(desk, recovery_keys[ward.id])
        assert len(seed) == 32
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == 0


def test_referral_actions_are_the_partners_of_that_desk_only(db, make_ward, make_user, world):
    from incidents import access

    police, case = world["police"], db.session.get(Case, world["case_id"])
    referral = consented(police, case, world["ward"].desk("health_station"), "m")
    at_school = make_user("partner", partner_desk="school")
    far = make_user("partner", in_ward=make_ward(code="EL"))
    for action in ("referral.read", "referral.answer"):
        assert access.can(world["partner"], action, referral)
        for other in (at_school, far, police, world["officer"], world["reporter"]):
            assert not access.can(other, action, referral), (action, other.role)
        assert not access.can(world["partner"], action, case)  # a case is not a referral
    assert access.can(world["partner"], "referral.list")
    assert not access.can(police, "referral.list")


def test_a_tampered_or_moved_shared_value_fails_to_open_whole(db, world):
    police, partner = world["police"], world["partner"]
    case = db.session.get(Case, world["case_id"])
    referral = consented(
        police, case, world["ward"].desk("health_station"), "m", fields=["victim_name"]
    )
    db.session.commit()
    keyring = keyring_of(partner)
    assert referrals.open_referral(partner, referral, keyring).values["victim_name"]
    name, message = referral.victim_name, referral.message
    referral.victim_name = message  # a ciphertext copied to another field
    with pytest.raises(DecryptionError):
        referrals.open_referral(partner, referral, keyring)
    referral.victim_name = name[:-1] + bytes([name[-1] ^ 1])  # a flipped byte
    with pytest.raises(DecryptionError):
        referrals.open_referral(partner, referral, keyring)
    db.session.rollback()


def test_the_partners_reads_show_in_the_cases_access_log(db, client, login_as, world):
    login_as(world["police"])
    client.post(
        f"/cases/{world['case_id']}/refer", data=refer_form(world["ward"].desk("health_station"))
    )
    referral = db.session.scalars(select(Referral)).one()
    login_as(world["partner"])
    assert client.get(f"/referrals/{referral.id}").status_code == 200
    login_as(world["officer"])
    page = client.get(f"/cases/{world['case_id']}").get_data(as_text=True)
    log = page.split("Ai đã xem vụ việc này")[1]  # "Who has seen this case"
    assert "Đối tác hỗ trợ · Đọc yêu cầu hỗ trợ" in log  # a partner read the referral
    assert "Chuyển đến đối tác hỗ trợ" in log  # the case was referred


def test_the_administrator_creates_a_partner_account_but_cannot_seat_it(
    db, client, make_user, login_as
):
    from incidents.accounts.models import User

    login_as(make_user("admin"))
    assert "Đối tác hỗ trợ" in client.get("/admin/users/new").get_data(as_text=True)
    response = client.post(
        "/admin/users/new",
        data={"username": "tramyte", "display_name": "Trạm Y tế phường", "role": "partner"},
    )
    assert response.status_code == 200 and 'class="codes"' in response.get_data(as_text=True)
    partner = db.session.scalars(select(User).where(User.username == "tramyte")).one()
    assert partner.role == "partner" and partner.desk_ids == set()
    assert client.get("/desks/").status_code == 404  # seating needs a key he has not
