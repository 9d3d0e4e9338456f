"""The statistics as files: a spreadsheet (XLSX), CSV, and the official report (.docx).

Every export is built from one Statistics (stats.tables), counted by statistics_for_export()
- the single place where an export calls service.compute() - and reads its tables and
indicators generically, so a table added there is exported without a change here. Hidden
cells are written as "<k", never as their value. Text a spreadsheet would run as a formula
(a label starting with "=", "+", "-", "@", a tab or a carriage return: the OWASP CSV
injection rule; residential group names are typed by the administrator) is neutralised.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from flask_babel import force_locale, format_percent
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from incidents import access
from incidents.audit.service import record
from incidents.extensions import db
from incidents.spreadsheets import is_formula, safe_cell
from incidents.stats import service
from incidents.stats.tables import Cell, Indicator, Statistics
from incidents.timeutil import format_date


@dataclass(frozen=True)
class ExportFile:
    """An export as the browser downloads it."""

    body: bytes
    mimetype: str
    filename: str


@dataclass(frozen=True)
class ReportSettings:
    """What the official report takes from the settings (config.py, REPORT_*)."""

    recipients: tuple[str, ...]
    copies: tuple[str, ...]
    filed_as: str
    signature: tuple[str, ...]
    signer_name: str
    place: str

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
        )


# The formats, and the media type each is sent as.
EXPORTS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def statistics_for_export(user, first: date, last: date, threshold: int) -> Statistics:
    """The statistics an export publishes: every export counts through this one call, with
    the export's rules (only the cases STATS_EXPORT_BASIS allows; its own threshold)."""
    return service.compute(user, first, last, threshold, purpose="export")


def export(
    user,
    kind: str,
    first: date,
    last: date,
    threshold: int,
    settings: ReportSettings,
    issued_on: date,
) -> ExportFile:
    """Count the period and write it as kind ("xlsx", "csv" or "docx"), audited."""
    if not access.can(user, "stats.export"):
        raise PermissionError("stats.export")
    if kind not in EXPORTS:
        raise ValueError(f"unknown export format {kind!r}")
    statistics = statistics_for_export(user, first, last, threshold)
    name = user.ward.name
    if kind == "xlsx":
        body = xlsx_bytes(statistics, name)
    elif kind == "csv":
        body = csv_bytes(statistics, name)
    else:
        body = report_docx(statistics, name, settings, issued_on)
    period = f"{first.isoformat()}..{last.isoformat()}"
    record("stats.export", actor=user, detail=f"{kind} {period}")
    db.session.flush()
    stem = "bao-cao" if kind == "docx" else "thong-ke"
    return ExportFile(body, EXPORTS[kind], f"{stem}_{first.isoformat()}_{last.isoformat()}.{kind}")


# The spreadsheet and the CSV: one section per table, each stating what it counts.


def _shown(cell: Cell, threshold: int) -> int | str:
    """A count as exported: the number, or "<k" for a hidden one (never its value)."""
    return cell.shown(threshold) if cell.hidden else cell.value


def _heading(statistics: Statistics, title) -> list[list]:
    """The lines every section starts with: its title, the period and the rule."""
    k = statistics.threshold
    return [
        [str(title)],
        [
            _(
                "Cases received from %(first)s to %(last)s",
                first=format_date(statistics.first),
                last=format_date(statistics.last),
            )
        ],
        [
            _(
                'Suppression threshold %(k)s: counts from 1 to %(below)s are shown as "<%(k)s" '
                "so that no person can be recognised; where such a count could be worked out "
                "from a total, other counts are hidden too.",
                k=k,
                below=k - 1,
            )
        ],
        [_counting_rule(statistics)],
        [],
    ]


def _counting_rule(statistics: Statistics) -> str:
    """Which cases were counted (GBVIMS: only with the survivor's consent, or the law's)."""
    if statistics.rule == "consent":
        return _(
            "Counted: only the cases whose victim consented to non-identifying reporting, "
            "each once; merged duplicates once."
        )
    if statistics.rule == "all":
        return _(
            "Counted: every case of the ward received in the period, each once; a duplicate "
            "merged into another case is counted as that case. Exports count only the cases "
            "the export rule allows."
        )
    return _(
        "Counted: only the cases whose victim consented to non-identifying reporting or "
        "that have a recorded statutory basis, each once; merged duplicates once."
    )


def _indicator_row(indicator: Indicator, threshold: int) -> list:
    share = indicator.share
    return [
        str(indicator.title),
        _shown(indicator.numerator, threshold),
        _shown(indicator.denominator, threshold),
        _("not published") if share is None else share,
        indicator.target_2025,
        indicator.target_2030,
    ]


