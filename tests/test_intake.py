"""The printable intake record: Decree 56/2017's forms for a child, one record for others.

Rendered from the decrypted case at request time, never stored, each view audited.
"""

import logging
import re

import pytest
from conftest import login_data
from sqlalchemy import func, select

from incidents.accounts.models import SessionRecord
from incidents.audit.models import AuditEntry, AuditHead
from incidents.cases.models import Case
from incidents.triage.intake import FORM_TITLES
from incidents.web import AUTHENTICATED_AT

CHILD_FORMS = (FORM_TITLES["01"], FORM_TITLES["02"], FORM_TITLES["03"])
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@pytest.fixture()
def people(make_user, make_ward, ward):
    """The leader, the desks, and people who may not read the case."""
    elsewhere = make_ward(code="EL")
    return {
        "leader": make_user("reporter"),
        "police": make_user("police"),
        "officer": make_user("officer"),
        "admin": make_user("admin"),
        "police_elsewhere": make_user("police", in_ward=elsewhere),
    }


def child_case(file_report, leader) -> str:
    return file_report(
        leader,
        kinds=["child_abuse"],
        victim_age_band="12_13",
        victim_sex="female",
        victim_name="Lò Thị Bé",
        victim_birth_year="2014",
        narrative="Cháu bị người dượng đánh nhiều lần.",
        perpetrator_relationship="other_family",
        perpetrator_name="Vàng A Dượng",
        child_serious_risk="yes",
        child_caregiver="perpetrator",
    )


def counts(db) -> dict[str, int]:
    """Rows per table, but for the audit trail and the sessions."""
    skipped = {AuditEntry.__tablename__, AuditHead.__tablename__, SessionRecord.__tablename__}
    with db.engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name not in skipped
        }


def entries(db, action: str, actor) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor_id == actor.id)
    ).all()


def test_a_child_victim_gets_forms_01_to_03_filled_from_the_case(
    db, client, people, file_report, login_as, caplog
):
    case_id = child_case(file_report, people["leader"])
    case = db.session.get(Case, case_id)
    police = people["police"]
    login_as(police)
    case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/intake"' in case_page
    before = counts(db)

    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/cases/{case_id}/intake")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for title in CHILD_FORMS:
        assert title in page
    for number in ("01", "02", "03"):
        assert f"Mẫu số {number} (Nghị định 56/2017/NĐ-CP)" in page
    assert FORM_TITLES["intake"] not in page
    # The case's values, clear and decrypted, are filled in.
    for value in (
        case.reference,
        "Lò Thị Bé",
        "2014",
        "Cháu bị người dượng đánh nhiều lần.",
        "Vàng A Dượng",
        "Từ đủ 12 đến dưới 14 tuổi (trẻ em)",
        "Người gây hại",  # who looks after the child now
        'Trẻ đang gặp nguy cơ nghiêm trọng</dt>\n      <dd class="text">Có',
    ):
        assert value in page, value
    assert 'class="blank"' in page  # what the case does not hold is left to fill by hand
    assert "Mức độ nguy cơ (cao, trung bình, thấp)" in page
    # A printable page: no script, a neutral title, its A4 rules in the site's stylesheet.
    assert "<script" not in page
    title = TITLE.search(page).group(1)
    assert title == "Dịch vụ phường"
    assert case.reference not in title and "Lò Thị Bé" not in title
    with client.get("/static/style.css") as sheet:
        stylesheet = sheet.get_data(as_text=True)
    assert "@media print" in stylesheet and "size: A4" in stylesheet

    # Audited as a print, stored nowhere, logged nowhere.
    printed = entries(db, "case.print", police)
    assert [(entry.target, entry.detail) for entry in printed] == [(case_id, None)]
    assert counts(db) == before
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("Lò Thị Bé", "Vàng A Dượng", "người dượng"):
        assert secret not in logged
    # Each view is one more entry.
    client.get(f"/cases/{case_id}/intake")
    assert len(entries(db, "case.print", police)) == 2


def test_printing_needs_a_recent_confirmation_and_comes_back_to_the_record(
    app, db, client, people, file_report, login_as
):
    case_id = child_case(file_report, people["leader"])
    police = people["police"]
    login_as(police)
    window = int(app.config["REAUTH_WINDOW"].total_seconds())
    with client.session_transaction() as session:
        session[AUTHENTICATED_AT] -= window + 1

    asked = client.get(f"/cases/{case_id}/intake")
    assert asked.status_code == 302
    assert asked.headers["Location"] == f"/account/confirm?next=/cases/{case_id}/intake"
    assert entries(db, "case.print", police) == []  # nothing was shown, so nothing printed

    confirmed = client.post(asked.headers["Location"], data=login_data(police))
    assert confirmed.headers["Location"] == f"/cases/{case_id}/intake"
    assert client.get(confirmed.headers["Location"]).status_code == 200
    assert len(entries(db, "case.print", police)) == 1


def test_an_adult_victim_gets_one_intake_record(db, client, people, file_report, login_as):
    case_id = file_report(
        people["leader"],
        victim_name="Hà Thị Lan",
        narrative="Bị chồng đánh.",
        victim_phone="0912 345 678",
    )
    case = db.session.get(Case, case_id)
    login_as(people["officer"])
    response = client.get(f"/cases/{case_id}/intake")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert FORM_TITLES["intake"] in page
    for title in CHILD_FORMS:
        assert title not in page
    assert "Mẫu số" not in page
    for value in (case.reference, "Hà Thị Lan", "Bị chồng đánh.", "0912 345 678", "Chồng"):
        assert value in page, value
    assert "Biện pháp bảo vệ đã áp dụng" in page  # to fill by hand
    assert "Lan" not in TITLE.search(page).group(1)
    assert len(entries(db, "case.print", people["officer"])) == 1


def test_english_shows_the_vietnamese_heading_first_then_its_own(
    db, client, people, file_report, login_as
):
    case_id = child_case(file_report, people["leader"])
    login_as(people["police"])
    client.get("/language/en")
    page = client.get(f"/cases/{case_id}/intake").get_data(as_text=True)
    vietnamese = page.index(FORM_TITLES["02"])
    english = page.index("Initial assessment of the risk")
    assert vietnamese < english


@pytest.mark.parametrize("who", ["leader", "admin", "police_elsewhere", "police"])
def test_who_cannot_read_the_case_gets_404_and_nothing_is_audited_as_read(
    db, client, people, file_report, login_as, who
):
    # A civil case goes to the officer and the chairman: the police of the ward cannot read it.
    case_id = file_report(people["leader"], victim_name="Hà Thị Lan")
    user = people[who]
    login_as(user)
    response = client.get(f"/cases/{case_id}/intake")
    assert response.status_code == 404
    assert "Hà Thị Lan" not in response.get_data(as_text=True)
    for action in ("case.print", "case.read"):
        assert entries(db, action, user) == []
