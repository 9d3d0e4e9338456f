"""Verification (issue 13): the desks' own record of each case, corrected with a history;
the perpetrator linked across cases; several victims of one event; criminal procedure as a
state of an open case."""

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import PASSWORD, post_report, report_data, report_form
from sqlalchemy import func, select

from incidents import access
from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import duplicates, service, verification
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseDeadline, CaseEvent, CaseLink

REASON = "Đã gặp nạn nhân tại nhà, xác định lại quan hệ"


def _keyring(user):
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def _case(db, case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def _file(db, leader, **changes) -> Case:
    case = service.file_report(
        leader, report_data(leader.groups[0].id, **changes), own_public_key=leader.public_key
    )
    db.session.commit()
    return case


def _form(case: Case, **changes) -> dict:
    """The verification form as its page posts it, filled with the case's facts."""
    form = {
        "version": str(case.version),
        "kinds": list(case.kinds),
        "harm_forms": list(case.harm_forms),
        "acts": list(case.acts),
        "gbv_type": case.gbv_type or "psychological_abuse",
        "immediate_danger": "yes" if case.immediate_danger else "no",
        "victim_sex": case.victim_sex,
        "victim_age_band": case.victim_age_band,
        "victim_circumstances": list(case.victim_circumstances),
        "perpetrator_relationship": case.perpetrator_relationship,
        "perpetrator_sex": case.perpetrator_sex,
        "perpetrator_age_band": case.perpetrator_age_band,
        "outcome": "verified",
        "why": "",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


@pytest.fixture()
def desks(make_user):
    return {role: make_user(role) for role in ("police", "officer", "chairman")}


# --- who verifies which regime: one table -------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "age", "allowed"),
    [
        (["domestic_violence"], "26_40", {"police", "officer", "chairman"}),
        (["gbv_outside_family"], "26_40", {"police", "officer", "chairman"}),
        (["child_abuse"], "12_13", {"police", "officer"}),
        (["trafficking"], "26_40", {"police"}),
        (["domestic_violence", "trafficking"], "26_40", {"police"}),
    ],
)
def test_who_verifies_a_regime_is_the_policys_table(
    db, client, make_user, login_as, desks, kinds, age, allowed
):
    leader = make_user("reporter")
    case = _file(db, leader, kinds=kinds, victim_age_band=age, immediate_danger=True)
    assert case.desks == {"police", "officer", "chairman"}
    for role, member in desks.items():
        may = access.can(member, "case.verify", case)
        assert may is (role in allowed), role
        login_as(member)
        assert client.get(f"/cases/{case.id}/verify").status_code == (200 if may else 404)
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert ("Xác minh tin báo</a>" in page) is may
        if not may:
            with pytest.raises(service.NotAllowed):
                verification.verify(
                    member, case, verification.Facts.of(case), _keyring(member), outcome="verified"
                )
            db.session.rollback()
    assert _case(db, case.id).verification == "pending"
    login_as(leader)  # the reporter verifies nothing
    assert client.get(f"/cases/{case.id}/verify").status_code == 404


# --- verifying, then correcting, with a history --------------------------------------------


def test_the_desk_verifies_and_corrects_with_a_history_and_the_report_stays_as_filed(
    db, client, make_user, login_as, desks
):
    leader = make_user("reporter")
    case = _file(db, leader, perpetrator_relationship="unknown", perpetrator_age_band="unknown")
    reported = dict(case.reported)
    police, officer = desks["police"], desks["officer"]
    login_as(officer)
    form = _form(
        case,
        perpetrator_relationship="husband",
        perpetrator_age_band="41_59",
        harm_forms=["physical", "psychological"],
        acts=["a", "b"],
        gbv_type="physical_assault",
        perpetrator_name="Trần  văn BÌNH",
        perpetrator_birth_year="1980",
    )
    response = client.post(f"/cases/{case.id}/verify", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    case = _case(db, case.id)
    assert (case.verification, case.verified_by_id) == ("verified", officer.id)
    assert (case.perpetrator_relationship, case.perpetrator_age_band) == ("husband", "41_59")
    assert case.gbv_type == "physical_assault" and case.acts == ["a", "b"]
    assert case.reported == reported  # the reporter's own facts, as filed
    assert "intimate_partner_violence" in case.context_flags
    # Physical harm verified: the police, who had not had the case, have it now.
    assert "police" in case.desks
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    history = page.split('id="verification"')[1].split('id="links"')[0]
    assert "Không rõ → Chồng" in history and "Không rõ → Từ 41 đến 59 tuổi" in history
    # The name and year: shown from and to to a reader of the case, never in the clear at rest.
    assert "— → 1980" in history and "Trần" in history
    [sealed] = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "details_corrected")
    ).all()
    assert sealed.detail == {"fields": ["perpetrator_birth_year", "perpetrator_name"]}
    assert b"1980" not in sealed.body and "Trần".encode() not in sealed.body

    # A correction, later, by another desk: it needs a reason, which is kept sealed.
    login_as(police)
    kept = {"perpetrator_name": "Trần  văn BÌNH", "perpetrator_birth_year": "1980"}  # as shown
    corrected = _form(case, perpetrator_relationship="cohabiting_partner", why="", **kept)
    corrected.pop("outcome")
    assert client.post(f"/cases/{case.id}/verify", data=corrected).status_code == 400
    corrected["why"] = REASON
    assert client.post(f"/cases/{case.id}/verify", data=corrected).status_code == 302
    case = _case(db, case.id)
    assert case.perpetrator_relationship == "cohabiting_partner"
    assert case.reported == reported
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    history = page.split('id="verification"')[1].split('id="links"')[0]
    assert "Chồng → Người chung sống như vợ chồng" in history and REASON in history
    events = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "corrected")
    ).all()
    [event] = events
    assert event.detail["changes"] == [
        {"field": "perpetrator_relationship", "from": "husband", "to": "cohabiting_partner"}
    ]
    assert REASON.encode() not in (event.body or b"")  # sealed
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == case.id).order_by(AuditEntry.seq)
    ).all()
    assert actions.count("case.verify") == 1 and actions.count("case.correct") == 1
    # Sending the same again changes nothing, and says so.
    again = _form(case, why=REASON, **kept)
    again.pop("outcome")
    response = client.post(f"/cases/{case.id}/verify", data=again)
    assert response.status_code == 400
    assert "Không có gì thay đổi" in response.get_data(as_text=True)


