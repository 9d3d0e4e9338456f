"""The short report the law asks for (DOMAIN.md sections 1-3): consent never blocks it, a
child is under 16 and a minor under 18, the police get what they must, every receiving
point records what it received, and the case page shows all that was filed."""

import pytest
from conftest import post_report, report_form
from sqlalchemy import select

from incidents.cases.models import Case, CaseDeadline
from incidents.triage.intake import FORM_TITLES


def _filed(db, response) -> Case:
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    return db.session.get(Case, response.headers["Location"].rsplit("/", 1)[-1])


def _clocks(db, case) -> set[str]:
    return set(db.session.scalars(select(CaseDeadline.kind).where(CaseDeadline.case_id == case.id)))


@pytest.fixture()
def leader(make_user, client, login_as):
    user = make_user("reporter")
    login_as(user)
    return user


# --- consent never blocks a report (Law 13/2022 Art. 20) ---------------------------------


@pytest.mark.parametrize("consent", ["refused", "not_asked"])
@pytest.mark.parametrize("source", ["other", "victim", "witnessed"])
def test_without_consent_or_not_asked_and_second_hand_a_report_is_filed_and_routed(
    db, client, leader, consent, source
):
    case = _filed(db, post_report(client, report_form(leader.groups[0].id, consent=consent,
                                                      source=source)))  # fmt: skip
    assert case.consent == consent and case.source == source
    assert {"officer", "chairman"} <= case.desks
    # Not asked: nothing said about statistics either; refused: no.
    assert case.consent_statistics is (None if consent == "not_asked" else False)


def test_the_form_says_the_report_goes_to_the_ward_whatever_the_victim_said(client, leader):
    page = client.get("/report/new").get_data(as_text=True)
    assert "Chưa hỏi" in page
    assert "tin báo vẫn được gửi đến phường" in page


# --- a child (< 16) and a minor (< 18) are two lines --------------------------------------


@pytest.mark.parametrize("band", ["16_17"])
def test_a_minor_of_16_or_17_gets_no_child_form_or_clock_but_the_minors_flags(
    db, client, leader, make_user, login_as, band
):
    case = _filed(db, post_report(client, report_form(
        leader.groups[0].id, victim_age_band=band, harm_forms=["sexual"],
        child_serious_risk="yes", child_caregiver="perpetrator",
    )))  # fmt: skip
    assert "child_sexual_abuse" in case.context_flags  # GBVIMS: under 18
    assert _clocks(db, case) == {"chairman_informed"}  # no Decree 56 clock
    assert case.child_serious_risk is None and case.child_caregiver is None
    assert case.desks == {"police", "officer", "chairman"}
    assert case.routing_reason == "minor_victim"
    police = make_user("police")
    login_as(police)
    client.post("/account/confirm", data={"password": "correct horse battery staple"})
    record = client.get(f"/cases/{case.id}/intake")
    page = record.get_data(as_text=True)
    assert record.status_code == 200, page[-500:]
    assert FORM_TITLES["intake"] in page and FORM_TITLES["01"] not in page


@pytest.mark.parametrize(
    ("risk", "carer", "twelve_hours"),
    [
        ("no", "perpetrator", True),  # the carer is the one causing harm (Art. 31.1)
        ("yes", "parents", True),  # seriously threatened
        ("unknown", "perpetrator", True),
        ("no", "parents", False),
        ("unknown", "nobody", False),
    ],
)
def test_the_12_hour_clock_starts_for_a_child_at_serious_risk_or_with_the_carer_causing_harm(
    db, client, leader, risk, carer, twelve_hours
):
    case = _filed(db, post_report(client, report_form(
        leader.groups[0].id, kinds=["child_abuse"], victim_age_band="12_13",
        child_serious_risk=risk, child_caregiver=carer,
    )))  # fmt: skip
    assert ("child_emergency" in _clocks(db, case)) is twelve_hours
    assert "child_plan" in _clocks(db, case)  # every child's plan: 5 working days
    assert (case.urgency == "immediate") is twelve_hours
    filed = client.get(f"/report/filed/{case.id}").get_data(as_text=True)
    assert ("trong vòng 12 giờ" in filed) is twelve_hours


# --- what the police get (DOMAIN.md section 3) -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"signs_of_crime": "y"}, "crime_signs"),
        ({"harm_forms": ["physical"]}, "physical_violence"),  # an adult beaten
        ({"harm_forms": ["sexual"]}, "sexual_violence"),
        ({"kinds": ["trafficking"]}, "trafficking"),
        ({"immediate_danger": "yes"}, "immediate_danger"),
    ],
)
def test_a_report_with_signs_of_a_crime_or_a_beating_of_an_adult_reaches_the_police(
    db, client, leader, make_user, login_as, changes, reason
):
    police = make_user("police")
    case = _filed(db, post_report(client, report_form(leader.groups[0].id, **changes)))
    assert case.desks == {"police", "officer", "chairman"} and case.routing_reason == reason
    filed = client.get(f"/report/filed/{case.id}").get_data(as_text=True)
    assert "báo cả Công an phường" in filed  # the reason, in the leader's words
    login_as(police)
    assert case.reference in client.get("/cases/").get_data(as_text=True)


