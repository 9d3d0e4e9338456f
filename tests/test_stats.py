"""Statistics: hand-counted tables, counting rules, periods, suppression on the page,
bad input, and a fixed number of SQL statements."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import counted_statements, report_data
from sqlalchemy import select, update

from bench.stats import insert_cases
from incidents.audit.models import AuditEntry
from incidents.cases.models import (
    SEALED_FIELDS,
    Case,
    CaseEvent,
    PerpetratorOutcome,
    ProtectionMeasure,
    SupportService,
)
from incidents.cases.service import file_report
from incidents.stats import periods
from incidents.stats.service import StatsError, compute
from incidents.timeutil import ward_today

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def _data(group_id, **changes):
    """A physical-harm report of March (the hand counts below are of physical harm)."""
    return report_data(
        group_id, incident_date=date(2026, 3, 1), **{"harm_forms": ["physical"], **changes}
    )


@pytest.fixture()
def counted(app, db, ward, make_user):
    """18 cases counted in March 2026, hand-counted below; 2 outside; 1 merged duplicate.

    A (group 1, 9 cases): domestic violence, physical, female 18-59, perpetrator male.
    B (group 2, 6): domestic violence and child abuse, physical and psychological, female
      under 16, perpetrator male.
    C (group 3, 3): trafficking, no harm form, male 16-17, perpetrator female; no consent.
    """
    leader = make_user("reporter", groups=list(ward.groups))
    group_a, group_b, group_c = (group.id for group in ward.groups)
    plan = (
        [dict(group_id=group_a)] * 8
        + [
            dict(
                group_id=group_b,
                kinds=["domestic_violence", "child_abuse"],
                victim_age_band="12_13",
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
                perpetrator_sex="female",
                consent="refused",
                signs_of_crime=True,
            )
        ]
        * 3
    )
    march = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    cases = []
    for number, changes in enumerate(plan):
        case = file_report(leader, _data(**changes))
        case.received_at = march + timedelta(hours=number)
        cases.append(case)
    # Just outside the period on the ward's clock (UTC+7): 31/03 24:00 and 28/02 23:59.
    for moment in (
        datetime(2026, 3, 31, 17, 0, tzinfo=UTC),
        datetime(2026, 2, 28, 16, 59, tzinfo=UTC),
    ):
        file_report(leader, _data(group_a)).received_at = moment
    # Inside on the ward's clock although it is still 28/02 in UTC: 01/03 00:30 local.
    file_report(leader, _data(group_a)).received_at = datetime(2026, 2, 28, 17, 30, tzinfo=UTC)
    a, b, c = cases[:8], cases[8:14], cases[14:]
    # A duplicate, merged into a[0]: not counted again.
    duplicate = file_report(leader, _data(group_a))
    duplicate.received_at = march
    duplicate.status, duplicate.close_reason = "closed", "duplicate"
    duplicate.merged_into_id = a[0].id
    # Statuses: 2 resolved, 1 unfounded (a trafficking case), 2 acknowledged, 13 new.
    for case, status, reason in (
        (a[0], "closed", "resolved"),
        (a[1], "closed", "resolved"),
        (c[0], "closed", "unfounded"),
        (b[0], "acknowledged", None),
        (b[1], "acknowledged", None),
    ):
        case.status, case.close_reason = status, reason
    # The C cases: c[0] was found unfounded; c[1] has a statutory ground (signs of a
    # crime), c[2] none; none of them consent. Every other case is verified.
    c[2].signs_of_crime = False
    db.session.flush()
    db.session.execute(update(Case).values(verification="verified"))
    db.session.execute(update(Case).where(Case.id == c[0].id).values(verification="unfounded"))
    # Acknowledgement: first status change out of "new" after 30 min, 5 h, 13 h, 30 h, 2 h.
    for case, hours in ((a[0], 0.5), (a[1], 5), (b[0], 13), (b[1], 30), (c[0], 2)):
        at = case.received_at + timedelta(hours=hours)
        db.session.add(
            CaseEvent(case_id=case.id, kind="status", at=at, detail={"from": "new", "to": "x"})
        )
    db.session.add(
        CaseEvent(
            case_id=a[0].id,
            kind="status",
            at=a[0].received_at + timedelta(hours=40),
            detail={"from": "acknowledged", "to": "closed"},
        )
    )
    by = leader.id
    for case, measure, day in (
        (a[0], "contact_ban", date(2026, 3, 11)),
        (a[0], "community_criticism", date(2026, 3, 12)),
        (a[1], "contact_ban", date(2026, 3, 11)),
        (a[1], "contact_ban", date(2026, 3, 20)),  # the same case again: once
        (b[0], "contact_ban", date(2026, 4, 15)),  # after the period: not counted
    ):
        db.session.add(
            ProtectionMeasure(case_id=case.id, measure=measure, applied_on=day, recorded_by_id=by)
        )
    for case, service, day in (
        (a[0], "health_care", date(2026, 3, 11)),
        (a[1], "legal_aid", date(2026, 3, 11)),
        (a[1], "health_care", date(2026, 3, 12)),
        (c[1], "temporary_shelter", date(2026, 3, 15)),
        (c[2], "temporary_shelter", date(2026, 4, 2)),  # after the period
    ):
        db.session.add(
            SupportService(case_id=case.id, service=service, received_on=day, recorded_by_id=by)
        )
    for case, counselled, prosecuted in (
        (a[0], True, False),
        (a[1], False, False),
        (b[0], True, True),
    ):
        db.session.add(
            PerpetratorOutcome(
                case_id=case.id, counselled=counselled, prosecuted=prosecuted, recorded_by_id=by
            )
        )
    db.session.commit()
    return leader


def _values(statistics, key):
    return [[cell.value for cell in cells] for _, cells in statistics.table(key).rows]


def _indicator(statistics, key):
    found = next(i for i in statistics.indicators if i.key == key)
    return found.numerator.value, found.denominator.value


def test_tables_match_the_hand_count(db, counted, make_user):
    statistics = compute(make_user("officer"), *MARCH, threshold=2)
    assert statistics.total.value == 18  # 17 in March, plus 01/03 00:30 ward time
    assert (statistics.purpose, statistics.rule) == ("dashboard", "all")
    # domestic violence, outside the family, child abuse, trafficking
    assert _values(statistics, "kinds") == [[15], [0], [6], [3]]
    assert _values(statistics, "harm_forms") == [[15], [6], [0], [0]]
    assert _values(statistics, "perpetrator_sex") == [[3], [15], [0]]  # female, male, unknown
    # Art. 22 order: order to stop, summons, contact ban, ..., community criticism (8th)
    measures = _values(statistics, "measures")
    assert measures[2] == [2] and measures[7] == [1]
    assert sum(row[0] for row in measures) == 3
    # The official tables' age groups: under 16, 16 to 59, 60 and over, unknown.
    assert _values(statistics, "sex_age") == [[6, 9, 0, 0], [0, 3, 0, 0], [0, 0, 0, 0]]
    sex_age = statistics.table("sex_age")
    assert [cell.value for cell in sex_age.row_totals] == [15, 3, 0]
    assert [cell.value for cell in sex_age.column_totals] == [6, 12, 0, 0]
    assert sex_age.total.value == 18
    assert _values(statistics, "groups") == [[9], [6], [3]]
    # new, acknowledged, in progress, waiting for information, closed, reopened
    assert _values(statistics, "status") == [[13], [2], [0], [0], [3], [0]]
    # resolved, unfounded, duplicate (merged: never counted), criminal procedure
    assert _values(statistics, "handled") == [[2], [1], [0], [0]]
    assert statistics.table("handled").column_totals[0].value == 3
    # < 1 h, 1-12 h, 12-24 h, > 24 h, not yet
    assert _values(statistics, "ack_time") == [[1], [2], [1], [1], [13]]
    assert statistics.table("per_month").rows[0][0] == "03/2026"
    assert _values(statistics, "per_month") == [[18]]
    assert _indicator(statistics, "victims_supported") == (3, 18)
    assert _indicator(statistics, "perpetrators_counselled") == (1, 2)
    # Trafficking: c[0] closed as unfounded is not a victim; c[2]'s service came later.
    assert _indicator(statistics, "trafficking_supported") == (1, 2)
    targets = {i.key: (i.target_2025, i.target_2030) for i in statistics.indicators}
    assert targets == {
        "victims_supported": (0.8, 0.9),
        "perpetrators_counselled": (0.5, 0.7),
        "trafficking_supported": (1.0, 1.0),
    }


def test_a_period_of_months_has_a_row_per_month(db, counted, make_user):
    statistics = compute(make_user("officer"), date(2026, 1, 1), date(2026, 4, 30), 2)
    assert [label for label, _ in statistics.table("per_month").rows] == [
        "01/2026",
        "02/2026",
        "03/2026",
        "04/2026",
    ]
    # 28/02 23:59 ward time is February; 31/03 24:00 is April.
    assert _values(statistics, "per_month") == [[0], [1], [18], [1]]


def test_a_merged_duplicate_is_counted_once(db, counted, make_user):
    officer = make_user("officer")
    assert compute(officer, *MARCH, 2).total.value == 18
    # Reopened (no longer merged), it counts as a case of its own.
    db.session.execute(
        update(Case)
        .where(Case.close_reason == "duplicate")
        .values(status="reopened", close_reason=None, merged_into_id=None)
    )
    assert compute(officer, *MARCH, 2).total.value == 19


def test_exports_count_only_consented_cases_or_with_a_statutory_basis(
    app, db, counted, make_user, monkeypatch
):
    officer = make_user("officer")
    monkeypatch.setitem(app.config, "STATS_EXPORT_BASIS", "consent")
    consent = compute(officer, *MARCH, purpose="export")
    assert (consent.purpose, consent.rule, consent.threshold) == ("export", "consent", 10)
    assert consent.total.value == 15  # the 3 trafficking cases have no consent
    assert _values(consent, "kinds") == [[15], [0], [6], [0]]
    monkeypatch.setitem(app.config, "STATS_EXPORT_BASIS", "consent_or_statute")
    statute = compute(officer, *MARCH, purpose="export")
    assert statute.rule == "consent_or_statute"
    assert statute.total.value == 16  # c[1] has a statutory basis; c[0] was unfounded
    # The dashboard, inside the ward, counts all.
    assert compute(officer, *MARCH).total.value == 18
    with pytest.raises(ValueError):
        compute(officer, *MARCH, 5, purpose="export")  # below the export threshold
    with pytest.raises(ValueError):
        compute(officer, *MARCH, purpose="press")


def test_one_group(db, counted, make_user, ward):
    officer = make_user("officer")
    statistics = compute(officer, *MARCH, 2, group_id=ward.groups[1].id)
    assert statistics.total.value == 6
    assert statistics.group == ward.groups[1].name
    assert _values(statistics, "groups") == [[6]]
    with pytest.raises(StatsError):
        compute(officer, *MARCH, 2, group_id=987654)
    with pytest.raises(StatsError):
        compute(officer, date(2026, 3, 2), date(2026, 3, 1), 2)


def test_small_counts_are_hidden_and_cannot_be_worked_out(db, counted, make_user):
    statistics = compute(make_user("officer"), *MARCH, threshold=5)
    groups = [cells[0] for _, cells in statistics.table("groups").rows]
    # 9, 6, 3 of 18: the 3 is hidden, and so is the 6, or 3 = 18 - 9 - 6 would give it away
    assert [cell.shown(5) for cell in groups] == ["9", "<5", "<5"]
    assert statistics.table("groups").column_totals[0].shown(5) == "18"
    status = {str(label): cells[0] for label, cells in statistics.table("status").rows}
    # closed (3) is hidden, so the handled table's total is hidden with it
    assert statistics.table("handled").column_totals[0].hidden
    assert sum(cell.hidden for cell in status.values()) >= 2
    for indicator in statistics.indicators:
        if indicator.numerator.hidden or indicator.denominator.hidden:
            assert indicator.share is None


def test_the_desks_page_shows_exact_counts_small_ones_included(
    db, client, counted, make_user, login_as
):
    """The desks' working view is exact (DOMAIN.md section 4): 9, 6 and 3 per group, the 3
    shown as 3; nothing is written as "<k"."""
    login_as(make_user("officer"))
    response = client.get("/stats/?first=2026-03-01&last=2026-03-31")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    groups = re.search(r'id="table-groups">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r'<td class="count">([^<]*)</td>', groups) == ["9", "6", "3", "18"]
    assert "&lt;" not in "".join(re.findall(r'<td class="count">([^<]*)</td>', page))
    assert re.search(r'class="total">18<', page)
    assert 'class="help rule"' in page  # what is counted, and that it is exact, is stated


def test_statistics_read_no_sealed_column(db, counted, make_user):
    # Garbage in every sealed column: counting must not even try to decrypt.
    db.session.execute(update(Case).values({name: b"garbage" for name in SEALED_FIELDS}))
    db.session.commit()
    statistics = compute(make_user("chairman"), *MARCH, 5)
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


def test_a_threshold_below_one_or_an_export_below_its_setting_is_refused(db, make_user):
    officer = make_user("officer")
    with pytest.raises(ValueError):
        compute(officer, date(2026, 1, 1), date(2026, 1, 2), 0)
    with pytest.raises(ValueError):
        compute(officer, date(2026, 1, 1), date(2026, 1, 2), 1, purpose="export")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("first=2026-05-01&last=2026-04-01", "Ngày kết thúc không được trước ngày bắt đầu"),
        ("first=&last=", "Hãy nhập ngày bắt đầu"),
        ("first=nonsense&last=2026-04-01", 'class="error"'),
        ("first=0001-01-01&last=2026-01-31", 'class="error"'),
        ("first=2026-01-01&last=9999-12-31", 'class="error"'),
        ("first=2026-01-01&last=2026-01-31&group=987654", "Tổ dân phố này không thuộc phường"),
        ("first=2026-01-01&last=2026-01-31&group=abc", "Tổ dân phố này không thuộc phường"),
    ],
)
def test_bad_input_gets_a_clear_message_and_a_400(db, client, make_user, login_as, query, message):
    login_as(make_user("chairman"))
    response = client.get(f"/stats/?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="total"' not in page
    # Nothing was counted (counting is audited).
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stats.view")) is None


def test_a_period_in_the_future_is_refused(db, client, make_user, login_as):
    login_as(make_user("officer"))
    tomorrow = ward_today() + timedelta(days=1)
    response = client.get(f"/stats/?first={tomorrow}&last={tomorrow + timedelta(days=30)}")
    assert response.status_code == 400
    assert "Kỳ này chưa bắt đầu" in response.get_data(as_text=True)
    # A period that has begun is counted up to today, and the page says so.
    today = ward_today()
    response = client.get(f"/stats/?first={today}&last={today + timedelta(days=30)}")
    assert response.status_code == 200
    assert "tính đến hôm nay" in response.get_data(as_text=True)


def test_the_presets_and_due_dates_follow_the_settings(app):
    reports = app.config["STATS_REPORTS"]
    half = periods.report_period(reports, "half_year", 2026)
    assert (half.first, half.last, half.due) == (
        date(2025, 11, 1),
        date(2026, 4, 30),
        date(2026, 5, 5),
    )
    annual = periods.report_period(reports, "annual", 2026)
    assert (annual.first, annual.last, annual.due) == (
        date(2025, 11, 1),
        date(2026, 10, 31),
        date(2026, 11, 20),
    )
    found = periods.presets(reports, date(2026, 12, 1))
    assert [(p.report, p.year) for p in found] == [
        ("annual", 2027),
        ("half_year", 2027),
        ("annual", 2026),
        ("half_year", 2026),
    ]
    other = {"half_year": {"first": (1, 1), "last": (6, 30), "due": (7, 15)}}
    assert periods.report_period(other, "half_year", 2026).first == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 4, 19), []),
        (date(2026, 4, 20), [("half_year", 15)]),
        (date(2026, 4, 23), [("half_year", 12)]),
        (date(2026, 5, 5), [("half_year", 0)]),
        (date(2026, 5, 6), []),
        (date(2026, 11, 5), [("annual", 15)]),
    ],
)
def test_reminders_from_15_days_before_each_due_date(app, today, expected):
    found = periods.reminders(app.config["STATS_REPORTS"], today, app.config["STATS_REMINDER_DAYS"])
    assert [(r.period.report, r.days_left) for r in found] == expected


@pytest.mark.parametrize("role", ["officer", "chairman"])
def test_the_reminder_shows_on_the_home_and_statistics_pages(
    app, db, client, make_user, login_as, monkeypatch, role
):
    today = ward_today()
    due = today + timedelta(days=12)
    monkeypatch.setitem(
        app.config,
        "STATS_REPORTS",
        {
            "half_year": {
                "first": (1, 1),
                "last": (today.month, today.day),
                "due": (due.month, due.day),
            }
        },
    )
    login_as(make_user(role))
    text = f"Báo cáo 6 tháng hạn {due.day}/{due.month}: còn 12 ngày"
    assert text in client.get("/cases/").get_data(as_text=True)
    assert text in client.get("/stats/").get_data(as_text=True)


def test_no_reminder_for_the_police(app, db, client, make_user, login_as, monkeypatch):
    today = ward_today()
    monkeypatch.setitem(
        app.config,
        "STATS_REPORTS",
        {
            "annual": {
                "first": (1, 1),
                "last": (today.month, today.day),
                "due": (today.month, today.day),
            }
        },
    )
    login_as(make_user("police"))
    assert "reminders" not in client.get("/cases/").get_data(as_text=True)


def test_the_page_costs_the_same_statements_for_10_and_1000_cases(
    db, client, ward, make_user, login_as
):
    officer = make_user("officer")
    login_as(officer)
    groups = [group.id for group in ward.groups]
    today = ward_today()
    url = f"/stats/?first={today - timedelta(days=800)}&last={today}"
    engine = db.engine

    def statements_of_page() -> int:
        with counted_statements(engine) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    insert_cases(ward.id, groups, officer.id, 10)
    few = statements_of_page()
    insert_cases(ward.id, groups, officer.id, 990, first_sequence=11)
    assert db.session.scalar(select(Case.id).limit(1)) is not None
    many = statements_of_page()
    assert few == many