def test_unfounded_is_the_police_or_the_chairmans_with_a_reason(
    db, client, make_user, login_as, desks
):
    leader = make_user("reporter")
    case = _file(db, leader)
    login_as(desks["officer"])
    page = client.get(f"/cases/{case.id}/verify").get_data(as_text=True)
    assert 'value="unfounded"' not in page
    # His one outcome is chosen for him: the form is sent as it comes.
    assert re.search(r'<input checked[^>]*name="outcome"[^>]*value="verified"', page)
    refused = client.post(
        f"/cases/{case.id}/verify", data=_form(case, outcome="unfounded", why="x")
    )
    assert refused.status_code == 400
    login_as(desks["chairman"])
    assert client.post(f"/cases/{case.id}/verify",
                       data=_form(case, outcome="unfounded")).status_code == 400  # fmt: skip
    assert _case(db, case.id).verification == "pending"
    response = client.post(
        f"/cases/{case.id}/verify", data=_form(case, outcome="unfounded", why=REASON)
    )
    assert response.status_code == 302
    assert _case(db, case.id).verification == "unfounded"


def test_verified_facts_round_trip_and_start_what_they_call_for(db, make_user, desks):
    """A report of an adult's insults, found to be a father's rape of his 14-year-old."""
    leader, officer = make_user("reporter"), desks["officer"]
    case = _file(db, leader)
    assert case.desks == {"officer", "chairman"} and "child_plan" not in {
        d.kind for d in case.deadlines
    }
    facts = verification.Facts.of(case)
    facts.kinds = ["domestic_violence", "child_abuse"]
    facts.harm_forms = ["sexual"]
    facts.gbv_type = "rape"
    facts.victim_age_band = "14_15"
    facts.perpetrator_relationship = "father"
    facts.perpetrator_age_band = "41_59"
    facts.child_abuse_forms = ["sexual_abuse"]
    facts.child_abuse_environments = ["family"]
    facts.child_caregiver = "perpetrator"
    verification.verify(officer, case, facts, _keyring(officer), outcome="verified")
    db.session.commit()
    case = _case(db, case.id)
    assert verification.Facts.of(case) == facts  # every fact as given, nothing lost
    assert case.context_flags == ["child_sexual_abuse"]
    assert "police" in case.desks  # a minor, sexual violence
    clocks_now = set(
        db.session.scalars(select(CaseDeadline.kind).where(CaseDeadline.case_id == case.id))
    )
    assert {"child_plan", "child_emergency"} <= clocks_now  # a child; the carer harms her
    assert case.urgency == "immediate"
    # The reporter's own answers are still what he said.
    assert case.reported["victim_age_band"] == "26_40" and case.reported["kinds"] == [
        "domestic_violence"
    ]


