"""The officer's and the chairman's statistics page."""

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from incidents import access
from incidents.audit.service import latest_checkpoint
from incidents.extensions import db
from incidents.stats import charts, exports, service
from incidents.stats.forms import PeriodForm
from incidents.timeutil import ward_today
from incidents.web import confirm_first

bp = Blueprint("stats", __name__, url_prefix="/stats")


@bp.route("/")
def dashboard():
    """Counts for the chosen period (default: this year so far), suppressed."""
    if not access.can(current_user, "stats.view"):
        abort(404)
    today = ward_today()
    form = PeriodForm(request.args, meta={"csrf": False})
    if not request.args:
        form.first.data, form.last.data = date(today.year, 1, 1), today
    statistics = None
    if not request.args or form.validate():
        statistics = service.compute(
            current_user,
            form.first.data,
            form.last.data,
            current_app.config["STATS_SUPPRESSION_THRESHOLD"],
        )
        db.session.commit()
    return render_template(
        "stats/dashboard.html",
        form=form,
        statistics=statistics,
        checkpoint=latest_checkpoint(),
    )


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
    form, today = PeriodForm(request.args, meta={"csrf": False}), ward_today()
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
        form.last.data,
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
