"""The statistics as files: the statutory report (a Decree 30 .docx and its tables as
.xlsx, stats.report_document) and the figures to publish or share (.xlsx, CSV).

The two are apart (DOMAIN.md section 4). The statutory report is exact: every verified
case, no consent gate, no suppression; it goes up the state chain. The publication export
is built from one Statistics (stats.tables), counted by statistics_for_export() - the single
place where it calls service.compute() - with consent gating and small-cell suppression;
hidden cells are written as "<k", never as their value; and it refuses a period that
overlaps one already published without being it, since two such periods could be
subtracted to give away a hidden count. Text a spreadsheet would run as a formula (a label
starting with "=", "+", "-", "@", a tab or a carriage return: the OWASP CSV injection rule;
residential group names are typed by the administrator) is neutralised.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date

from flask_babel import format_percent
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select

from incidents import access
from incidents.audit.service import record
from incidents.extensions import db
from incidents.spreadsheets import is_formula, safe_cell
from incidents.stats import report_document, service, statutory
from incidents.stats.models import Publication
from incidents.stats.tables import Cell, Indicator, Statistics
from incidents.timeutil import format_date
from incidents.wards.models import Ward


@dataclass(frozen=True)
class ExportFile:
    """An export as the browser downloads it."""

    body: bytes
    mimetype: str
    filename: str


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The publication formats, and the media type each is sent as.
EXPORTS = {"xlsx": XLSX, "csv": "text/csv"}


class NotPublishable(ValueError):
    """A period the ward may not publish: it overlaps one already published without being
    it, or it was published before its files were kept."""

    def __init__(self, first: date, last: date, *, overlapping: bool):
        super().__init__(f"{first.isoformat()}..{last.isoformat()}")
        self.first, self.last, self.overlapping = first, last, overlapping


def statistics_for_export(user, first: date, last: date, threshold: int) -> Statistics:
    """The statistics an export publishes: every export counts through this one call, with
    the export's rules (only the cases STATS_EXPORT_BASIS allows; its own threshold)."""
    return service.compute(user, first, last, threshold, purpose="export")


def statutory_export(
    user, kind: str, first: date, last: date, settings, issued_on: date
) -> ExportFile:
    """The statutory report of the period as "docx" (the document) or "xlsx" (its tables),
    exact, audited."""
    if not access.can(user, "stats.export"):
        raise PermissionError("stats.export")
    report = statutory.compute(user, first, last)
    name = user.ward.name
    if kind == "docx":
        body, mimetype = report_document.report_docx(report, name, settings, issued_on), DOCX
    elif kind == "xlsx":
        sheets = report_document.workbook_sections(report, name, settings.reports)
        body = workbook_bytes(sheets, name)
        mimetype = XLSX
    else:
        raise ValueError(f"unknown statutory report format {kind!r}")
    period = f"{first.isoformat()}..{last.isoformat()}"
    record("stats.export", actor=user, detail=f"report.{kind} {period}")
    db.session.flush()
    stem = "bao-cao" if kind == "docx" else "bao-cao-bieu-so-lieu"
    return ExportFile(body, mimetype, f"{stem}_{first.isoformat()}_{last.isoformat()}.{kind}")


def publish(user, first: date, last: date, threshold: int) -> Publication:
    """The ward's publication of the period: the one made before, as it went out, or a new
    one counted now (consent-gated, suppressed), audited. Raises NotPublishable for a
    period overlapping another publication, or published before its files were kept.

    The ward's row is locked first, so that two publications asked at once are made one
    after the other and the second sees the first."""
    if not access.can(user, "stats.export"):
        raise PermissionError("stats.export")
    db.session.execute(select(Ward.id).where(Ward.id == user.ward_id).with_for_update())
    earlier, refusal = published(user, first, last)
    if refusal is not None:
        raise refusal
    if earlier is not None:
        return earlier
    statistics = statistics_for_export(user, first, last, threshold)
    name = user.ward.name
    publication = Publication(
        ward_id=user.ward_id,
        first=first,
        last=last,
        published_by_id=user.id,
        threshold=statistics.threshold,
        rule=statistics.rule,
        xlsx=xlsx_bytes(statistics, name),
        csv=csv_bytes(statistics, name),
    )
    db.session.add(publication)
    record("stats.publish", actor=user, detail=f"{first.isoformat()}..{last.isoformat()}")
    db.session.flush()
    return publication


def published(user, first: date, last: date):
    """(the ward's publication of exactly this period or None, the NotPublishable that a
    publication of it would raise or None): what the page says before anything is done."""
    found = db.session.scalars(
        select(Publication)
        .where(
            Publication.ward_id == user.ward_id,
            Publication.first <= last,
            Publication.last >= first,
        )
        .order_by(Publication.first)
    ).all()
    for earlier in found:
        if (earlier.first, earlier.last) != (first, last):
            return None, NotPublishable(earlier.first, earlier.last, overlapping=True)
        if earlier.xlsx is None:
            return None, NotPublishable(earlier.first, earlier.last, overlapping=False)
        return earlier, None
    return None, None


def export(user, kind: str, first: date, last: date, threshold: int) -> ExportFile:
    """The ward's publication of the period as kind ("xlsx" or "csv"), audited: the files
    made at its first publication (publish())."""
    if kind not in EXPORTS:
        raise ValueError(f"unknown export format {kind!r}")
    publication = publish(user, first, last, threshold)
    record("stats.export", actor=user, detail=f"{kind} {first.isoformat()}..{last.isoformat()}")
    db.session.flush()
    return ExportFile(
        getattr(publication, kind),
        EXPORTS[kind],
        f"thong-ke_{first.isoformat()}_{last.isoformat()}.{kind}",
    )


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
            "Counted: only the verified cases whose victim consented to non-identifying "
            "reporting, each once; merged duplicates once."
        )
    if statistics.rule == "all":
        return _(
            "Counted: every case of the ward received in the period, each once; a duplicate "
            "merged into another case is counted as that case. Exports count only the cases "
            "the export rule allows."
        )
    return _(
        "Counted: only the verified cases whose victim consented to non-identifying "
        "reporting or that have a recorded statutory basis, each once; merged duplicates once."
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


def workbook_bytes(sheets: list[tuple[str, list[list]]], creator: str) -> bytes:
    """A workbook of one sheet per (name, rows); formula-like text stays text."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    for name, rows in sheets:
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
    workbook.properties.creator = creator
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def xlsx_bytes(statistics: Statistics, ward_name: str) -> bytes:
    """The statistics as a workbook: one sheet per section."""
    return workbook_bytes(sections(statistics, ward_name), ward_name)


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
