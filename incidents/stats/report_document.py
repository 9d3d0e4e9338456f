"""The ward's statutory report as files: the Decree 30/2020 document (.docx) and its tables
as a workbook (.xlsx), both written from one StatutoryReport (stats.statutory), so every
figure in them is the figure on the statistics page.

The document is a báo cáo as a ward writes one (DOMAIN.md section 4): the header, "BÁO
CÁO" and its summary line, "Kính gửi", the narrative skeleton I-V with every figure of
II.4 and II.5 filled in and bracketed placeholders where the officer writes the judgement
in Word, "Nơi nhận" and the signature block; then the tables as an annex, in a landscape
section of its own. The fixed wording of an administrative document is Vietnamese whatever
the reader's language; the tables' labels are the application's, rendered in Vietnamese.
"""

import io
from dataclasses import dataclass
from datetime import date

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from flask_babel import force_locale, format_percent

from incidents.stats import periods
from incidents.stats.statutory import StatutoryReport
from incidents.stats.tables import Table
from incidents.timeutil import format_date

FONT = "Times New Roman"
UNIT_PREFIXES = ("phường ", "xã ", "đặc khu ", "thị trấn ")
A4_SHORT, A4_LONG = Mm(210), Mm(297)
# The text's width on a portrait page (210 mm less margins of 30 and 15 mm), and on the
# annex's landscape page (297 mm less 20 and 15 mm), in centimetres.
TEXT_WIDTH = 16.5
ANNEX_WIDTH = 26.2
PLACEHOLDER = "[…]"
SUBJECT = "bạo lực gia đình, bạo lực trên cơ sở giới, xâm hại trẻ em và mua bán người"
INDICATORS_TITLE = "Các chỉ tiêu về phòng, chống bạo lực (tính theo số người)"
# The statutory figures are exact: they go up the state chain, never out (DOMAIN.md 4).
NOT_FOR_PUBLICATION = (
    "Số liệu chính xác, chỉ dùng để báo cáo cơ quan nhà nước cấp trên; không công bố, "
    "không chia sẻ ra ngoài."
)


@dataclass(frozen=True)
class ReportSettings:
    """What the official report takes from the settings (config.py, REPORT_*)."""

    recipients: tuple[str, ...]
    copies: tuple[str, ...]
    filed_as: str
    signature: tuple[str, ...]
    signer_name: str
    place: str
    reports: dict

    @classmethod
    def from_config(cls, config) -> "ReportSettings":
        """The report's settings from the application's configuration."""
        return cls(
            recipients=tuple(config["REPORT_RECIPIENTS"]),
            copies=tuple(config["REPORT_COPIES"]),
            filed_as=config["REPORT_FILED_AS"],
            signature=tuple(config["REPORT_SIGNATURE"]),
            signer_name=config["REPORT_SIGNER_NAME"],
            place=config["REPORT_PLACE"],
            reports=config["STATS_REPORTS"],
        )


# --- words ------------------------------------------------------------------------------------


