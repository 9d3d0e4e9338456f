"""The officer's and the chairman's statistics page."""

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.audit.service import latest_checkpoint
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.stats import charts, exports, periods, report_document, service, statutory
from incidents.stats.forms import PeriodForm, PublishForm
from incidents.timeutil import format_date, ward_today
from incidents.web import confirm_first

bp = Blueprint("stats", __name__, url_prefix="/stats")


def report_reminders() -> list[periods.Reminder]:
    """The official reports falling due soon, for a user who counts them; else none."""
    if not current_user.is_authenticated or not access.can(current_user, "stats.view"):
        return []
    config = current_app.config
    return periods.reminders(config["STATS_REPORTS"], ward_today(), config["STATS_REMINDER_DAYS"])


@bp.app_context_processor
def _reminders():
    # A callable: only the pages that include stats/_reminders.html pay for it.
    return {"report_reminders": report_reminders}


def _period_form() -> PeriodForm:
    """The period (and group) chosen in the query string, with the ward's groups to choose."""
    form = PeriodForm(request.args, meta={"csrf": False})
    form.group.choices = as_choices(
        (
            ("", _("All groups")),
            *((str(group.id), group.name) for group in current_user.ward.groups),
        )
    )
    return form


# The desks' working tables the page shows beside the statutory report (which has every
# other table): the work on the cases, and the reports per residential group.
WORKING_TABLES = ("per_month", "groups", "status", "handled", "ack_time")


@bp.route("/")
def dashboard():
    """The statutory report of the chosen period (default: this year so far) and the desks'
    working tables: exact, for the people who read the cases (DOMAIN.md section 4)."""
    if not access.can(current_user, "stats.view"):
        abort(404)
    today = ward_today()
    form = _period_form()
    if not request.args:
        form.first.data, form.last.data = date(today.year, 1, 1), today
    report = working = None
    status = 200
    if not request.args or form.validate():
        # A period that has begun but not ended is counted up to today.
        first, last = form.first.data, min(form.last.data, today)
        report = statutory.compute(current_user, first, last)
        # One entry in the audit trail per page: the statutory report's, and the working
        # tables' own when they are narrowed to a group (which group was looked at).
        working = service.compute(
            current_user,
            first,
            last,
            purpose="dashboard",
            group_id=form.group_id,
            audited=form.group_id is not None,
        )
        db.session.commit()
    else:
        status = 400
    return render_template(
        "stats/dashboard.html",
        form=form,
        report=report,
        statistics=working,
        working_tables=[
            table for key in WORKING_TABLES if working and (table := working.table(key))
        ],
        today=today,
        presets=periods.presets(current_app.config["STATS_REPORTS"], today),
        checkpoint=latest_checkpoint(),
    ), status


@bp.route("/indicator/<key>")
def indicator(key: str):
    """The cases an indicator of the chosen period counts, those the reader may read."""
    if not access.can(current_user, "stats.view") or key not in statutory.INDICATOR_TITLES:
        abort(404)
    period, refusal = _period_to_export()
    if refusal:
        return refusal
    found = statutory.indicator_cases(current_user, key, *period)
    db.session.commit()
    return render_template("stats/indicator.html", found=found, first=period[0], last=period[1])


@bp.app_template_global()
def dashboard_charts(report, statistics):
    """The charts of the statistics page (stats.charts), for templates/stats/_chart.html."""
    return charts.dashboard_charts(report, statistics)


def _period_to_export():
    """The period of a download or a list (default: this year so far; a period not ended
    yet is counted up to today), or the page refusing a bad one."""
    form, today = _period_form(), ward_today()
    if not request.args:
        form.first.data, form.last.data = date(today.year, 1, 1), today
    elif not form.validate():
        return None, (render_template("stats/export_period.html", form=form), 400)
    return (form.first.data, min(form.last.data, today)), None


def _download(made: exports.ExportFile) -> Response:
    return Response(
        made.body,
        mimetype=made.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


def _statutory(kind: str):
    """The statutory report of the chosen period: re-authenticated first."""
    if not access.can(current_user, "stats.export"):
        abort(404)
    if refusal := confirm_first():
        return refusal
    period, refusal = _period_to_export()
    if refusal:
        return refusal
    made = exports.statutory_export(
        current_user,
        kind,
        *period,
        report_document.ReportSettings.from_config(current_app.config),
        ward_today(),
    )
    db.session.commit()
    return _download(made)


def _not_publishable(refusal: exports.NotPublishable) -> str:
    """Why a period cannot be published, in words."""
    first, last = format_date(refusal.first), format_date(refusal.last)
    if refusal.overlapping:
        return _(
            "Figures of %(first)s to %(last)s have already been published: a period that "
            "overlaps it could be subtracted from it to give away a hidden count. Publish "
            "exactly that period, or one that does not overlap it.",
            first=first,
            last=last,
        )
    return _(
        "Figures of %(first)s to %(last)s were published before this version kept the "
        "files: counting them again could be compared with what went out. Use the file "
        "given out then.",
        first=first,
        last=last,
    )


def _ended_periods(today: date) -> list[periods.ReportPeriod]:
    """The official periods whose figures are complete, latest first."""
    found = periods.presets(current_app.config["STATS_REPORTS"], today)
    ended = [period for period in found if period.counted_to < today]
    if not ended:  # the latest have not ended: the ones before them
        year = min(period.year for period in found) - 1
        ended = periods.presets(current_app.config["STATS_REPORTS"], date(year, 12, 31))
    return ended


def _publish_page(form: PublishForm, refusal: str | None = None, status: int = 200):
    first, last = form.first.data, form.last.data
    published = None
    if refusal is None and first and last and not form.errors:
        published, why = exports.published(current_user, first, last)
        refusal = why and _not_publishable(why)
    page = render_template("stats/publish.html", form=form, published=published, refusal=refusal)
    return page, status


@bp.route("/publish", methods=["GET", "POST"])
def publish():
    """The figures of a period to publish or share. GET: what publishing does, and the
    period's state (published before, or blocked by an overlapping one); changes nothing.
    POST: publish the period (or take its earlier publication) and download it as the file
    chosen: re-authenticated first; an overlapping period is refused, input kept."""
    if not access.can(current_user, "stats.export"):
        abort(404)
    today = ward_today()
    if request.method == "GET":
        form = PublishForm(request.args, meta={"csrf": False})
        if not request.args:  # the latest official period that has ended, not a part of one
            ended = _ended_periods(today)[0]
            form.first.data, form.last.data = ended.first, ended.counted_to
        elif not form.validate():
            return _publish_page(form, status=400)
        form.last.data = min(form.last.data, today)
        return _publish_page(form)
    if refusal := confirm_first(
        "stats.publish", first=request.form.get("first"), last=request.form.get("last")
    ):
        return refusal
    form = PublishForm()
    if not form.validate():
        return _publish_page(form, status=400)
    last = min(form.last.data, today)
    threshold = current_app.config["STATS_EXPORT_THRESHOLD"]
    try:
        made = exports.export(current_user, form.format.data, form.first.data, last, threshold)
    except exports.NotPublishable as why:
        return _publish_page(form, _not_publishable(why), 409)
    db.session.commit()
    return _download(made)


@bp.route("/report.docx")
def report_docx():
    """The statutory report (Decree 30/2020) as an editable Word document."""
    return _statutory("docx")


@bp.route("/report.xlsx")
def report_xlsx():
    """The statutory report's tables as a spreadsheet, one sheet per table."""
    return _statutory("xlsx")
