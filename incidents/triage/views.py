"""Queues and the case page for the police, the officer and the chairman."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case as sql_case

from incidents import access
from incidents.audit.viewer import access_log
from incidents.cases import service
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.triage.forms import NoteForm, RouteForm, StatusForm
from incidents.vocab import CLOSE_REASONS, DESKS, STATUSES, label
from incidents.wards.models import Desk
from incidents.web import get_case_or_404, keyring

bp = Blueprint("triage", __name__, url_prefix="/cases")

URGENCY_ORDER = sql_case({"immediate": 0, "high": 1}, value=Case.urgency, else_=2)
OPEN_FIRST = sql_case({"closed": 1}, value=Case.status, else_=0)


@bp.route("/")
def queue():
    """The desk's queue: open cases, most urgent first, then oldest first."""
    if not access.can(current_user, "queue.view"):
        abort(404)
    cases = db.session.scalars(
        service.visible_cases(current_user).order_by(OPEN_FIRST, URGENCY_ORDER, Case.received_at)
    ).all()
    return render_template("triage/queue.html", cases=cases)


@bp.route("/<case_id>")
def case_page(case_id: str):
    """The case with its decrypted fields, timeline and notes; the read is audited."""
    case = get_case_or_404(current_user, case_id)
    if case.reporter_id == current_user.id:
        return redirect(url_for("reporting.my_report", case_id=case.id))
    return _render_case(case, NoteForm())


def _render_case(case: Case, note_form: NoteForm, status: int = 200):
    """Decrypt (and audit the read), then show the case with its action forms."""
    content = service.read_case(current_user, case, keyring())
    db.session.commit()
    status_form = StatusForm(formdata=None)
    allowed = service.allowed_transitions(current_user, case)
    status_form.status.choices = as_choices(
        (code, text) for code, text in STATUSES if code in allowed
    )
    page = render_template(
        "triage/case.html",
        case=case,
        content=content,
        status_form=status_form,
        note_form=note_form,
        route_form=_route_form(case, submitted=False),
        access_log=access_log(case),
        close_reasons=CLOSE_REASONS,
    )
    return page, status


def _route_form(case: Case, submitted: bool) -> RouteForm | None:
    """The form to route the case to a desk it has not reached yet, if any and allowed."""
    if not access.can(current_user, "case.route", case):
        return None
    routed = {route.desk_id for route in case.routes}
    choices = [
        (desk.id, label(DESKS, desk.kind)) for desk in case.ward.desks if desk.id not in routed
    ]
    if not choices:
        return None
    form = RouteForm() if submitted else RouteForm(formdata=None)
    form.desk_id.choices = as_choices(choices)
    return form


@bp.route("/<case_id>/route", methods=["POST"])
def route(case_id: str):
    """Seal the case's key to one more desk."""
    case = get_case_or_404(current_user, case_id, "case.route")
    form = _route_form(case, submitted=True)
    if form is None or not form.validate_on_submit():
        flash(_("Choose a desk from the list."), "error")
    else:
        desk = db.session.get(Desk, form.desk_id.data)
        try:
            service.route_to_desk(current_user, case, desk, keyring())
        except service.CaseError:
            flash(_("Choose a desk from the list."), "error")
        else:
            db.session.commit()
            flash(_("The case was sent to %(desk)s.", desk=label(DESKS, desk.kind)), "success")
    return redirect(url_for("triage.case_page", case_id=case.id))


@bp.route("/<case_id>/status", methods=["POST"])
def change_status(case_id: str):
    """Apply a status change from the case page."""
    case = get_case_or_404(current_user, case_id, "case.change_status")
    form = StatusForm()
    if form.validate_on_submit():
        try:
            service.change_status(
                current_user, case, form.status.data, keyring(), form.close_reason.data or None
            )
        except service.CaseError as error:
            flash(_status_error(str(error)), "error")
        else:
            db.session.commit()
            flash(_("The status was changed."), "success")
    else:
        flash(_("Choose a status from the list."), "error")
    return redirect(url_for("triage.case_page", case_id=case.id))


def _status_error(code: str) -> str:
    if code == "close_reason":
        return _("To close a case, choose the reason for closing.")
    return _("This status change is not allowed from the case's current status.")


@bp.route("/<case_id>/notes", methods=["POST"])
def add_note(case_id: str):
    """Add an encrypted note; an empty or over-long note is refused with its reason."""
    case = get_case_or_404(current_user, case_id, "case.note")
    form = NoteForm()
    if form.validate_on_submit():
        service.add_note(current_user, case, form.text.data, keyring())
        db.session.commit()
        flash(_("The note was saved."), "success")
        return redirect(url_for("triage.case_page", case_id=case.id))
    # Show the case again with the typed note and its error, so nothing is lost.
    return _render_case(case, form, status=400)