def test_insults_to_an_adult_go_to_the_officer_and_the_chairman_only(
    db, client, leader, make_user, login_as
):
    police = make_user("police")
    case = _filed(db, post_report(client, report_form(leader.groups[0].id)))
    assert case.desks == {"officer", "chairman"} and case.routing_reason == "other_violence"
    login_as(police)
    assert client.get(f"/cases/{case.id}").status_code == 404


# --- every receiving point records what it received (Law 13/2022 Art. 19.1) ---------------


def _record(client, ward, **changes):
    """A report as a desk member records it, on his form."""
    form = report_form(ward.groups[1].id, **changes)
    form.pop("source")
    return post_report(client, {"source": "victim", **form})


def test_a_desk_member_records_a_walk_in_at_the_ward_office(db, client, ward, make_user, login_as):
    officer, police, chairman = make_user("officer"), make_user("police"), make_user("chairman")
    login_as(officer)
    form = client.get("/report/new").get_data(as_text=True)
    assert 'name="receiving_point"' in form and "Ghi nhận tin báo" in form
    response = _record(client, ward, receiving_point="ward_committee", channel="in_person",
                       reporter_contact="")  # fmt: skip
    case = _filed(db, response)
    assert response.headers["Location"] == f"/cases/{case.id}"  # the desk's own case page
    assert (case.receiving_point, case.channel) == ("ward_committee", "in_person")
    assert case.reporter_id == officer.id and case.reporter_sealed_key is None
    assert case.desks == {"officer", "chairman"}
    for member in (officer, chairman):
        login_as(member)
        queue = client.get("/cases/").get_data(as_text=True)
        assert case.reference in queue
        assert "Ủy ban nhân dân phường (bộ phận một cửa) (Trực tiếp)" in queue
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "Nguyễn Thị A" in page  # read through the desk, as every other case
        assert 'action="/cases/' + case.id + '/questions"' not in page  # nobody to ask
    login_as(police)
    assert client.get(f"/cases/{case.id}").status_code == 404


def test_the_police_record_a_hotline_transfer_and_keep_it_at_their_desk(
    db, client, ward, make_user, login_as
):
    police = make_user("police")
    login_as(police)
    case = _filed(db, _record(client, ward, receiving_point="hotline", channel="phone",
                              reporter_contact="Tổng đài 111, cán bộ trực"))  # fmt: skip
    assert (case.receiving_point, case.channel) == ("hotline", "phone")
    # Insults to an adult: the rule gives the officer and the chairman; the police who
    # received it keep it too.
    assert case.desks == {"police", "officer", "chairman"}
    queue = client.get("/cases/").get_data(as_text=True)
    assert case.reference in queue and "Tổng đài (111" in queue


def test_a_recorded_report_needs_where_and_how_it_came(db, client, ward, make_user, login_as):
    login_as(make_user("officer"))
    response = _record(client, ward, receiving_point="", channel="")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="receiving_point-error"' in page and 'id="channel-error"' in page
    assert db.session.scalars(select(Case)).all() == []
    # A group leader's receiving point is not the desk's to choose.
    forged = _record(client, ward, receiving_point="group_leader", channel="phone")
    assert forged.status_code == 200 and db.session.scalars(select(Case)).all() == []


def test_a_womens_union_partner_files_like_a_leader(db, client, ward, make_user, login_as):
    partner = make_user("partner", partner_desk="womens_union")
    officer = make_user("officer")
    login_as(partner)
    page = client.get("/report/new").get_data(as_text=True)
    assert 'name="receiving_point"' not in page and "Báo cáo mới" in page
    case = _filed(db, post_report(client, report_form(ward.groups[2].id)))
    assert case.receiving_point == "womens_union" and case.reporter_id == partner.id
    assert client.get(f"/reports/{case.id}").status_code == 200  # his own read-back
    assert case.reference in client.get("/reports").get_data(as_text=True)
    assert client.get(f"/cases/{case.id}").headers["Location"] == f"/reports/{case.id}"
    login_as(officer)
    queue = client.get("/cases/").get_data(as_text=True)
    assert case.reference in queue and "Hội Phụ nữ" in queue
    assert 'action="/cases/' + case.id + '/questions"' in client.get(f"/cases/{case.id}").get_data(
        as_text=True
    )  # the partner can be asked, as a leader can


# --- the case page shows everything that was filed ----------------------------------------


def test_the_case_page_shows_the_signs_of_trafficking_and_the_childs_risk_and_carer(
    db, client, leader, make_user, login_as
):
    police = make_user("police")
    case = _filed(db, post_report(client, report_form(
        leader.groups[0].id, kinds=["trafficking", "child_abuse"], victim_age_band="12_13",
        trafficking_indicators=["papers_taken", "debt"], child_serious_risk="yes",
        child_caregiver="relatives", signs_of_crime="y",
    )))  # fmt: skip
    login_as(police)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for shown in (
        "Bị lấy mất giấy tờ tùy thân hoặc điện thoại",
        "Bị bắt trả nợ tiền đi lại, ăn uống hoặc chỗ ở",
        "đang gặp nguy cơ nghiêm trọng",
        "Người thân khác",
        "<dt>Dấu hiệu tội phạm</dt><dd>Có</dd>",
        "Tổ trưởng tổ dân phố, trưởng bản",
        "Chưa phân loại",
    ):
        assert shown in page, shown
