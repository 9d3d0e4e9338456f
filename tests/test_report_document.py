"""The statutory report as files (issue 14): the Decree 30 .docx, its tables as .xlsx, and
the statistics page, all from one StatutoryReport; the .docx as LibreOffice lays it out."""

import io
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, timedelta

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

# The mix of cases filed and verified, and its fixture (used by name).
from test_statutory import MIX, mix  # noqa: F401

from incidents.stats import exports, periods, statutory
from incidents.stats.report_document import (
    ReportSettings,
    estimate_for,
    in_running_text,
    numbered_tables,
    official_date,
    place_of,
    report_docx,
    report_title,
    table_lines,
    workbook_sections,
)
from incidents.stats.statutory import StatutoryReport
from incidents.timeutil import ward_today

WARD = "Phường Quyết Thắng"
REPORTS = {
    "half_year": {"first": (11, 1), "last": (4, 30), "due": (5, 5)},
    "annual": {"first": (11, 1), "last": (10, 31), "due": (11, 20)},
}
SETTINGS = ReportSettings(
    recipients=("Ủy ban nhân dân tỉnh Lai Châu",),
    copies=("Như trên", "TT. HĐND phường"),
    filed_as="VT, VHXH",
    signature=("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
    signer_name="Nguyễn Văn Ký",
    place="",
    reports=REPORTS,
)
ISSUED = date(2026, 5, 5)


def _period():
    today = ward_today()
    return today - timedelta(days=30), today


@pytest.fixture()
def report(app, mix):  # noqa: F811
    officer, _cases = mix
    return statutory.compute(officer, *_period())


def _document(app, report, settings=SETTINGS, issued_on=ISSUED):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        body = report_docx(report, WARD, settings, issued_on)
    return docx.Document(io.BytesIO(body)), body


def _paragraphs(document):
    """Every paragraph, those inside tables (the header, the signature block) included."""
    found = list(document.paragraphs)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                found += cell.paragraphs
    return found


def _paragraph(document, text):
    matches = [p for p in _paragraphs(document) if p.text == text]
    assert matches, f"no paragraph {text!r}"
    return matches[0]


def _starting(document, start):
    return next(p for p in _paragraphs(document) if p.text.startswith(start))


def _grids(document):
    """The ruled tables (the annex), as rows of cell texts."""
    return [
        [[cell.text for cell in row.cells] for row in table.rows]
        for table in document.tables
        if table.style is not None and table.style.name == "Table Grid"
    ]


# Decree 30/2020: A4; margins top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
SIZES = {
    "top_margin": (20, 25),
    "bottom_margin": (20, 25),
    "left_margin": (30, 35),
    "right_margin": (15, 20),
}


def test_the_report_is_a4_with_the_decree_margins_and_a_landscape_annex(app, report):
    document, _body = _document(app, report)
    text, annex = document.sections
    assert (round(text.page_width.mm), round(text.page_height.mm)) == (210, 297)
    for name, (least, most) in SIZES.items():
        assert least <= round(getattr(text, name).mm, 1) <= most, name
    assert (round(annex.page_width.mm), round(annex.page_height.mm)) == (297, 210)
    assert annex.orientation == docx.enum.section.WD_ORIENT.LANDSCAPE
    runs = [run for paragraph in _paragraphs(document) for run in paragraph.runs if run.text]
    assert runs and {run.font.name for run in runs} == {"Times New Roman"}


def test_the_header_title_and_closing_follow_decree_30(app, report):
    document, _body = _document(app, report)
    for text, size, bold in [
        ("ỦY BAN NHÂN DÂN", 13, True),
        ("PHƯỜNG QUYẾT THẮNG", 13, True),
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, True),
        ("BÁO CÁO", 14, True),
        ("Nơi nhận:", 12, True),
        ("KT. CHỦ TỊCH", 14, True),
        ("Nguyễn Văn Ký", 14, True),
    ]:
        run = _paragraph(document, text).runs[0]
        assert (run.font.size.pt, run.bold) == (size, bold), text
    motto = _paragraph(document, "Độc lập - Tự do - Hạnh phúc").runs[0]
    assert (motto.bold, motto.underline, motto.font.size.pt) == (True, True, 13)
    assert re.fullmatch(r"Số: +/BC-UBND", _starting(document, "Số:").text)
    assert _paragraph(document, "Quyết Thắng, ngày 05 tháng 5 năm 2026").runs[0].italic
    assert _paragraph(document, "Kính gửi: Ủy ban nhân dân tỉnh Lai Châu.")
    lines = [p.text for p in _paragraphs(document)]
    where = lines.index("Nơi nhận:")
    assert lines[where + 1 : where + 4] == ["- Như trên;", "- TT. HĐND phường;", "- Lưu: VT, VHXH."]
    summary = lines[lines.index("BÁO CÁO") + 1]
    assert summary.startswith("Kết quả công tác phòng, chống bạo lực gia đình")


