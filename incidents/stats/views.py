"""The officer's and the chairman's statistics page."""

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.audit.service import latest_checkpoint
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.stats import charts, exports, periods, service
from incidents.stats.forms import PeriodForm
from incidents.timeutil import ward_today
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


@bp.route("/")
def dashboard():
    """Counts for the chosen period (default: this year so far), suppressed."""
    if not access.can(current_user, "stats.view"):
        abort(404)
    today = ward_today()
    form = _period_form()
    if not request.args:
        form.first.data, form.last.data = date(today.year, 1, 1), today
    statistics, status = None, 200
    if not request.args or form.validate():
        # A period that has begun but not ended is counted up to today.
        statistics = service.compute(
            current_user,
            form.first.data,
            min(form.last.data, today),
            purpose="dashboard",
            group_id=form.group_id,
        )
        db.session.commit()
    else:
        status = 400
    return render_template(
        "stats/dashboard.html",
        form=form,
        statistics=statistics,
        today=today,
        presets=periods.presets(current_app.config["STATS_REPORTS"], today),
        checkpoint=latest_checkpoint(),
    ), status


@bp.app_template_global()
def dashboard_charts(statistics):
    """The charts of the statistics page (stats.charts), for templates/stats/_chart.html."""
    return charts.dashboard_charts(statistics)


def _export(kind: str):
    """A download of the chosen period (default: this year so far): re-authenticated first."""
    if not access.can(current_user, "stats.export"):
        abort(404)
    if refusal := confirm_first():
        return refusal
    form, today = _period_form(), ward_today()
    if not request.args:
        form.first.data, form.last.data = date(today.year, 1, 1), today
    elif not form.validate():
        page = render_template("stats/export_period.html", form=form)
        return page, 400
    config = current_app.config
    made = exports.export(
        current_user,
        kind,
        form.first.data,
        min(form.last.data, today),  # a period not ended yet: counted up to today
        config["STATS_EXPORT_THRESHOLD"],
        exports.ReportSettings.from_config(config),
        today,
    )
    db.session.commit()
    return Response(
        made.body,
        mimetype=made.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


@bp.route("/export.xlsx")
def export_xlsx():
    """The statistics as a spreadsheet, one sheet per table."""
    return _export("xlsx")


@bp.route("/export.csv")
def export_csv():
    """The statistics as CSV, one section per table."""
    return _export("csv")


@bp.route("/report.docx")
def report_docx():
    """The official periodic report (Decree 30/2020) as an editable Word document."""
    return _export("docx")
