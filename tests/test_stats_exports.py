"""The figures to publish or share (XLSX, CSV: consent-gated, suppressed), the downloads' access
and audit, and the dashboard's charts. The statutory report's files: test_report_document.py."""

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from conftest import report_data
from flask import render_template_string
from sqlalchemy import func, insert, select, update

from incidents.audit.models import AuditEntry
from incidents.cases.models import Case
from incidents.cases.service import file_report
from incidents.spreadsheets import is_formula
from incidents.stats import charts, exports, periods
from incidents.stats.models import Publication
from incidents.stats.statutory import Block, StatutoryReport
from incidents.stats.tables import Cell, Indicator, Statistics, Table
from incidents.timeutil import ward_today
from incidents.wards.models import Ward
from incidents.web import AUTHENTICATED_AT

WARD = "Phường Quyết Thắng"
TRIGGERS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", " =1"]


def _statistics(hidden=(3, 4), threshold=10, group_names=("Bản 1", *TRIGGERS)) -> Statistics:
    """Hand-built statistics, with tables part A has not built yet (per_month, measures)."""
    small, other = hidden
    groups = [(name, [Cell(12 + number, False)]) for number, name in enumerate(group_names)]
    return Statistics(
        first=date(2026, 1, 1),
        last=date(2026, 6, 30),
        threshold=threshold,
        total=Cell(48, False),
        tables=[
            Table("harm_forms", "Cases by form of harm", ["Cases"], [
                ("Physical", [Cell(31, False)]),
                ("Sexual", [Cell(small, True)]),
                ("Economic", [Cell(0, False)]),
            ]),
            Table("sex_age", "Victims by sex and age", ["Under 16", "18 to 59"], [
                ("Female", [Cell(11, False), Cell(other, True)]),
                ("Male", [Cell(0, False), Cell(small, True)]),
            ]),
            Table("groups", "Cases by residential group", ["Cases"], groups),
            Table("per_month", "Cases per month", ["Cases"], [
                ("01/2026", [Cell(20, False)]),
                ("02/2026", [Cell(other, True)]),
            ]),
            Table("measures", "Perpetrators by measure applied", ["Perpetrators"], [
                ("Contact ban", [Cell(13, False)]),
            ]),
        ],
        indicators=[
            Indicator("services", "Victims who reached a support service",
                      Cell(12, False), Cell(20, False), 0.8, 0.9),
            Indicator("counselled", "Perpetrators not prosecuted who were counselled",
                      Cell(small, True), Cell(15, False), 0.5, 0.7),
        ],
    )  # fmt: skip


# The spreadsheet and the CSV.


def _workbook(statistics) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(statistics, WARD)))


def _cells(workbook):
    return [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]


def test_xlsx_stores_formula_like_text_as_text(app):
    with app.test_request_context():
        workbook = _workbook(_statistics())
    cells = _cells(workbook)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "a formula"
    by_value = {cell.value: cell for cell in cells if isinstance(cell.value, str)}
    for text in TRIGGERS:
        cell = by_value[text]  # the text itself, as typed
        assert (cell.data_type, cell.quotePrefix) == ("s", True), repr(text)
    plain = by_value["Bản 1"]
    assert (plain.data_type, plain.quotePrefix) == ("s", False)


def test_xlsx_has_a_sheet_per_table_stating_title_period_and_rule(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        statistics = _statistics()
        workbook = _workbook(statistics)
    # Every table, those part A adds included, and the indicators.
    assert len(workbook.sheetnames) == 1 + len(statistics.tables) + 1
    sheet = workbook["Cases per month"]
    assert sheet["A1"].value == "Cases per month"
    assert sheet["A2"].value == "Cases received from 01/01/2026 to 30/06/2026"
    assert sheet["A3"].value.startswith("Suppression threshold 10: counts from 1 to 9 are shown")
    assert sheet["A4"].value.startswith("Counted: every case of the ward")  # which rule
    assert [[cell.value for cell in row] for row in sheet.iter_rows(min_row=6)] == [
        [None, "Cases"],
        ["01/2026", 20],
        ["02/2026", "<10"],
    ]
    indicators = [[cell.value for cell in row] for row in workbook["Indicators"].iter_rows()]
    assert ["Victims who reached a support service", 12, 20, 0.6, 0.8, 0.9] in indicators
    assert [
        "Perpetrators not prosecuted who were counselled", "<10", 15, "not published", 0.5, 0.7
    ] in indicators  # fmt: skip


def _csv_rows(statistics) -> list[list[str]]:
    body = exports.csv_bytes(statistics, WARD)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode()[1:])))


