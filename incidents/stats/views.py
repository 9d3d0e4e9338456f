"""The officer's and the chairman's statistics page."""

from datetime import date

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user

from incidents import access
from incidents.audit.service import latest_checkpoint
from incidents.extensions import db
from incidents.stats import service
from incidents.stats.forms import PeriodForm
from incidents.timeutil import ward_today

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
