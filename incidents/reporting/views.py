"""The group leader's pages: the report form, its confirmation, and "my reports"."""

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from incidents import access
from incidents.cases import service
from incidents.cases.keys import KeyUnavailable
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.extensions import db
from incidents.reporting.forms import ReportForm
from incidents.transaction import commit_with_retry
from incidents.web import get_case_or_404, keyring

bp = Blueprint("reporting", __name__)


@bp.route("/report/new", methods=["GET", "POST"])
def new_report():
    """The report form; a valid one files the case and shows its confirmation."""
    if not access.can(current_user, "case.file"):
        abort(404)
    form = ReportForm(current_user)
    if form.validate_on_submit():
        report = form.to_report()
        try:
            # The id is read before the commit, which expires the object.
            case_id = commit_with_retry(lambda: service.file_report(current_user, report).id)
        except service.CaseError as error:
            db.session.rollback()
            field = getattr(form, str(error), None)
            if field is not None:
                field.errors.append(_("This answer is not accepted."))
        else:
            current_app.logger.info("case filed id=%s", case_id)
            return redirect(url_for("reporting.filed", case_id=case_id))
    return render_template("reporting/new.html", form=form)


@bp.route("/report/filed/<case_id>")
def filed(case_id: str):
    """Confirmation: the reference and who the report went to."""
    case = get_case_or_404(current_user, case_id, "case.track")
    return render_template("reporting/filed.html", case=case)


@bp.route("/reports")
def my_reports():
    """The cases this leader filed, newest first, with their status."""
    if not access.can(current_user, "case.list_own"):
        abort(404)
    cases = db.session.scalars(
        service.visible_cases(current_user, select(Case), "case.track").order_by(
            Case.received_at.desc()
        )
    ).all()
    return render_template("reporting/my_reports.html", cases=cases)


@bp.route("/reports/<case_id>")
def my_report(case_id: str):
    """One of the leader's own reports, as he filed it."""
    case = get_case_or_404(current_user, case_id, "case.track")
    content, sealed_to_old_key = None, False
    if access.can(current_user, "case.read", case):
        try:
            content = service.read_case(current_user, case, keyring())
            db.session.commit()
        except KeyUnavailable:
            raise
        except DecryptionError:
            # Sealed to the key he had before a reset: lost to him, not to the desks.
            db.session.rollback()
            sealed_to_old_key = True
    return render_template(
        "reporting/my_report.html",
        case=case,
        content=content,
        sealed_to_old_key=sealed_to_old_key,
        readback_days=current_app.config["REPORTER_READBACK_DAYS"],
    )