def test_a_fact_the_vocabulary_does_not_have_is_refused_and_nothing_changes(db, make_user, desks):
    leader, officer = make_user("reporter"), desks["officer"]
    case = _file(db, leader)
    for name, value in (
        ("perpetrator_relationship", "spouse"),  # an earlier, undirected code: not any more
        ("victim_age_band", "18_59"),
        ("acts", ["f"]),
        ("kinds", []),
    ):
        facts = verification.Facts.of(case)
        setattr(facts, name, value)
        with pytest.raises(service.CaseError):
            verification.verify(officer, case, facts, _keyring(officer), outcome="verified")
        db.session.rollback()
        assert _case(db, case.id).verification == "pending"


# --- the perpetrator, linked across cases ----------------------------------------------------


def test_two_reports_of_one_perpetrator_are_linked_for_a_desk_that_reads_both_only(
    db, client, make_user, make_ward, login_as, desks
):
    leader = make_user("reporter")
    spellings = ("Trần Văn Bình", "TRAN VAN BINH", "  trần   văn bình ")
    cases = [
        _file(
            db,
            leader,
            perpetrator_age_band="41_59",
            sealed={"perpetrator_name": name, "perpetrator_birth_year": "1980"},
        )
        for name in spellings
    ]
    # The third report's victim is a child: the police have it too, the first two not.
    officer, police = desks["officer"], desks["police"]
    found = duplicates.look_for_duplicates(officer, cases[0], _keyring(officer))
    db.session.commit()
    assert {match.reference for match in found.perpetrator_matches} == set()  # not indexed yet
    for case in cases[1:]:
        duplicates.index_case(officer, case, _keyring(officer))
    db.session.commit()
    found = duplicates.look_for_duplicates(officer, _case(db, cases[0].id), _keyring(officer))
    db.session.commit()
    assert {match.id for match in found.perpetrator_matches} == {cases[1].id, cases[2].id}
    # Shown to read, but not yet times he was reported: the desks have verified neither.
    assert found.recent_reports == 1 and not found.community_criticism
    for case in cases[1:]:
        case = _case(db, case.id)
        verification.verify(officer, case, verification.Facts.of(case), _keyring(officer),
                            outcome="verified")  # fmt: skip
    db.session.commit()
    found = duplicates.look_for_duplicates(officer, _case(db, cases[0].id), _keyring(officer))
    assert found.recent_reports == 3 and found.community_criticism  # Art. 32 may apply
    assert found.matches == []  # the victims are not the same person
    # The police read none of these cases: nothing to compare, nothing shown.
    with pytest.raises(service.NotAllowed):
        duplicates.look_for_duplicates(police, _case(db, cases[0].id), _keyring(police))
    db.session.rollback()
    # A desk member links them; the link shows to whoever reads the other case, only.
    login_as(officer)
    response = client.post(
        f"/cases/{cases[0].id}/links",
        data={"kind": "same_perpetrator", "reference": cases[1].reference},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CaseLink)) == 1
    page = client.get(f"/cases/{cases[1].id}").get_data(as_text=True)
    assert cases[0].reference in page.split('id="links"')[1]
    elsewhere = make_user("officer", in_ward=make_ward(code="XW"))
    login_as(elsewhere)
    response = client.post(
        f"/cases/{cases[0].id}/links",
        data={"kind": "same_perpetrator", "reference": cases[2].reference},
    )
    assert response.status_code == 404