def _has_bottom_border(paragraph) -> bool:
    borders = paragraph._p.pPr.find(qn("w:pBdr")) if paragraph._p.pPr is not None else None
    return borders is not None and borders.find(qn("w:bottom")) is not None


def test_short_lines_under_the_agency_name_and_the_summary(app, report):
    document, _body = _document(app, report)
    issuer = document.tables[0].rows[0].cells[0].paragraphs
    names = [p.text for p in issuer]
    rule = names.index("PHƯỜNG QUYẾT THẮNG") + 1
    assert _has_bottom_border(issuer[rule]) and issuer[rule].text == ""
    body = document.paragraphs
    summary = next(i for i, p in enumerate(body) if p.text.startswith("Kết quả công tác"))
    assert _has_bottom_border(body[summary + 1])
    # Short: between a third and a half of its column (6 cm; 16.5 cm of text).
    for paragraph, width in ((issuer[rule], 6.0), (body[summary + 1], 16.5)):
        indent = paragraph.paragraph_format.left_indent.cm
        assert width / 3 <= width - 2 * indent <= width / 2 + 0.01


def test_every_table_has_its_grid_and_a_fixed_layout(app, report):
    document, _body = _document(app, report)
    for table in document.tables:
        grid = table._tbl.tblGrid.findall(qn("w:gridCol"))
        assert len(grid) == len(table.columns)
        assert all(int(column.get(qn("w:w"))) > 0 for column in grid)
        assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"


def test_page_numbers_from_page_2_centred_at_the_top(app, report):
    document, _body = _document(app, report)
    first = document.sections[0]
    assert first.different_first_page_header_footer
    assert first.first_page_header.paragraphs[0].text == ""
    header = first.header.paragraphs[0]
    assert header.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    assert "PAGE" in "".join(header._p.itertext())


def test_the_narrative_has_its_five_parts_and_every_figure_filled_in(app, report):
    document, _body = _document(app, report)
    texts = [p.text for p in document.paragraphs]
    for heading in (
        "I. ĐẶC ĐIỂM TÌNH HÌNH",
        "II. KẾT QUẢ THỰC HIỆN",
        "III. ĐÁNH GIÁ",
        "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ",
        "V. ĐỀ XUẤT, KIẾN NGHỊ",
    ):
        assert heading in texts
    intro = _starting(document, "Ủy ban nhân dân phường Quyết Thắng báo cáo")  # lower case
    assert intro.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.JUSTIFY
    assert 1.0 <= intro.paragraph_format.first_line_indent.cm <= 1.27
    # The mix: 10 reports, 1 unfounded, 1 not verified; of 8 verified, DV 4, child 2,
    # trafficking 2, outside the family 1.
    situation = _starting(document, "Trong kỳ,").text
    assert f"tiếp nhận {len(MIX)} tin báo" in situation
    assert "xác định 8 vụ việc; 1 tin báo không có căn cứ; 1 tin báo đang xác minh" in situation
    assert "4 vụ bạo lực gia đình, 2 vụ xâm hại trẻ em, 2 vụ mua bán người, 1 vụ" in situation
    # Victims of DV counted on persons: 3 women (dv1 and dv2 are one).
    violence = _starting(document, "- Bạo lực gia đình:").text
    assert "nạn nhân 3 người (nữ 3;" in violence
    assert "đã được tư vấn 1; bị truy cứu trách nhiệm hình sự 1." in violence
    assert _starting(document, "- Trẻ em bị xâm hại: 2 em (nữ 1, nam 1;")
    # II.5: the support of every regime's victims (the girl of "both" had counselling).
    for whom in ("nạn nhân bạo lực gia đình", "trẻ em bị xâm hại", "nạn nhân bị mua bán"):
        assert _starting(document, f"- Hỗ trợ {whom} (số vụ việc): ")
    child = _starting(document, "- Hỗ trợ trẻ em bị xâm hại").text
    assert child.endswith(": hỗ trợ tâm lý 1.")
    indicator = _starting(document, f"- {report.indicators[0].title}").text
    assert "3/4 người (75%; chỉ tiêu đến năm 2030: 90%)" in indicator
    assert sum(text.startswith("[…]") for text in texts) >= 10  # for the officer to write
    assert texts[-1] != "" and _starting(document, "Trên đây là báo cáo").text.endswith("./.")


