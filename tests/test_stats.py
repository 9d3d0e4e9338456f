"""Statistics: hand-counted tables, period bounds on the ward's clock, suppression."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import report_data
from sqlalchemy import select, update

from incidents.audit.models import AuditEntry
from incidents.cases.models import SEALED_FIELDS, Case
from incidents.cases.service import file_report
from incidents.stats.service import compute, suppress


def _data(group_id, **changes):
    return report_data(group_id, incident_date=date(2026, 3, 1), **changes)


@pytest.fixture()
def counted(app, db, ward, make_user):
    """17 cases in March 2026, hand-counted below, and 2 outside the period."""
    leader = make_user("reporter", groups=list(ward.groups))
    group_a, group_b, group_c = (group.id for group in ward.groups)
    plan = (
        [dict(group_id=group_a)] * 8
        + [
            dict(
                group_id=group_b,
                kinds=["domestic_violence", "child_abuse"],
                victim_age_band="under_16",
                harm_forms=["physical", "psychological"],
            )
        ]
        * 6
        + [
            dict(
                group_id=group_c,
                kinds=["trafficking"],
                harm_forms=[],
                victim_sex="male",
                victim_age_band="16_17",
            )
        ]
        * 3
    )
    march = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    for number, changes in enumerate(plan):
        case = file_report(leader, _data(**changes))
        case.received_at = march + timedelta(hours=number)
    # Just outside the period on the ward's clock (UTC+7): 31/03 24:00 and 28/02 23:59.
    for moment in (
        datetime(2026, 3, 31, 17, 0, tzinfo=UTC),
        datetime(2026, 2, 28, 16, 59, tzinfo=UTC),
    ):
        file_report(leader, _data(group_a)).received_at = moment
    # Inside on the ward's clock although it is still 28/02 in UTC: 01/03 00:30 local.
    file_report(leader, _data(group_a)).received_at = datetime(2026, 2, 28, 17, 30, tzinfo=UTC)
    db.session.commit()
    return leader


def _table(statistics, index):
    return {label: [cell.value for cell in cells] for label, cells in statistics.tables[index].rows}


def test_tables_match_the_hand_count(db, counted, make_user):
    officer = make_user("officer")
    statistics = compute(officer, date(2026, 3, 1), date(2026, 3, 31), threshold=5)
    assert statistics.total.value == 18  # 17 in March, plus 01/03 00:30 ward time
    kinds = _table(statistics, 0)
    assert list(kinds.values()) == [[15], [0], [6], [3]]
    harms = _table(statistics, 1)
    assert list(harms.values()) == [[15], [6], [0], [0]]
    sex_age = _table(statistics, 2)
    assert list(sex_age.values()) == [[6, 0, 9, 0, 0], [0, 3, 0, 0, 0], [0, 0, 0, 0, 0]]
    assert list(_table(statistics, 3).values()) == [[9], [6], [3]]
    # new, acknowledged, in progress, waiting for information, closed, reopened
    assert list(_table(statistics, 4).values()) == [[18], [0], [0], [0], [0], [0]]


def test_small_counts_are_hidden_and_a_lone_hidden_cell_gets_company(db, counted, make_user):
    officer = make_user("officer")
    statistics = compute(officer, date(2026, 3, 1), date(2026, 3, 31), threshold=5)
    groups = [cells[0] for _, cells in statistics.tables[3].rows]
    # 9, 6, 3: the 3 is hidden, and so is the 6, or 3 = 18 - 9 - 6 would give it away
    assert [cell.hidden for cell in groups] == [False, True, True]
    assert [cell.shown(5) for cell in groups] == ["9", "<5", "<5"]


def test_the_page_shows_no_count_from_1_to_4_and_an_honest_total(
    db, client, counted, make_user, login_as
):
    login_as(make_user("officer"))
    page = client.get("/stats/?first=2026-03-01&last=2026-03-31").get_data(as_text=True)
    shown = re.findall(r'<td class="count">([^<]*)</td>', page)
    assert shown, "the page shows tables"
    assert not any(value in {"1", "2", "3", "4"} for value in shown)
    assert "&lt;5" in shown
    assert re.search(r'class="total">18<', page)


def test_statistics_read_no_sealed_column(db, counted, make_user):
    # Garbage in every sealed column: counting must not even try to decrypt.
    db.session.execute(update(Case).values({name: b"garbage" for name in SEALED_FIELDS}))
    db.session.commit()
    statistics = compute(make_user("chairman"), date(2026, 3, 1), date(2026, 3, 31), 5)
    assert statistics.total.value == 18


def test_viewing_statistics_is_audited(db, counted, make_user):
    officer = make_user("officer")
    compute(officer, date(2026, 1, 1), date(2026, 6, 30), 5)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "stats.view")).one()
    assert (entry.actor_id, entry.detail) == (officer.id, "2026-01-01..2026-06-30")


def test_only_the_officer_and_the_chairman_may_count(db, make_user):
    for role in ("police", "reporter", "admin"):
        with pytest.raises(PermissionError):
            compute(make_user(role), date(2026, 1, 1), date(2026, 1, 2), 5)


def test_a_bad_period_gets_a_message(db, client, make_user, login_as):
    login_as(make_user("officer"))
    for query in ("first=2026-05-01&last=2026-04-01", "first=nonsense&last=2026-04-01"):
        response = client.get(f"/stats/?{query}")
        assert response.status_code == 200
        assert 'class="error"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("counts", "partition", "hidden"),
    [
        ([0, 1, 4, 5, 9], False, [False, True, True, False, False]),
        ([7, 3, 0], True, [True, True, False]),
        ([7, 3, 2], True, [False, True, True]),
        ([7, 9, 0], True, [False, False, False]),
        ([3, 0, 0], True, [True, False, False]),  # nothing else to hide: total is <5 too
        ([3], False, [True]),
    ],
)
def test_suppress(counts, partition, hidden):
    assert [cell.hidden for cell in suppress(counts, 5, partition)] == hidden


def test_threshold_below_two_is_refused(db, make_user):
    with pytest.raises(ValueError):
        compute(make_user("officer"), date(2026, 1, 1), date(2026, 1, 2), 1)


@pytest.mark.parametrize(
    "query", ["first=0001-01-01&last=2026-01-31", "first=2026-01-01&last=9999-12-31"]
)
def test_a_period_beyond_the_calendar_gets_a_message_not_a_500(
    db, client, make_user, login_as, query
):
    login_as(make_user("chairman"))
    response = client.get(f"/stats/?{query}")
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