def test_an_adult_reported_once_is_not_for_community_criticism(db, make_user, desks):
    leader, officer = make_user("reporter"), desks["officer"]
    young = _file(
        db, leader, perpetrator_age_band="16_17",
        sealed={"perpetrator_name": "Lò Văn A", "perpetrator_birth_year": "2009"},
    )  # fmt: skip
    again = _file(
        db, leader, perpetrator_age_band="16_17",
        sealed={"perpetrator_name": "Lò Văn A", "perpetrator_birth_year": "2009"},
    )  # fmt: skip
    verification.verify(officer, again, verification.Facts.of(again), _keyring(officer),
                        outcome="verified")  # fmt: skip
    duplicates.index_case(officer, again, _keyring(officer))
    found = duplicates.look_for_duplicates(officer, young, _keyring(officer))
    assert found.recent_reports == 2 and not found.community_criticism  # under 18


# --- several victims of one event -----------------------------------------------------------


def test_a_leader_reports_another_victim_of_the_same_event_and_the_two_are_linked(
    db, client, make_user, login_as, desks
):
    leader = make_user("reporter")
    login_as(leader)
    first = post_report(client, report_form(leader.groups[0].id, narrative="Người cha đánh vợ"
                                            " và bắt các con đứng xem."))  # fmt: skip
    first_id = first.headers["Location"].rsplit("/", 1)[-1]
    filed = client.get(first.headers["Location"]).get_data(as_text=True)
    assert f"/report/new?same_event={first_id}" in filed
    # A desk corrects the event's forms of harm; the leader's form starts from his own report.
    verification.verify(
        desks["officer"],
        _case(db, first_id),
        replace(verification.Facts.of(_case(db, first_id)), harm_forms=["physical"]),
        _keyring(desks["officer"]),
        outcome="verified",
    )
    db.session.commit()
    page = client.get(f"/report/new?same_event={first_id}").get_data(as_text=True)
    assert f'value="{first_id}"' in page
    checked = re.findall(r'<input checked[^>]*name="harm_forms"[^>]*value="(\w+)"', page)
    assert checked == ["psychological"]  # as he reported it, not the desk's "physical"
    # Nothing sealed is copied into the other victim's case: her words stay in hers.
    assert "bắt các con đứng xem" not in page
    second = post_report(
        client,
        report_form(
            leader.groups[0].id,
            kinds=["child_abuse"],
            victim_age_band="under_12",
            child_serious_risk="no",
            same_event=first_id,
        ),
    )
    assert second.status_code == 302
    second_id = second.headers["Location"].rsplit("/", 1)[-1]
    [link] = db.session.scalars(select(CaseLink)).all()
    assert {link.case_id, link.other_case_id} == {first_id, second_id}
    assert link.kind == "same_event"
    login_as(desks["officer"])
    page = client.get(f"/cases/{second_id}").get_data(as_text=True)
    assert _case(db, first_id).reference in page.split('id="links"')[1]
    # Another leader's case cannot be named as the event of one's report.
    other = make_user("reporter")
    login_as(other)
    refused = post_report(client, report_form(other.groups[0].id, same_event=first_id))
    assert refused.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Case)) == 2


# --- criminal procedure: a state, not a closing ---------------------------------------------


def test_the_police_hand_a_case_to_criminal_procedure_and_it_stays_open(
    db, client, make_user, login_as, desks
):
    leader = make_user("reporter")
    case = _file(db, leader, immediate_danger=True)
    login_as(desks["officer"])
    assert client.post(f"/cases/{case.id}/criminal-procedure",
                       data={"why": REASON}).status_code == 404  # fmt: skip
    login_as(desks["police"])
    client.post(f"/cases/{case.id}/criminal-procedure", data={"why": ""})
    assert _case(db, case.id).criminal_procedure_at is None  # a reason first
    client.post(f"/cases/{case.id}/criminal-procedure", data={"why": REASON})
    case = _case(db, case.id)
    assert case.criminal_procedure_at is not None and case.status == "new"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "vụ việc vẫn mở" in page
    assert "criminal_procedure" not in access.close_reasons_for(desks["police"])