def test_the_annex_holds_every_table_as_the_report_counted_it(app, report):
    document, _body = _document(app, report)
    texts = [p.text for p in document.paragraphs]
    assert "Phụ lục" in texts
    assert _starting(document, "Số liệu chính xác, chỉ dùng để báo cáo").runs[0].italic
    goes_with = _starting(document, "(Kèm theo Báo cáo số").text
    assert goes_with.endswith("năm 2026 của Ủy ban nhân dân phường Quyết Thắng)")
    grids = _grids(document)
    with app.test_request_context("/"), docx_locale():
        expected = [table_lines(table) for _n, _b, table in numbered_tables(report)]
        titles = [f"Biểu {n}. {table.title}" for n, _b, table in numbered_tables(report)]
    assert len(grids) == len(expected) + 1  # and the indicators
    for grid, (header, rows) in zip(grids, expected, strict=False):
        assert grid == [header, *[[str(value) for value in row] for row in rows]]
    assert all(title in texts for title in titles)
    assert grids[-1][0][-1] == "Chỉ tiêu đến năm 2030"  # the current phase's target only
    assert grids[-1][1][1:] == ["3", "4", "75%", "90%"]  # victims supported, on persons


def docx_locale():
    from flask_babel import force_locale

    return force_locale("vi")


def test_the_title_is_as_an_officer_says_it():
    def titled(first, last):
        return report_title(StatutoryReport(first, last, 0, []), REPORTS)

    assert titled(date(2025, 11, 1), date(2026, 4, 30)) == "6 tháng đầu năm 2026"
    assert titled(date(2025, 11, 1), date(2026, 10, 31)) == "năm 2026"
    assert titled(date(2026, 1, 1), date(2026, 3, 31)) == "từ ngày 01/01/2026 đến ngày 31/03/2026"


@pytest.mark.parametrize(
    ("day", "written"),
    [
        (date(2026, 5, 5), "ngày 05 tháng 5 năm 2026"),
        (date(2026, 11, 20), "ngày 20 tháng 11 năm 2026"),
        (date(2026, 1, 15), "ngày 15 tháng 01 năm 2026"),
        (date(2026, 2, 9), "ngày 09 tháng 02 năm 2026"),
        (date(2026, 3, 1), "ngày 01 tháng 3 năm 2026"),
    ],
)
def test_the_date_line_pads_days_below_10_and_months_1_and_2(day, written):
    assert official_date(day) == written


def test_the_unit_in_the_place_line_and_in_running_text():
    assert place_of("Phường Quyết Thắng") == "Quyết Thắng"
    assert place_of("Xã Bản Giang") == "Bản Giang"
    assert place_of("Phường 3") == "Phường 3"  # a ward named by a number keeps its word
    assert in_running_text("Phường Quyết Thắng") == "phường Quyết Thắng"
    assert in_running_text("Xã Bản Giang") == "xã Bản Giang"