def official_date(day: date) -> str:
    """'ngày 05 tháng 5 năm 2026': days below 10 and months 1 and 2 with a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def place_of(ward_name: str) -> str:
    """The place on the date line: the ward's name without "Phường"/"Xã", unless the name
    is a number or a person's name is not told apart from it (a ward called "Phường 3"
    keeps its word: "Phường 3, ngày ...")."""
    for prefix in UNIT_PREFIXES:
        if ward_name.lower().startswith(prefix):
            rest = ward_name[len(prefix) :].strip()
            return ward_name if rest[:1].isdigit() else rest
    return ward_name


def in_running_text(ward_name: str) -> str:
    """The unit in running text, its kind in lower case: "phường Quyết Thắng"."""
    for prefix in UNIT_PREFIXES:
        if ward_name.lower().startswith(prefix):
            return prefix + ward_name[len(prefix) :].strip()
    return ward_name


# How an officer names the official reports: "Báo cáo 6 tháng đầu năm 2026".
TITLES = {"half_year": "6 tháng đầu năm", "annual": "năm"}


def report_title(report: StatutoryReport, reports: dict) -> str:
    """The report as an officer names it: "6 tháng đầu năm 2026", "năm 2026" when the
    period is one of the official ones; else its dates."""
    period = periods.matching(reports, report.first, report.last)
    if period is not None and period.report in TITLES:
        return f"{TITLES[period.report]} {period.year}"
    return f"từ ngày {format_date(report.first)} đến ngày {format_date(report.last)}"


@dataclass(frozen=True)
class Estimate:
    """The estimate to the period's end of a report counted to its cut-off: each count
    times the period's days over the days counted (a straight-line estimate the officer
    may correct in Word)."""

    to: date
    factor: float

    def of(self, value: int) -> int:
        return round(value * self.factor)


def estimate_for(report: StatutoryReport, reports: dict) -> Estimate | None:
    """The estimate column of an official report counted to a cut-off before its end."""
    period = periods.matching(reports, report.first, report.last)
    if period is None or period.cutoff is None:
        return None
    days = (period.last - period.first).days + 1
    return Estimate(period.last, days / ((period.cutoff - period.first).days + 1))


def _percent(share: float) -> str:
    return format_percent(share, "#,##0.#%")


# --- the tables' lines, as the annex and the workbook write them --------------------------------


def table_lines(table: Table, estimate: Estimate | None = None) -> tuple[list[str], list[list]]:
    """The header and the rows of a table, totals included, as exact numbers; with an
    estimate, a last column estimating each row's total to the period's end."""
    header = ["Nội dung", *(str(column) for column in table.columns)]
    if table.row_totals:
        header.append("Tổng số")
    rows = []
    for index, (label, cells) in enumerate(table.rows):
        line = [str(label), *(cell.value for cell in cells)]
        if table.row_totals:
            line.append(table.row_totals[index].value)
        rows.append(line)
    if table.column_totals:
        line = ["Tổng số", *(cell.value for cell in table.column_totals)]
        if table.row_totals:
            line.append(table.total.value)
        rows.append(line)
    if estimate is not None:
        header.append(f"Ước thực hiện đến {format_date(estimate.to)}")
        # The last number is the row's total (or its only count).
        rows = [[*line, estimate.of(line[-1])] for line in rows]
    return header, rows


def numbered_tables(report: StatutoryReport) -> list[tuple[str, str, Table]]:
    """(number, block title, table) for every table: "1.1" is the first of block 1."""
    found = []
    for block_number, block in enumerate(report.blocks, start=1):
        for number, table in enumerate(block.tables, start=1):
            found.append((f"{block_number}.{number}", str(block.title), table))
    return found


def indicator_lines(report: StatutoryReport) -> tuple[list[str], list[list]]:
    """The indicators against the target of the current phase (2026-2030)."""
    header = ["Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Chỉ tiêu đến năm 2030"]
    rows = [
        [
            str(indicator.title),
            indicator.numerator.value,
            indicator.denominator.value,
            "–" if indicator.share is None else _percent(indicator.share),
            _percent(indicator.target_2030),
        ]
        for indicator in report.indicators
    ]
    return header, rows


# --- Word: paragraphs and tables -----------------------------------------------------------------


def _set_font(fonts) -> None:
    """Times New Roman for every script of a w:rFonts element (no theme font over it)."""
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)


def _line(
    container,
    text: str,
    size: float = 14,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    align=WD_ALIGN_PARAGRAPH.CENTER,
    before: float = 0,
):
    """A paragraph of one run, in Times New Roman.

    A new table cell holds one empty paragraph, which is used; a new document holds none.
    """
    existing = container.paragraphs
    if len(existing) == 1 and not existing[0].runs:
        paragraph = existing[0]
    else:
        paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.font.name, run.font.size = FONT, Pt(size)
    run.bold, run.italic, run.underline = bold, italic, underline
    return paragraph


def _body(document, text: str, *, bold: bool = False, italic: bool = False):
    """A paragraph of the body: 14 pt, justified, first line indented 1.27 cm."""
    paragraph = _line(
        document, text, bold=bold, italic=italic, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=6
    )
    paragraph.paragraph_format.first_line_indent = Cm(1.27)
    return paragraph


def _short_rule(container, width: float, length: float) -> None:
    """The short line under the agency's name or the summary: an empty paragraph whose
    bottom border is length cm, centred in a column width cm wide."""
    paragraph = _line(container, "", 4)
    margin = Cm((width - length) / 2)
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = margin
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        bottom.set(qn(name), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _fix_grid(table, widths: list[float]) -> None:
    """The table's grid, layout and width: LibreOffice and some Word versions lay a table
    out by its w:tblGrid, not its cells' widths, and wrap the header without it."""
    grid = table._tbl.tblGrid
    for column in list(grid):
        grid.remove(column)
    for width in widths:
        column = OxmlElement("w:gridCol")
        column.set(qn("w:w"), str(int(Cm(width).twips)))
        grid.append(column)
    properties = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    properties.append(layout)
    total = OxmlElement("w:tblW")
    total.set(qn("w:w"), str(int(Cm(sum(widths)).twips)))
    total.set(qn("w:type"), "dxa")
    for existing in properties.findall(qn("w:tblW")):
        properties.remove(existing)
    properties.append(total)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Cm(width)