def sections(statistics: Statistics, ward_name: str) -> list[tuple[str, list[list]]]:
    """The export's sections as (name, rows): a summary, each table, the indicators."""
    k = statistics.threshold
    summary = _heading(statistics, _("Statistics of %(ward)s", ward=ward_name))
    summary.append([_("Cases received"), _shown(statistics.total, k)])
    found = [(_("Summary"), summary)]
    for table in statistics.tables:
        rows = _heading(statistics, table.title)
        rows.append(["", *(str(column) for column in table.columns)])
        rows += [[str(label), *(_shown(cell, k) for cell in cells)] for label, cells in table.rows]
        found.append((str(table.title), rows))
    if statistics.indicators:
        rows = _heading(statistics, _("Indicators of Resolution 28/NQ-CP"))
        rows.append(
            [
                _("Indicator"),
                _("Counted"),
                _("Out of"),
                _("Share"),
                _("Target for 2025"),
                _("Target for 2030"),
            ]
        )
        rows += [_indicator_row(indicator, k) for indicator in statistics.indicators]
        found.append((_("Indicators"), rows))
    return found


def _sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (at most 31 characters, none of []:*?/\\)."""
    base = "".join(" " if char in "[]:*?/\\" else char for char in title).strip(" '")[:31]
    name, number = base or "Sheet", 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name


def xlsx_bytes(statistics: Statistics, ward_name: str) -> bytes:
    """The statistics as a workbook: one sheet per section; formula-like text stays text."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    for name, rows in sections(statistics, ward_name):
        sheet = workbook.create_sheet(_sheet_name(name, taken))
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and is_formula(cell.value):
                    # Stored as a string, marked as typed with a leading apostrophe: the
                    # text shows as it is and no spreadsheet evaluates it.
                    cell.data_type = "s"
                    cell.quotePrefix = True
                elif isinstance(cell.value, float):
                    cell.number_format = "0.0%"
        sheet["A1"].font = Font(bold=True)
        sheet.column_dimensions["A"].width = 48
    workbook.properties.creator = ward_name
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _csv_value(value) -> str:
    if isinstance(value, float):
        return format_percent(value, "#,##0.0%")
    return safe_cell(value)


def csv_bytes(statistics: Statistics, ward_name: str) -> bytes:
    """The statistics as CSV (UTF-8 with a byte-order mark, for spreadsheets), neutralised."""
    output = io.StringIO()
    writer = csv.writer(output, quoting=csv.QUOTE_ALL)
    for number, (_name, rows) in enumerate(sections(statistics, ward_name)):
        if number:
            writer.writerow([])
        writer.writerows([_csv_value(value) for value in row] for row in rows)
    return ("\ufeff" + output.getvalue()).encode()


# The official report, laid out per Decree 30/2020 (DOMAIN.md section 4). The header lines,
# "BÁO CÁO", "Kính gửi", "Nơi nhận" and the signature block are the fixed Vietnamese
# wording of an administrative document, so they are not translated; the report is in
# Vietnamese whatever the reader's language.

FONT = "Times New Roman"
UNIT_PREFIXES = ("phường ", "xã ", "đặc khu ", "thị trấn ")


def official_date(day: date) -> str:
    """'ngày 05 tháng 5 năm 2026': days below 10 and months 1 and 2 with a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def place_of(ward_name: str) -> str:
    """The place on the date line: the ward's name without "Phường"/"Xã"."""
    for prefix in UNIT_PREFIXES:
        if ward_name.lower().startswith(prefix):
            return ward_name[len(prefix) :].strip()
    return ward_name


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


def _body(document, text: str, *, bold: bool = False):
    """A paragraph of the body: 14 pt, justified, first line indented 1.27 cm."""
    paragraph = _line(document, text, bold=bold, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=6)
    paragraph.paragraph_format.first_line_indent = Cm(1.27)
    return paragraph


def _frame(document, widths: tuple[float, float]):
    """A borderless two-column table, to set two blocks side by side (header, signature)."""
    table = document.add_table(rows=1, cols=2)
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, width in zip(table.rows[0].cells, widths, strict=True):
        cell.width = Cm(width)
    return table.rows[0].cells


def _grid(document, header: list[str], rows: list[list[str]], widths: list[float]):
    """A ruled table of the body (12 pt), its header row bold."""
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, values in enumerate([header, *rows]):
        for column, (cell, value) in enumerate(zip(table.rows[index].cells, values, strict=True)):
            cell.width = Cm(widths[column])
            paragraph = cell.paragraphs[0]
            paragraph.alignment = (
                WD_ALIGN_PARAGRAPH.LEFT if column == 0 else WD_ALIGN_PARAGRAPH.CENTER
            )
            run = paragraph.add_run(value)
            run.font.name, run.font.size, run.bold = FONT, Pt(12), index == 0
    return table


