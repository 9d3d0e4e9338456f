"""The desks' queue: filters, search, pages, and a fixed number of SQL statements."""

import re
from datetime import timedelta

import pytest
from conftest import counted_statements, report_data
from sqlalchemy import update

from incidents.cases import service
from incidents.cases.models import Case, CaseDeadline
from incidents.timeutil import utcnow
from incidents.triage.queue import PAGE_SIZE

REFERENCE = re.compile(r"<strong>([A-Z]+-\d{4}-\d{4})</strong>")


def _file_many(db, leader, n: int, **changes) -> list[Case]:
    cases = [
        service.file_report(leader, report_data(leader.groups[0].id, **changes)) for _ in range(n)
    ]
    db.session.commit()
    return cases


def _shown(response) -> list[str]:
    assert response.status_code == 200
    return REFERENCE.findall(response.get_data(as_text=True))


@pytest.fixture()
def office(db, ward, make_user):
    leader = make_user("reporter")
    officer = make_user("officer")
    return leader, officer


def test_the_queue_costs_the_same_statements_for_10_and_1000_cases(db, client, office, login_as):
    leader, officer = office

    def busy_ward(n: int):
        _file_many(db, leader, n, kinds=["trafficking"])
        # Every clock overdue and a third with a handler: every part of the page has rows.
        db.session.execute(update(CaseDeadline).values(due_at=utcnow() - timedelta(minutes=1)))
        db.session.execute(update(Case).where(Case.sequence % 3 == 0).values(handler_id=officer.id))
        db.session.commit()

    def statements_per_page() -> dict:
        counts = {}
        for url in ("/cases/", "/cases/?status=all&overdue=1&kind=trafficking", "/cases/?page=2"):
            client.get(url)  # warm what a first request fills (translations, templates)
            with counted_statements(db.engine) as statements:
                response = client.get(url)
            assert _shown(response)  # every page measured lists cases
            counts[url] = len(statements)
        return counts

    busy_ward(10)  # page 2 of 10 cases is shown as the last page: still a page of cases
    login_as(officer)
    few = statements_per_page()
    busy_ward(990)
    many = statements_per_page()
    assert many == few
    assert "1000 vụ việc" in client.get("/cases/").get_data(as_text=True)
    assert len(_shown(client.get("/cases/?page=2"))) == PAGE_SIZE


def test_filters_search_and_pages(db, client, office, make_user, make_ward, login_as, ward):
    leader, officer = office
    second_group_leader = make_user("reporter", groups=[ward.groups[1]])
    dv = _file_many(db, leader, 3)
    trafficking = _file_many(db, leader, 2, kinds=["trafficking"], immediate_danger=True)
    other_group = _file_many(db, second_group_leader, 1)
    elsewhere = make_ward(code="XQ")
    _file_many(db, make_user("reporter", in_ward=elsewhere), 2)  # never in this queue
    db.session.execute(
        update(Case).where(Case.id == dv[0].id).values(status="closed", close_reason="resolved")
    )
    db.session.execute(update(Case).where(Case.id == dv[1].id).values(handler_id=officer.id))
    db.session.execute(
        update(CaseDeadline)
        .where(CaseDeadline.case_id == trafficking[0].id)
        .values(due_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    login_as(officer)
    refs = {case.id: case.reference for case in (*dv, *trafficking, *other_group)}

    def shown(query: str) -> set[str]:
        return set(_shown(client.get(f"/cases/?{query}")))

    open_cases = {refs[c.id] for c in (dv[1], dv[2], *trafficking, *other_group)}
    assert shown("") == open_cases  # the default: open cases of his ward
    assert shown("status=all") == open_cases | {refs[dv[0].id]}
    assert shown("status=closed") == {refs[dv[0].id]}
    assert shown("kind=trafficking") == {refs[c.id] for c in trafficking}
    assert shown("urgency=immediate") == {refs[c.id] for c in trafficking}
    assert shown(f"group={ward.groups[1].id}") == {refs[other_group[0].id]}
    assert shown("handler=mine") == {refs[dv[1].id]}
    assert shown(f"handler={officer.id}") == {refs[dv[1].id]}
    assert shown("handler=none") == open_cases - {refs[dv[1].id]}
    assert shown("overdue=1") == {refs[trafficking[0].id]}
    assert shown(f"reference={refs[dv[2].id].lower()}") == {refs[dv[2].id]}
    assert shown("reference=QT-2026-") == open_cases
    assert shown("reference=%25") == set()  # a wildcard is searched for, not expanded
    # Overdue first, then the most urgent.
    order = _shown(client.get("/cases/"))
    assert order[0] == refs[trafficking[0].id] and order[1] == refs[trafficking[1].id]


def test_pages_hold_every_case_once(db, client, office, login_as):
    leader, officer = office
    cases = _file_many(db, leader, PAGE_SIZE * 2 + 3)
    login_as(officer)
    seen = []
    for page in (1, 2, 3):
        text = client.get(f"/cases/?page={page}").get_data(as_text=True)
        assert f"Trang {page} / 3" in text
        seen += REFERENCE.findall(text)
    assert sorted(seen) == sorted(case.reference for case in cases)
    # Past the last page: the last page, not an error.
    assert _shown(client.get("/cases/?page=99")) == REFERENCE.findall(
        client.get("/cases/?page=3").get_data(as_text=True)
    )


@pytest.mark.parametrize(
    "query",
    [
        "status=nonsense",
        "kind=x",
        "urgency=1",
        "group=abc",
        "handler=999999",
        "page=0",
        "page=abc",
        "overdue=2",
        "reference=" + "Q" * 40,
        "group=99999",
        "reference=QT%00",  # a NUL byte: PostgreSQL refused it with an error (a 500)
        "reference=%E2%80%AEQT",  # a right-to-left override
    ],
)
def test_bad_filters_get_a_clear_message(db, client, office, login_as, query):
    leader, officer = office
    _file_many(db, leader, 1)
    login_as(officer)
    response = client.get(f"/cases/?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Một số bộ lọc không hợp lệ" in text
    assert REFERENCE.findall(text) == []
