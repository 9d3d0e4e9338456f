"""Queues and the case page for the police, the officer and the chairman."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import case as sql_case

from incidents import access
from incidents.audit.viewer import access_log
from incidents.cases import intake, questions, service
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.forms import EmptyForm, as_choices
from incidents.timeutil import utcnow
from incidents.triage.forms import NoteForm, QuestionForm, RouteForm, StatusForm
from incidents.triage.intake import DECREE, paper_forms
from incidents.vocab import CLOSE_REASONS, DESKS, STATUSES, label
from incidents.wards.models import Desk
from incidents.web import get_case_or_404, get_question_or_404, keyring

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


def _render_case(
    case: Case, note_form: NoteForm, status: int = 200, question_form: QuestionForm | None = None
):
    """Decrypt (and audit the read), then show the case with its action forms."""
    content = service.read_case(current_user, case, keyring())
    asked = _questions_context(case, question_form)
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
        **asked,
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


# Questions to the group leader (cases/questions.py) and the printable intake record.


def _questions_context(case: Case, question_form: QuestionForm | None) -> dict:
    """The case's questions, decrypted (their read audited), and the forms to ask and close."""
    shown = questions.questions_for(current_user, case, keyring())
    return {
        "questions": shown,
        "closable": {
            view.question.id
            for view in shown
            if view.question.is_open
            and access.can_question(current_user, "question.close", view.question)
        },
        "question_form": question_form or QuestionForm(prefix="question", formdata=None),
        "close_question_form": EmptyForm(formdata=None),
    }


_QUESTION_REFUSALS = {
    "empty": _l("Write the question first."),
    "too_long": _l("The question is too long."),
    "answered": _l("This question has already been answered."),
    "closed": _l("This question is already closed."),
}


@bp.route("/<case_id>/questions", methods=["POST"])
def ask_question(case_id: str):
    """Put a question to the group leader; a refused one shows again as typed (400)."""
    case = get_case_or_404(current_user, case_id, "question.ask")
    form = QuestionForm(prefix="question")
    if form.validate_on_submit():
        try:
            questions.ask(current_user, case, form.text.data, keyring())
        except service.CaseError as error:
            db.session.rollback()
            form.text.errors.append(str(_QUESTION_REFUSALS[str(error)]))
        else:
            db.session.commit()
            flash(_("The question was sent to the group leader."), "success")
            return redirect(url_for("triage.case_page", case_id=case.id, _anchor="questions"))
    return _render_case(case, NoteForm(formdata=None), status=400, question_form=form)


@bp.route("/<case_id>/questions/<int:question_id>/close", methods=["POST"])
def close_question(case_id: str, question_id: int):
    """Close an open question that is no longer needed."""
    case = get_case_or_404(current_user, case_id)
    question = get_question_or_404(current_user, case, question_id, "question.close")
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        questions.close(current_user, question, keyring())
    except service.CaseError as error:
        db.session.rollback()
        flash(str(_QUESTION_REFUSALS[str(error)]), "error")
    else:
        db.session.commit()
        flash(_("The question was closed."), "success")
    return redirect(url_for("triage.case_page", case_id=case.id, _anchor="questions"))


@bp.route("/<case_id>/intake")
def intake_record(case_id: str):
    """The printable intake record, rendered from the decrypted case; each view audited."""
    case = get_case_or_404(current_user, case_id, "case.print")
    fields = intake.read_for_print(current_user, case, keyring())
    db.session.commit()
    return render_template(
        "triage/intake.html",
        case=case,
        forms=paper_forms(case, fields),
        decree=DECREE,
        printed_at=utcnow(),
    )