def _frame(document, widths: tuple[float, float]):
    """A borderless two-column table, to set two blocks side by side (header, signature)."""
    table = document.add_table(rows=1, cols=2)
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fix_grid(table, list(widths))
    return table.rows[0].cells


def _grid(document, header: list[str], rows: list[list], widths: list[float]):
    """A ruled table (12 pt), its header row bold and repeated on every page."""
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _fix_grid(table, widths)
    repeat = OxmlElement("w:tblHeader")
    table.rows[0]._tr.get_or_add_trPr().append(repeat)
    for index, values in enumerate([header, *rows]):
        for column, (cell, value) in enumerate(zip(table.rows[index].cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            # A table stays on one page where it fits: every row keeps with the next.
            paragraph.paragraph_format.keep_with_next = index < len(rows)
            paragraph.alignment = (
                WD_ALIGN_PARAGRAPH.LEFT if column == 0 and index else WD_ALIGN_PARAGRAPH.CENTER
            )
            run = paragraph.add_run(str(value))
            run.font.name, run.font.size = FONT, Pt(12)
            run.bold = index == 0 or (str(values[0]) == "Tổng số")
    return table


def _page_numbers(section) -> None:
    """The page number centred in the top margin, from page 2 (none on the first page)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    run.font.name, run.font.size = FONT, Pt(13)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


# --- the document ------------------------------------------------------------------------------


def _header(document, ward_name: str, place: str, issued_on: date) -> None:
    issuer, motto = _frame(document, (6.0, 10.5))
    _line(issuer, "ỦY BAN NHÂN DÂN", 13, bold=True)
    _line(issuer, ward_name.upper(), 13, bold=True)
    _short_rule(issuer, 6.0, 2.5)
    _line(issuer, "Số:       /BC-UBND", 13, before=6)
    _line(motto, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    _line(motto, "Độc lập - Tự do - Hạnh phúc", 13, bold=True, underline=True)
    _line(motto, "", 4)  # as high as the short line opposite: the date level with "Số"
    _line(motto, f"{place}, {official_date(issued_on)}", 14, italic=True, before=6)


def _recipients(document, recipients: tuple[str, ...]) -> None:
    # One recipient on the line itself, several as a list; a "…" left to fill in stays bare.
    names = [name.rstrip(" .;") for name in recipients]
    ends = ["" if name.endswith("…") else ";" for name in names]
    ends[-1] = ends[-1] and "."
    if len(names) == 1:
        _line(document, f"Kính gửi: {names[0]}{ends[0]}", before=6)
        return
    _line(document, "Kính gửi:", before=6)
    for name, end in zip(names, ends, strict=True):
        _line(document, f"- {name}{end}")


def _count(report: StatutoryReport, key: str, row: int, column: int = 0) -> int:
    return report.table(key).rows[row][1][column].value


def _listed(table: Table) -> str:
    """'tinh thần 3, thể chất 2' for the rows of a one-column table that are not zero."""
    shown = [
        f"{str(label).lower()} {cells[0].value}" for label, cells in table.rows if cells[0].value
    ]
    return "; ".join(shown) if shown else "không có"


def _by_sex(table: Table, unit: str = "người") -> str:
    """'12 người (nữ 10, nam 2; dưới 16 tuổi 3, từ 16 đến 59 tuổi 8, từ 60 tuổi 1)'."""
    sexes = ", ".join(
        f"{str(label).lower()} {total.value}"
        for (label, _cells), total in zip(table.rows, table.row_totals, strict=True)
        if total.value
    )
    ages = ", ".join(
        f"{str(column).lower()} {total.value}"
        for column, total in zip(table.columns, table.column_totals, strict=True)
        if total.value
    )
    return f"{table.total.value} {unit}" + (f" ({sexes}; {ages})" if table.total.value else "")


def _situation(document, report: StatutoryReport) -> None:
    """II.4: every figure of the period, in words."""
    summary = "summary"
    received, unfounded, pending, verified = (_count(report, summary, row) for row in range(4))
    dv, child, trafficking, gbv = (_count(report, summary, row) for row in range(4, 8))
    _body(
        document,
        f"Trong kỳ, Ủy ban nhân dân phường tiếp nhận {received} tin báo, tố giác; qua xác "
        f"minh, xác định {verified} vụ việc; {unfounded} tin báo không có căn cứ; {pending} tin "
        f"báo đang xác minh. Trong các vụ việc đã xác minh: {dv} vụ bạo lực gia đình, {child} "
        f"vụ xâm hại trẻ em, {trafficking} vụ mua bán người, {gbv} vụ bạo lực trên cơ sở giới "
        "ngoài gia đình (một vụ việc có thể thuộc hơn một loại).",
    )
    _body(
        document,
        f"- Bạo lực gia đình: nạn nhân {_by_sex(report.table('dv_victims'))}; người gây bạo "
        f"lực {_by_sex(report.table('dv_perpetrators'))}. Hình thức bạo lực: "
        f"{_listed(report.table('dv_harm_forms'))}. Biện pháp áp dụng đối với người gây bạo "
        f"lực (số vụ việc): {_listed(report.table('dv_perpetrator_measures'))}. Người gây bạo "
        f"lực {_listed(report.table('dv_perpetrator_outcomes'))}.",
    )
    _body(
        document,
        f"- Trẻ em bị xâm hại: {_by_sex(report.table('child_victims'), 'em')}. Hình thức "
        f"xâm hại: {_listed(report.table('child_forms'))}.",
    )
    _body(
        document,
        f"- Mua bán người: {_by_sex(report.table('trafficking_victims'))}, trong đó "
        f"{_listed(report.table('trafficking_status'))}; "
        f"{_listed(report.table('trafficking_whereabouts'))}.",
    )
    _body(
        document,
        f"- Bạo lực trên cơ sở giới ngoài gia đình: nạn nhân "
        f"{_by_sex(report.table('gbv_victims'))}.",
    )
    _body(document, "(Chi tiết tại các biểu số liệu ở Phụ lục kèm theo.)", italic=True)


def _support(document, report: StatutoryReport) -> None:
    """II.5: support to the victims, and the Resolution 28 indicators against the target of
    the current phase (2026-2030)."""
    for key, whom in (
        ("dv_victim_support", "nạn nhân bạo lực gia đình"),
        ("child_support", "trẻ em bị xâm hại"),
        ("trafficking_support", "nạn nhân bị mua bán"),
        ("gbv_support", "nạn nhân bạo lực trên cơ sở giới ngoài gia đình"),
    ):
        _body(document, f"- Hỗ trợ {whom} (số vụ việc): {_listed(report.table(key))}.")
    for indicator in report.indicators:
        share = "chưa có trường hợp" if indicator.share is None else _percent(indicator.share)
        _body(
            document,
            f"- {str(indicator.title)}: {indicator.numerator.value}/"
            f"{indicator.denominator.value} người ({share}; chỉ tiêu đến năm 2030: "
            f"{_percent(indicator.target_2030)}).",
        )


def _closing(document, settings: ReportSettings) -> None:
    copies, signature = _frame(document, (7.5, 9.0))
    _line(copies, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for name in settings.copies:
        _line(copies, f"- {name.rstrip(' .;')};", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(copies, f"- Lưu: {settings.filed_as.rstrip(' .')}.", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in settings.signature:
        _line(signature, line, 14, bold=True)
    for _blank in range(4):
        _line(signature, "")
    _line(signature, settings.signer_name, 14, bold=True)


def _annex(document, report: StatutoryReport, unit: str, year: int, estimate) -> None:
    """The tables, in a landscape section: "Phụ lục", what it goes with, every table."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.different_first_page_header_footer = False  # its first page is numbered too
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = A4_LONG, A4_SHORT
    section.left_margin, section.right_margin = Mm(20), Mm(15)
    section.top_margin = section.bottom_margin = Mm(20)
    _line(document, "Phụ lục", 14, bold=True)
    _line(document, f"SỐ LIỆU VỀ {SUBJECT.upper()}", 14, bold=True)
    _line(
        document,
        f"(Kèm theo Báo cáo số       /BC-UBND ngày       tháng       năm {year} "
        f"của Ủy ban nhân dân {unit})",
        14,
        italic=True,
    )
    _short_rule(document, ANNEX_WIDTH, 5.0)
    _line(document, NOT_FOR_PUBLICATION, 12, italic=True, before=6)
    current = None
    for number, block_title, table in numbered_tables(report):
        if block_title != current:
            current = block_title
            _heading(document, f"{number.split('.')[0]}. {block_title}", before=12)
        _heading(document, f"Biểu {number}. {table.title}", italic=True, before=6)
        header, rows = table_lines(table, estimate)
        columns = len(header) - 1
        first = 9.0 if columns > 1 else 12.0
        column = min(3.2, (ANNEX_WIDTH - first) / columns)
        _grid(document, header, rows, [first] + [column] * columns)
    number = len(report.blocks) + 1
    _heading(
        document,
        f"{number}. Chỉ tiêu của Chiến lược quốc gia về bình đẳng giới (Nghị quyết 28/NQ-CP)",
        before=12,
    )
    _heading(document, f"Biểu {number}.1. {INDICATORS_TITLE}", italic=True, before=6)
    header, rows = indicator_lines(report)
    _grid(document, header, rows, [14.0, 2.4, 2.4, 2.4, 3.4])


def _heading(document, text: str, *, italic: bool = False, before: float) -> None:
    """A heading of the annex (13 pt, bold), kept on the page of the table after it."""
    paragraph = _line(
        document, text, 13, bold=True, italic=italic, align=WD_ALIGN_PARAGRAPH.LEFT, before=before
    )
    paragraph.paragraph_format.keep_with_next = True


def report_docx(
    report: StatutoryReport, ward_name: str, settings: ReportSettings, issued_on: date
) -> bytes:
    """The statutory report as an editable Word document, laid out per Decree 30/2020."""
    with force_locale("vi"):
        return _report_docx(report, ward_name, settings, issued_on)


def _report_docx(report, ward_name, settings, issued_on) -> bytes:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = A4_SHORT, A4_LONG
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    _page_numbers(section)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(14)
    _set_font(normal.element.get_or_add_rPr().get_or_add_rFonts())
    for fonts in document.styles.element.iter(qn("w:rFonts")):
        _set_font(fonts)  # the document defaults' theme fonts too

    unit = in_running_text(ward_name)
    title = report_title(report, settings.reports)
    subject = f"công tác phòng, chống {SUBJECT}"
    _header(document, ward_name, settings.place or place_of(ward_name), issued_on)
    _line(document, "BÁO CÁO", 14, bold=True, before=18)
    _line(document, f"Kết quả {subject} {title}", 14, bold=True)
    _short_rule(document, TEXT_WIDTH, 6.5)
    _recipients(document, settings.recipients)
    estimate = estimate_for(report, settings.reports)
    dates = f"từ ngày {format_date(report.first)} đến ngày {format_date(report.last)}"
    counted = "tính trên các vụ việc đã được xác minh"
    if estimate is not None:
        counted = (
            f"số liệu thực tế {dates}, ước thực hiện đến ngày {format_date(estimate.to)}; {counted}"
        )
    elif not title.startswith("từ ngày"):  # a named period: its dates once, in the brackets
        counted = f"số liệu {dates}, {counted}"
    _body(
        document, f"Ủy ban nhân dân {unit} báo cáo kết quả {subject} {title} ({counted}) như sau:"
    )
    _body(document, "I. ĐẶC ĐIỂM TÌNH HÌNH", bold=True)
    _body(document, f"{PLACEHOLDER} (Đặc điểm địa bàn, dân cư; thuận lợi, khó khăn.)", italic=True)
    _body(document, "II. KẾT QUẢ THỰC HIỆN", bold=True)
    for heading, hint in (
        ("1. Công tác lãnh đạo, chỉ đạo, ban hành văn bản", "Các văn bản đã ban hành."),
        ("2. Công tác truyền thông, giáo dục pháp luật", "Số buổi, số lượt người tham dự."),
        ("3. Công tác nâng cao năng lực", "Các lớp tập huấn, số người tham gia."),
    ):
        _body(document, heading, bold=True)
        _body(document, f"{PLACEHOLDER} ({hint})", italic=True)
    _body(
        document,
        "4. Tình hình bạo lực gia đình, bạo lực trên cơ sở giới, xâm hại trẻ em, mua bán "
        "người và kết quả xử lý",
        bold=True,
    )
    _situation(document, report)
    _body(document, "5. Công tác hỗ trợ nạn nhân", bold=True)
    _support(document, report)
    for heading, hint in (
        (
            "6. Tháng hành động vì bình đẳng giới và phòng, chống bạo lực trên cơ sở giới",
            "Các hoạt động từ 15/11 đến 15/12.",
        ),
        ("7. Kinh phí thực hiện", "Nguồn và số kinh phí."),
    ):
        _body(document, heading, bold=True)
        _body(document, f"{PLACEHOLDER} ({hint})", italic=True)
    _body(document, "III. ĐÁNH GIÁ", bold=True)
    for heading in ("1. Ưu điểm", "2. Tồn tại, hạn chế", "3. Nguyên nhân"):
        _body(document, heading, bold=True)
        _body(document, PLACEHOLDER, italic=True)
    _body(document, "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ", bold=True)
    _body(document, PLACEHOLDER, italic=True)
    _body(document, "V. ĐỀ XUẤT, KIẾN NGHỊ", bold=True)
    _body(document, PLACEHOLDER, italic=True)
    _body(document, f"Trên đây là báo cáo {subject} {title} của Ủy ban nhân dân {unit}./.")
    _line(document, "", 12)  # a line's space before "Nơi nhận" and the signature
    _closing(document, settings)
    _annex(document, report, unit, issued_on.year, estimate)

    properties = document.core_properties
    properties.author = properties.last_modified_by = ward_name
    properties.title = f"Báo cáo {title}"
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


# --- the workbook -------------------------------------------------------------------------------


def workbook_sections(
    report: StatutoryReport, ward_name: str, reports: dict
) -> list[tuple[str, list[list]]]:
    """The report's tables as workbook sheets (name, rows): the same lines as the annex."""
    period = f"Số liệu từ ngày {format_date(report.first)} đến ngày {format_date(report.last)}"
    heading = [
        [f"Ủy ban nhân dân {in_running_text(ward_name)}"],
        [period],
        [NOT_FOR_PUBLICATION],
        [],
    ]
    estimate = estimate_for(report, reports)
    found = []
    with force_locale("vi"):
        for number, block_title, table in numbered_tables(report):
            header, rows = table_lines(table, estimate)
            found.append(
                (
                    f"{number} {table.title}",
                    [*heading, [block_title], [f"Biểu {number}. {table.title}"], header, *rows],
                )
            )
        header, rows = indicator_lines(report)
        found.append(("Chỉ tiêu NQ 28", [*heading, [INDICATORS_TITLE], header, *rows]))
    return found