def test_csv_neutralises_formula_like_text_with_a_quote(app):
    with app.test_request_context():
        rows = _csv_rows(_statistics())
    labels = [row[0] for row in rows if row]
    for text in TRIGGERS:
        assert "'" + text in labels, repr(text)
        assert text not in labels
    assert "Bản 1" in labels
    assert not [label for label in labels if is_formula(label)]


def test_csv_has_a_section_per_table_with_title_period_and_rule(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        rows = _csv_rows(_statistics())
    start = rows.index(["Perpetrators by measure applied"])  # a table part A adds
    assert rows[start + 1] == ["Cases received from 01/01/2026 to 30/06/2026"]
    assert rows[start + 2][0].startswith("Suppression threshold 10: counts from 1 to 9")
    assert rows[start + 3][0].startswith("Counted: every case of the ward")  # rule "all"
    assert rows[start + 5 : start + 7] == [["", "Perpetrators"], ["Contact ban", "13"]]
    assert ["Victims who reached a support service", "12", "20", "60.0%", "80.0%", "90.0%"] in rows


def _xlsx_sheets(body: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = sorted(name for name in archive.namelist() if name.startswith("xl/"))
        return [archive.read(name).decode() for name in names]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_hidden_count_is_written_as_less_than_k_and_its_value_nowhere(app, kind):
    """The export is the same whatever a hidden cell's true value is: it cannot tell it."""
    write = {
        "xlsx": lambda s: _xlsx_sheets(exports.xlsx_bytes(s, WARD)),
        "csv": lambda s: exports.csv_bytes(s, WARD),
    }[kind]
    with app.test_request_context():
        made = [write(_statistics(hidden=values)) for values in [(1, 2), (3, 4), (9, 8)]]
    assert made[0] == made[1] == made[2]
    text = "".join(made[0]) if kind == "xlsx" else made[0].decode()
    assert "&lt;10" in text if kind == "xlsx" else '"<10"' in text


def test_csv_and_xlsx_show_hidden_cells_as_less_than_k(app):
    with app.test_request_context():
        statistics = _statistics(hidden=(3, 7))
        rows = _csv_rows(statistics)
        values = [cell.value for cell in _cells(_workbook(statistics))]
    assert ["Sexual", "<10"] in rows and ["Female", "11", "<10"] in rows
    assert not [row for row in rows if "3" in row or "7" in row]
    assert "<10" in values and 3 not in values and 7 not in values


def test_a_sheet_name_is_valid_and_unique():
    taken: set[str] = set()
    names = [exports._sheet_name("Cases: by [kind]/form? " * 3, taken) for _ in range(3)]
    assert len(set(names)) == 3
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in names)


# The endpoints: who may export, re-authentication, the audit.

MARCH = {"first": "2026-03-01", "last": "2026-03-31"}
# Each download: the statutory report's by GET; a publication by POST (it fixes the period).
DOWNLOADS = {
    "xlsx": ("POST", "/stats/publish", {**MARCH, "format": "xlsx"}),
    "csv": ("POST", "/stats/publish", {**MARCH, "format": "csv"}),
    "report.docx": ("GET", "/stats/report.docx?first=2026-03-01&last=2026-03-31", None),
    "report.xlsx": ("GET", "/stats/report.xlsx?first=2026-03-01&last=2026-03-31", None),
}
MEDIA_TYPES = {**exports.EXPORTS, "report.docx": exports.DOCX, "report.xlsx": exports.XLSX}


def _fetch(client, kind, **period):
    """Download kind (DOWNLOADS) for MARCH, or for the period given (publications)."""
    method, url, data = DOWNLOADS[kind]
    return client.open(url, method=method, data=data and {**data, **period})


@pytest.fixture()
def counted(db, ward, make_user):
    """26 cases in March 2026: 12, 11 and 3 in the three groups (the 3 is hidden at k=10)."""
    leader = make_user("reporter", groups=list(ward.groups))
    first, second, third = (group.id for group in ward.groups)
    march = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    for number, group in enumerate([first] * 12 + [second] * 11 + [third] * 3):
        data = report_data(group, incident_date=date(2026, 3, 1))
        file_report(leader, data).received_at = march + timedelta(hours=number)
    db.session.flush()
    db.session.execute(update(Case).values(verification="verified"))  # published: verified
    db.session.commit()
    return leader


def _exports_audited(db):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "stats.export").order_by(AuditEntry.seq)
    ).all()