def test_the_leader_reads_back_what_he_reported_not_the_desks_verified_facts(
    db, client, make_user, login_as, desks
):
    leader, officer = make_user("reporter"), desks["officer"]
    case = _file(
        db, leader, perpetrator_relationship="unknown", sealed={"perpetrator_name": "Lò Văn A"}
    )
    facts = verification.Facts.of(case)
    facts.perpetrator_relationship = "father"
    facts.gbv_type = "psychological_abuse"
    verification.verify(
        officer, case, facts, _keyring(officer), outcome="verified",
        details={"perpetrator_name": "Lò Văn Ánh", "perpetrator_birth_year": "1975"},
    )  # fmt: skip
    db.session.commit()
    login_as(leader)
    page = client.get(f"/reports/{case.id}").get_data(as_text=True)
    facts_shown = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "Không rõ" in facts_shown and ">Cha," not in facts_shown
    assert "GBVIMS" not in facts_shown  # the desks' classification is theirs
    assert "Lò Văn A<" in page and "Lò Văn Ánh" not in page and "1975" not in page
    login_as(officer)
    desk_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<dd>Cha," in desk_page.split('<dl class="facts">')[1]
    assert "Lò Văn Ánh" in desk_page


# --- the review's findings: what each one must keep from happening ------------------------


def test_a_desk_cannot_add_or_remove_a_kind_another_desk_verifies(
    db, client, make_user, login_as, desks
):
    leader = make_user("reporter")
    case = _file(db, leader, immediate_danger=True)  # domestic violence: any desk verifies
    chairman = desks["chairman"]
    facts = replace(
        verification.Facts.of(case), kinds=["domestic_violence", "trafficking"]
    )  # the police's regime
    with pytest.raises(service.NotAllowed):
        verification.verify(chairman, case, facts, _keyring(chairman), outcome="verified")
    db.session.rollback()
    login_as(chairman)
    form = _form(case, kinds=["domestic_violence", "trafficking"])
    response = client.post(f"/cases/{case.id}/verify", data=form)
    assert response.status_code == 400
    assert "mua bán người, công an" in response.get_data(as_text=True).lower()
    assert _case(db, case.id).kinds == ["domestic_violence"]
    # The police add it; then the chairman may not take it away either.
    verification.verify(desks["police"], case, facts, _keyring(desks["police"]),
                        outcome="verified")  # fmt: skip
    db.session.commit()
    case = _case(db, case.id)
    back = replace(verification.Facts.of(case), kinds=["domestic_violence"])
    with pytest.raises(service.NotAllowed):
        verification.correct(chairman, case, back, _keyring(chairman), why=REASON)
    db.session.rollback()
    assert "trafficking" in _case(db, case.id).kinds


def test_unfounded_closes_the_report_routes_nothing_and_a_correction_reopens_it(
    db, make_user, desks
):
    leader = make_user("reporter")
    case = _file(db, leader, kinds=["domestic_violence"], harm_forms=["psychological"])
    assert "police" not in case.desks
    chairman = desks["chairman"]
    # Unfounded, with physical harm written in: nothing is routed on a report found false.
    facts = replace(verification.Facts.of(case), harm_forms=["physical"])
    verification.verify(chairman, case, facts, _keyring(chairman), outcome="unfounded",
                        why=REASON)  # fmt: skip
    db.session.commit()
    case = _case(db, case.id)
    assert (case.verification, case.status, case.close_reason) == (
        "unfounded", "closed", "unfounded"
    )  # fmt: skip
    assert "police" not in case.desks
    # The police read it otherwise later? Not theirs: the chairman corrects the outcome.
    officer = desks["officer"]
    with pytest.raises(service.CaseError):  # the officer does not decide unfounded
        verification.correct(officer, case, facts, _keyring(officer), why=REASON,
                             outcome="verified")  # fmt: skip
    db.session.rollback()
    case = _case(db, case.id)
    verification.correct(chairman, case, facts, _keyring(chairman), why=REASON,
                         outcome="verified")  # fmt: skip
    db.session.commit()
    case = _case(db, case.id)
    assert (case.verification, case.status) == ("verified", "reopened")
    assert "police" in case.desks  # physical harm, verified: now the police have it
    [corrected] = [event for event in case.events if event.kind == "corrected"]
    assert corrected.detail["outcome"] == {"from": "unfounded", "to": "verified"}