def test_several_recipients_are_a_list_and_the_place_may_be_set(app, report):
    settings = ReportSettings(**{
        **vars(SETTINGS),
        "recipients": ("Sở Văn hóa, Thể thao và Du lịch tỉnh Lai Châu", "Sở Nội vụ tỉnh Lai Châu"),
        "place": "Lai Châu",
        "signature": ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
    })  # fmt: skip
    document, _body = _document(app, report, settings, date(2026, 11, 9))
    lines = [p.text for p in _paragraphs(document)]
    where = lines.index("Kính gửi:")
    assert lines[where + 1 : where + 3] == [
        "- Sở Văn hóa, Thể thao và Du lịch tỉnh Lai Châu;",
        "- Sở Nội vụ tỉnh Lai Châu.",
    ]
    assert "Lai Châu, ngày 09 tháng 11 năm 2026" in lines
    assert "CHỦ TỊCH" in lines and "KT. CHỦ TỊCH" not in lines


# Same figures everywhere: the page, the workbook and the document.


def _page_tables(page: str) -> dict[str, list[list[str]]]:
    """The statistics page's tables by key, as rows of cell texts (header row first)."""
    found = {}
    for key, body in re.findall(
        r'<table class="stats" id="table-([^"]+)">(.*?)</table>', page, re.S
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        found[key] = [
            [
                re.sub(r"<[^>]+>", "", cell).strip()
                for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            ]
            for row in rows
        ]
    return found


def test_the_page_the_workbook_and_the_document_show_the_same_figures(
    app,
    db,
    client,
    mix,  # noqa: F811
    login_as,
):
    officer, _cases = mix
    first, last = _period()
    login_as(officer)
    query = f"first={first.isoformat()}&last={last.isoformat()}"
    page = client.get(f"/stats/?{query}").get_data(as_text=True)
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/stats/report.xlsx?{query}").data))
    document = docx.Document(io.BytesIO(client.get(f"/stats/report.docx?{query}").data))
    report = statutory.compute(officer, first, last)
    shown = _page_tables(page)
    grids = _grids(document)
    sheets = book.worksheets
    compared = 0
    for index, (_number, _block, table) in enumerate(numbered_tables(report)):
        with app.test_request_context("/"), docx_locale():
            header, rows = table_lines(table)
        figures = [[str(value) for value in row[1:]] for row in rows]
        assert [row[1:] for row in grids[index][1:]] == figures
        sheet_rows = [list(row) for row in sheets[index].iter_rows(values_only=True)]
        assert [[str(v) for v in row[1:]] for row in sheet_rows[-len(rows) :]] == figures
        if table.key in shown:  # a charted table is drawn, its figures in its own table
            assert [row[1:] for row in shown[table.key][1:]] == figures, table.key
            compared += 1
    assert compared >= len(report.tables) - 2


def test_the_workbook_holds_every_table_and_the_indicators(app, report):
    with app.test_request_context("/"):
        sheets = workbook_sections(report, WARD, REPORTS)
    assert len(sheets) == len(report.tables) + 1
    _name, rows = sheets[0]
    assert rows[0] == ["Ủy ban nhân dân phường Quyết Thắng"]
    assert all("không công bố" in rows[2][0] for _name, rows in sheets)  # not to publish
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(sheets, WARD)))
    summary = list(book.worksheets[0].iter_rows(values_only=True))
    assert [row[1] for row in summary[-8:]] == [len(MIX), 1, 1, 8, 4, 2, 2, 1]  # exact
    indicators = list(book.worksheets[-1].iter_rows(values_only=True))
    assert [row[1:3] for row in indicators[-3:]] == [(3, 4), (2, 2), (1, 1)]


# LibreOffice: the document as a province's office opens it.