@pytest.mark.parametrize("kind", sorted(DOWNLOADS))
def test_an_export_is_an_attachment_never_cached_and_audited_once(
    db, client, counted, make_user, login_as, kind
):
    officer = make_user("officer")
    login_as(officer)
    response = _fetch(client, kind)
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPES[kind]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith(f'.{kind[-4:]}"')
    assert disposition.endswith(f'_2026-03-01_2026-03-31.{kind[-4:]}"')
    assert "no-store" in response.headers["Cache-Control"]
    entries = _exports_audited(db)
    assert [(entry.actor_id, entry.detail) for entry in entries] == [
        (officer.id, f"{kind} 2026-03-01..2026-03-31")
    ]


def test_the_exported_counts_come_from_the_cases_with_the_export_threshold(
    db, client, counted, make_user, login_as
):
    login_as(make_user("chairman"))
    rows = list(csv.reader(io.StringIO(_fetch(client, "csv").get_data(as_text=True)[1:])))
    assert ["Số vụ việc tiếp nhận", "26"] in rows and ["Bạo lực gia đình", "26"] in rows
    assert ["Tổ dân phố số 1", "12"] in rows
    assert ["Bản 2", "<10"] in rows
    assert not [row for row in rows if "3" in row]
    workbook = openpyxl.load_workbook(io.BytesIO(_fetch(client, "xlsx").data))
    values = [cell.value for cell in _cells(workbook)]
    assert 12 in values and "<10" in values and 3 not in values


@pytest.mark.parametrize("kind", sorted(DOWNLOADS))
def test_a_stale_session_is_sent_to_confirm_first_and_nothing_is_exported(
    app, db, client, counted, make_user, login_as, kind
):
    login_as(make_user("officer"))
    with client.session_transaction() as session:
        session[AUTHENTICATED_AT] -= int(app.config["REAUTH_WINDOW"].total_seconds()) + 1
    response = _fetch(client, kind)
    assert response.status_code == 302
    location = unquote(response.headers["Location"])
    # Back, after confirming, to the download (a GET) or to the publication's page.
    back = "/stats/publish?first=2026-03-01&last=2026-03-31" if "." not in kind else "/stats/report"
    assert location.startswith(f"/account/confirm?next={back}")
    assert _exports_audited(db) == []
    assert db.session.scalar(select(func.count()).select_from(Publication)) == 0


@pytest.mark.parametrize("role", ["police", "reporter", "admin", "partner"])
def test_roles_that_may_not_export_get_404(db, client, counted, make_user, login_as, role):
    login_as(make_user(role))
    for kind in DOWNLOADS:
        assert _fetch(client, kind).status_code == 404
    assert client.get("/stats/publish").status_code == 404
    assert _exports_audited(db) == []


def test_a_bad_period_is_refused_with_a_message_and_nothing_exported(
    db, client, counted, make_user, login_as
):
    login_as(make_user("officer"))
    for first, last in (("2026-05-01", "2026-04-01"), ("nonsense", "2026-04-01")):
        response = _fetch(client, "xlsx", first=first, last=last)
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert 'class="error"' in page and 'value="2026-04-01"' in page
        shown = client.get(f"/stats/indicator/victims_supported?first={first}&last={last}")
        assert shown.status_code == 400 and 'value="2026-04-01"' in shown.get_data(as_text=True)
    assert _exports_audited(db) == []


def test_the_service_refuses_a_role_that_may_not_export(db, make_user):
    with pytest.raises(PermissionError):
        exports.export(make_user("police"), "csv", date(2026, 1, 1), date(2026, 1, 2), 10)
    assert _exports_audited(db) == []