def test_the_polices_verification_of_a_trafficking_report_meets_its_clock(db, make_user, desks):
    leader = make_user("reporter")
    case = _file(db, leader, kinds=["trafficking"], harm_forms=["psychological"])
    kinds = {deadline.kind for deadline in case.deadlines if deadline.met_at is None}
    assert "trafficking_verification" in kinds
    police = desks["police"]
    verification.verify(police, case, verification.Facts.of(case), _keyring(police),
                         outcome="verified")  # fmt: skip
    db.session.commit()
    [clock] = [d for d in _case(db, case.id).deadlines if d.kind == "trafficking_verification"]
    assert clock.met_at is not None and clock.met_by_id == police.id


def test_a_link_to_a_case_the_reader_may_not_read_is_not_on_his_timeline(
    db, client, make_user, login_as, desks
):
    leader = make_user("reporter")
    adult = _file(db, leader)  # the officer and the chairman, not the police
    child = _file(db, leader, kinds=["child_abuse"], victim_age_band="under_12")
    police = desks["police"]
    assert access.can(police, "case.read", child) and not access.can(police, "case.read", adult)
    officer = desks["officer"]
    verification.link(officer, adult, child, "same_event", _keyring(officer))
    db.session.commit()
    login_as(officer)
    page = client.get(f"/cases/{child.id}").get_data(as_text=True)
    assert "Đã liên kết: " in page and adult.reference in page.split('id="links"')[1]
    login_as(police)
    page = client.get(f"/cases/{child.id}").get_data(as_text=True)
    assert "Đã liên kết: " not in page and adult.reference not in page


def test_recurrence_counts_verified_events_once_within_a_year_either_way(db, make_user, desks):
    leader, officer = make_user("reporter"), desks["officer"]
    him = {"perpetrator_name": "Đinh Văn Hùng", "perpetrator_birth_year": "1978"}
    first = _file(db, leader, perpetrator_age_band="41_59", sealed=him)
    # Two victims of one later event, both verified; one report unverified; one too late.
    same_a = _file(db, leader, perpetrator_age_band="41_59", sealed=him)
    same_b = _file(db, leader, perpetrator_age_band="41_59", sealed=him)
    pending = _file(db, leader, perpetrator_age_band="41_59", sealed=him)
    late = _file(db, leader, perpetrator_age_band="41_59", sealed=him)
    keys = _keyring(officer)
    for case in (same_a, same_b, late):
        verification.verify(officer, case, verification.Facts.of(case), keys,
                            outcome="verified")  # fmt: skip
    verification.link(officer, same_a, same_b, "same_event", keys)
    first.received_at = first.received_at - timedelta(days=30)
    late.received_at = first.received_at + timedelta(days=400)
    for case in (same_a, same_b, pending, late):
        duplicates.index_case(officer, case, keys)
    db.session.commit()
    found = duplicates.look_for_duplicates(officer, _case(db, first.id), keys)
    assert len(found.perpetrator_matches) == 4  # all shown, to read
    assert found.recent_reports == 2  # this one, and the one event of two victims
    assert found.community_criticism
    # Read from the later event's side, the first report, 30 days before, counts too.
    found = duplicates.look_for_duplicates(officer, _case(db, same_a.id), keys)
    assert found.recent_reports == 1  # the first report is pending: not yet a time
    first = _case(db, first.id)
    verification.verify(officer, first, verification.Facts.of(first), keys, outcome="verified")
    db.session.commit()
    found = duplicates.look_for_duplicates(officer, _case(db, same_a.id), keys)
    assert found.recent_reports == 2 and found.community_criticism
