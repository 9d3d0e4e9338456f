"""The officer's and the chairman's statistics page."""

from datetime import date

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.audit.service import latest_checkpoint
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.stats import periods, service
from incidents.stats.forms import PeriodForm
from incidents.timeutil import ward_today

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


@bp.route("/")
def dashboard():
    """Counts for the chosen period (default: this year so far), suppressed."""
    if not access.can(current_user, "stats.view"):
        abort(404)
    today = ward_today()
    form = PeriodForm(request.args, meta={"csrf": False})
    form.group.choices = as_choices(
        (
            ("", _("All groups")),
            *((str(group.id), group.name) for group in current_user.ward.groups),
        )
    )
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