def test_a_publication_overlapping_one_already_published_is_refused(
    db, client, counted, make_user, login_as
):
    """Two overlapping periods could be subtracted to give away a hidden count (DOMAIN.md
    section 4): the same period again, or one apart, is published; an overlap is refused,
    what was asked kept on the page."""
    login_as(make_user("officer"))
    assert _fetch(client, "csv").status_code == 200
    assert _fetch(client, "xlsx").status_code == 200  # the same period, another format
    assert _fetch(client, "csv", first="2026-04-01", last="2026-04-30").status_code == 200
    # The statutory report of any period is not a publication: never refused for this.
    assert client.get("/stats/report.xlsx?first=2026-03-15&last=2026-04-15").status_code == 200
    for first, last in (("2026-03-15", "2026-04-15"), ("2026-03-01", "2026-03-30")):
        refused = _fetch(client, "xlsx", first=first, last=last)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 409
        assert "đã được công bố" in page and 'class="error"' in page
        assert f'value="{first}"' in page and f'value="{last}"' in page
        # The page says so before anything is asked, and offers no download.
        shown = client.get(f"/stats/publish?first={first}&last={last}").get_data(as_text=True)
        assert "đã được công bố" in shown and 'name="format"' not in shown
    details = [entry.detail for entry in _exports_audited(db)]
    assert details == [
        "csv 2026-03-01..2026-03-31",
        "xlsx 2026-03-01..2026-03-31",
        "csv 2026-04-01..2026-04-30",
        "report.xlsx 2026-03-15..2026-04-15",
    ]


def test_a_period_published_again_gives_the_files_that_went_out(
    db, client, counted, make_user, login_as
):
    """Counted anew weeks later, one period could be subtracted from itself: a case
    verified or corrected in between would stand out. It is served as it went out."""
    login_as(make_user("officer"))
    first = _fetch(client, "csv").data
    shown = client.get("/stats/publish?first=2026-03-01&last=2026-03-31").get_data(as_text=True)
    assert "Đã công bố ngày" in shown
    db.session.execute(update(Case).values(verification="pending"))  # every count changes
    db.session.commit()
    assert _fetch(client, "csv").data == first
    assert db.session.scalar(select(func.count()).select_from(Publication)) == 1
    # Published before the files were kept (0018): that period is not counted again.
    ward_id = counted.ward_id
    db.session.add(Publication(ward_id=ward_id, first=date(2026, 5, 1), last=date(2026, 5, 31)))
    db.session.commit()
    again = _fetch(client, "csv", first="2026-05-01", last="2026-05-31")
    assert again.status_code == 409 and "tệp đã đưa ra" in again.get_data(as_text=True)


def test_a_get_of_the_publication_page_publishes_nothing(db, client, counted, make_user, login_as):
    login_as(make_user("chairman"))
    offered = client.get("/stats/publish").get_data(as_text=True)
    ended = periods.presets(client.application.config["STATS_REPORTS"], ward_today())
    ended = [period for period in ended if period.counted_to < ward_today()]
    expected = f'value="{ended[0].first.isoformat()}"'
    assert expected in offered  # the latest ended official period, whole
    page = client.get("/stats/publish?first=2026-03-01&last=2026-03-31")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'method="post"' in text and 'name="format" value="csv"' in text
    assert "Chưa công bố" in text
    assert db.session.scalar(select(func.count()).select_from(Publication)) == 0
    assert _exports_audited(db) == []


# The charts.

CHART = '{% for chart in charts %}{% include "stats/_chart.html" %}{% endfor %}'


# The hand-built tables drawn as the page draws its charts.
DRAWN = (("per_month", False), ("harm_forms", False), ("sex_age", True))


def _svg(app, statistics) -> str:
    drawn = [
        charts.chart(statistics.table(key), statistics.threshold, by_column)
        for key, by_column in DRAWN
    ]
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        page = render_template_string(CHART, charts=drawn)
    return page