def _percent(share: float) -> str:
    return format_percent(share, "#,##0.#%")


def _header(document, ward_name: str, place: str, issued_on: date) -> None:
    issuer, motto = _frame(document, (6.0, 10.5))
    _line(issuer, "ỦY BAN NHÂN DÂN", 13, bold=True)
    _line(issuer, ward_name.upper(), 13, bold=True)
    _line(issuer, "Số:       /BC-UBND", 13, before=6)
    _line(motto, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    _line(motto, "Độc lập - Tự do - Hạnh phúc", 13, bold=True, underline=True)
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


def _tables(document, statistics: Statistics) -> None:
    k, width = statistics.threshold, 16.5
    for number, table in enumerate(statistics.tables, start=1):
        title = _("Table %(number)s. %(title)s", number=number, title=table.title)
        _body(document, title, bold=True)
        columns = len(table.columns)
        first = 5.5 if columns > 1 else 10.0
        widths = [first] + [(width - first) / columns] * columns
        _grid(
            document,
            ["", *(str(column) for column in table.columns)],
            [[str(label), *(cell.shown(k) for cell in cells)] for label, cells in table.rows],
            widths,
        )


def _indicators(document, statistics: Statistics) -> None:
    k = statistics.threshold
    if not statistics.indicators:
        _body(document, _("No indicator can be computed for this period."))
        return
    rows = []
    for indicator in statistics.indicators:
        share = indicator.share
        rows.append(
            [
                str(indicator.title),
                f"{indicator.numerator.shown(k)}/{indicator.denominator.shown(k)}",
                _("not published") if share is None else _percent(share),
                _percent(indicator.target_2025),
                _percent(indicator.target_2030),
            ]
        )
    header = [
        _("Indicator"),
        _("Counted / out of"),
        _("Share"),
        _("Target for 2025"),
        _("Target for 2030"),
    ]
    _grid(document, header, rows, [6.5, 2.5, 2.5, 2.5, 2.5])


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


def report_docx(
    statistics: Statistics, ward_name: str, settings: ReportSettings, issued_on: date
) -> bytes:
    """The periodic report as an editable Word document, laid out per Decree 30/2020."""
    with force_locale("vi"):
        return _report_docx(statistics, ward_name, settings, issued_on)


def _report_docx(statistics, ward_name, settings, issued_on) -> bytes:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(14)
    _set_font(normal.element.get_or_add_rPr().get_or_add_rFonts())
    for fonts in document.styles.element.iter(qn("w:rFonts")):
        _set_font(fonts)  # the document defaults' theme fonts too

    first, last = format_date(statistics.first), format_date(statistics.last)
    k = statistics.threshold
    _header(document, ward_name, settings.place or place_of(ward_name), issued_on)
    _line(document, "BÁO CÁO", 14, bold=True, before=18)
    summary = _(
        "Cases of domestic violence, gender-based violence and human trafficking "
        "from %(first)s to %(last)s",
        first=first,
        last=last,
    )
    _line(document, summary, 14, bold=True)
    _recipients(document, settings.recipients)
    _body(
        document,
        _(
            "The People's Committee of %(ward)s reports the cases of domestic violence, "
            "gender-based violence and human trafficking received from %(first)s to %(last)s, "
            "counted from the case records without any information that identifies a person, "
            "as follows:",
            ward=ward_name,
            first=first,
            last=last,
        ),
    )
    _body(document, _("I. CASES RECEIVED"), bold=True)
    _body(document, _("Cases received in the period: %(total)s.", total=statistics.total.shown(k)))
    _body(
        document,
        _(
            'Counts from 1 to %(below)s are written as "<%(k)s" so that no person can be '
            "recognised; where such a count could be worked out from a total, other counts "
            "are hidden too.",
            below=k - 1,
            k=k,
        ),
    )
    _tables(document, statistics)
    _body(document, _("II. INDICATORS OF THE NATIONAL STRATEGY ON GENDER EQUALITY"), bold=True)
    _body(
        document,
        _(
            "Resolution 28/NQ-CP sets targets for 2025 and 2030; the shares of this period "
            "against them:"
        ),
    )
    _indicators(document, statistics)
    _body(
        document, _("This is the report of the People's Committee of %(ward)s./.", ward=ward_name)
    )
    _closing(document, settings)

    properties = document.core_properties
    properties.author = properties.last_modified_by = ward_name
    properties.title = "Báo cáo"
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()