SOFFICE = shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture()
def pdf_pages(app, report, tmp_path):
    """The .docx converted by LibreOffice, as the text of each page (pdftotext -layout)."""
    if not (SOFFICE and PDFTOTEXT):
        reason = "the document tests need LibreOffice and poppler-utils (make test installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    _document_, body = _document(app, report)
    source = tmp_path / "bao-cao.docx"
    source.write_bytes(body)
    profile = tmp_path / "profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(tmp_path / "bao-cao.pdf"), "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return text.split("\f")


def test_libreoffice_lays_it_out_without_wrapping_the_header_and_numbers_pages_from_2(pdf_pages):
    pages = [page for page in pdf_pages if page.strip()]
    assert len(pages) >= 3
    first = [line.strip() for line in pages[0].splitlines() if line.strip()]
    # The header's two columns, line by line: nothing wraps.
    assert re.fullmatch(r"ỦY BAN NHÂN DÂN\s+CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", first[0])
    assert re.fullmatch(r"PHƯỜNG QUYẾT THẮNG\s+Độc lập - Tự do - Hạnh phúc", first[1])
    assert any(re.fullmatch(r"Số:\s+/BC-UBND\s+Quyết Thắng, ngày 05 tháng 5 năm 2026", line)
               for line in first[2:4])  # fmt: skip
    assert not first[0].isdigit()  # no number on page 1
    for number, page in enumerate(pages[1:], start=2):
        top = next(line.strip() for line in page.splitlines() if line.strip())
        assert top == str(number), f"page {number} starts {top!r}"
    annex = "\n".join(pages)
    assert "Phụ lục" in annex and "Biểu 2.1." in annex and "Biểu 6.1." in annex


# A report due before its period ends: actual figures to the cut-off, an estimate to the end.
BY_CUTOFF = {
    **REPORTS,
    "half_year": {"first": (1, 1), "cutoff": (5, 31), "last": (6, 30), "due": (6, 20)},
}


def test_a_report_due_before_its_end_estimates_to_the_end(app, report):
    counted = replace(report, first=date(2026, 1, 1), last=date(2026, 5, 31))
    settings = replace(SETTINGS, reports=BY_CUTOFF)
    assert report_title(counted, BY_CUTOFF) == "6 tháng đầu năm 2026"
    estimate = estimate_for(counted, BY_CUTOFF)
    assert (estimate.to, round(estimate.factor, 4)) == (date(2026, 6, 30), round(181 / 151, 4))
    with app.test_request_context("/"):
        body = report_docx(counted, WARD, settings, date(2026, 6, 18))
    document = docx.Document(io.BytesIO(body))
    intro = _starting(document, "Ủy ban nhân dân phường Quyết Thắng báo cáo").text
    assert "số liệu thực tế từ ngày 01/01/2026 đến ngày 31/05/2026" in intro
    assert "ước thực hiện đến ngày 30/06/2026" in intro
    summary = _grids(document)[0]
    assert summary[0][-1] == "Ước thực hiện đến 30/06/2026"
    assert summary[1][1:] == [str(len(MIX)), str(round(len(MIX) * 181 / 151))]  # 10, 12
    victims = _grids(document)[1]  # a matrix: the estimate of each row's total
    assert victims[1][-2:] == ["3", str(round(3 * 181 / 151))]
    # The period's own report without a cut-off has no estimate column.
    assert (
        estimate_for(replace(report, first=date(2025, 11, 1), last=date(2026, 4, 30)), REPORTS)
        is None
    )


def test_a_cutoff_outside_its_period_is_refused():
    bad = {"half_year": {"first": (1, 1), "cutoff": (7, 31), "last": (6, 30), "due": (6, 20)}}
    with pytest.raises(ValueError):
        periods.report_period(bad, "half_year", 2026)
    period = periods.report_period(BY_CUTOFF, "half_year", 2026)
    assert (period.counted_to, period.due) == (date(2026, 5, 31), date(2026, 6, 20))
    assert periods.matching(BY_CUTOFF, date(2026, 1, 1), date(2026, 5, 31)) == period
    assert periods.matching(BY_CUTOFF, date(2026, 1, 1), date(2026, 6, 30)) is None