def test_the_page_charts_months_and_the_statutory_victims_and_forms_in_order():
    statistics = _statistics()
    report = StatutoryReport(
        statistics.first,
        statistics.last,
        48,
        [Block("domestic_violence", "DV", [
            Table("dv_victims", "Victims", ["Under 16"], [("Female", [Cell(2, False)])]),
            Table("dv_acts", "Acts", ["Cases"], [("a.", [Cell(1, False)])]),
            Table("dv_harm_forms", "Forms", ["Cases"], [("Physical", [Cell(1, False)])]),
        ])],
    )  # fmt: skip
    keys = [chart.key for chart in charts.dashboard_charts(report, statistics)]
    assert keys == ["per_month", "dv_victims", "dv_harm_forms"]
    statistics.tables = [t for t in statistics.tables if t.key != "per_month"]
    keys = [chart.key for chart in charts.dashboard_charts(report, statistics)]
    assert keys == ["dv_victims", "dv_harm_forms"]
    victims = charts.dashboard_charts(report, statistics)[0]
    assert [bar.text for group in victims.groups for bar in group.bars] == ["2"]  # exact


def test_a_hidden_count_never_shapes_the_chart(app):
    """The SVG is the same for every true value a hidden cell may have; it says "<k"."""
    drawn = [_svg(app, _statistics(hidden=values, threshold=5)) for values in [(1, 2), (4, 3)]]
    assert drawn[0] == drawn[1]
    svg = re.findall(r"<svg.*?</svg>", drawn[0], re.S)
    assert len(svg) == 3
    texts = re.findall(r">([^<]+)</text>", "".join(svg))
    assert "&lt;5" in texts
    assert not {"1", "2", "3", "4"} & set(texts)


def test_the_chart_is_an_image_named_by_its_caption_with_its_numbers_as_a_table(app):
    page = _svg(app, _statistics())
    figure = re.search(r'<figure class="chart">.*?</figure>', page, re.S).group(0)
    caption = re.search(r'<figcaption id="([^"]+)">Cases per month</figcaption>', figure)
    assert caption
    assert f'role="img" aria-labelledby="{caption.group(1)}"' in figure
    assert '<td class="count">20</td>' in figure and '<td class="count">&lt;10</td>' in figure
    assert "style=" not in page  # the CSP allows no style attribute
    assert 'viewBox="0 0 360 ' in figure  # drawn for a 360-px screen, scaled by CSS


def test_the_dashboard_shows_the_charts_and_the_export_links(
    db, client, counted, make_user, login_as
):
    login_as(make_user("officer"))
    page = client.get("/stats/?first=2026-03-01&last=2026-03-31").get_data(as_text=True)
    assert page.count('<figure class="chart">') == 3  # per month, DV victims, DV forms
    for url in ("report.docx", "report.xlsx"):
        assert f'href="/stats/{url}?first=2026-03-01&amp;last=2026-03-31"' in page
    # Publishing offers the official periods that have ended, not the page's period.
    assert 'href="/stats/publish"' in page
    assert "style=" not in page
    # Each table once: a charted table is shown in its figure, not again below.
    assert 'id="table-dv_harm_forms"' not in page and 'id="table-per_month"' not in page
    assert page.count('id="table-groups"') == 1 and page.count('id="table-gbv_harm_forms"') == 1
    assert page.count("<caption>Vụ việc theo tổ dân phố, bản</caption>") == 1


def test_two_publications_asked_at_once_are_made_one_after_the_other(
    app, db, counted, make_user, login_as
):
    """Another publication holds the ward's row (not yet committed) when this one comes:
    it waits, then sees that one and refuses its overlapping period."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite lets one writer in at a time")
    import threading
    import time

    officer = make_user("officer")
    web = login_as(officer, on=app.test_client())
    answers = []
    other = db.engine.connect()
    try:
        other.execute(select(Ward.id).where(Ward.id == officer.ward_id).with_for_update())
        other.execute(
            insert(Publication).values(
                ward_id=officer.ward_id,
                first=date(2026, 3, 1),
                last=date(2026, 3, 20),
                published_at=datetime.now(UTC),
                xlsx=b"x",
                csv=b"c",
            )
        )
        asking = threading.Thread(target=lambda: answers.append(_fetch(web, "csv")))
        asking.start()
        time.sleep(0.5)
        assert answers == []  # waits for the other publication's lock
        other.commit()
    finally:
        other.close()
    asking.join(timeout=30)
    assert answers[0].status_code == 409
    assert "đã được công bố" in answers[0].get_data(as_text=True)
