"""The group leader's pages: the report form, its confirmation, and "my reports"."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from incidents import access
from incidents.audit.service import record
from incidents.cases import clocks, questions, service
from incidents.cases.keys import KeyUnavailable
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.extensions import db
from incidents.forms import EmptyForm
from incidents.reporting import drafts, submission
from incidents.reporting.forms import AnswerForm, ReportForm
from incidents.timeutil import format_datetime, utcnow
from incidents.web import PERSONAL_KEY, get_case_or_404, get_question_or_404, keyring

bp = Blueprint("reporting", __name__)


@bp.route("/report/new", methods=["GET", "POST"])
def new_report():
    """The report form: saved as a draft, or sent, which files the case exactly once."""
    if not access.can(current_user, "case.file"):
        abort(404)
    if request.method == "GET":
        return _blank_or_draft_form()
    form = ReportForm(current_user)
    action = request.form.get("action")
    if action in ("draft", "autosave"):
        return _save_draft(form, autosave=action == "autosave")
    try:
        key = submission.submission_key(form.submission_token.data, current_user.id)
    except submission.TokenRefused as refusal:
        # Nothing is filed, nothing typed is lost: the same answers, with a new token.
        form.validate()
        form.submission_token.data = submission.new_token(current_user.id)
        flash(
            _(
                "This form is too old to be sent. Your answers are kept below: check them "
                "and send again."
            )
            if refusal.reason == "expired"
            else _(
                "This form could not be checked, so nothing was sent. Your answers are "
                "kept below: check them and send again."
            ),
            "error",
        )
        return render_template("reporting/new.html", form=form), 400
    if form.validate():
        try:
            case_id, already = submission.file_once(current_user, form.to_report(), key)
        except service.CaseError as error:
            db.session.rollback()
            field = getattr(form, str(error), None)
            if field is not None:
                field.errors.append(_("This answer is not accepted."))
        else:
            if drafts.discard(current_user, form.draft_id.data):
                db.session.commit()
            if already:
                flash(_("This report had already been sent: it was filed once, here."), "info")
            else:
                current_app.logger.info("case filed id=%s", case_id)
            return redirect(url_for("reporting.filed", case_id=case_id))
    return render_template("reporting/new.html", form=form)


def _blank_or_draft_form():
    form = ReportForm(current_user, formdata=None)
    draft_id = request.args.get("draft")
    if draft_id:
        draft = drafts.find(current_user, draft_id, _draft_lifetime())
        seed = session.get(PERSONAL_KEY)
        if draft is None or seed is None:
            abort(404)
        try:
            answers = drafts.open_draft(current_user, draft, seed)
        except DecryptionError:  # sealed to a key he had before a reset
            flash(_("This draft was saved under your old key and cannot be opened."), "error")
            return redirect(url_for("reporting.my_reports"))
        form = ReportForm(current_user, formdata=ReportForm.formdata_of(answers))
        form.draft_id.data = draft.id
    form.submission_token.data = submission.new_token(current_user.id)
    return render_template("reporting/new.html", form=form)


def _save_draft(form: ReportForm, autosave: bool):
    """Keep what was typed, valid or not, sealed to the leader's own key."""
    try:
        draft = drafts.save(
            current_user,
            form.draft_id.data or None,
            form.answers_as_typed(request.form),
            _draft_lifetime(),
        )
    except drafts.DraftError:
        db.session.rollback()
        if autosave:
            return jsonify(saved=False), 422
        flash(_("The draft could not be saved. Send the report, or keep this page open."), "error")
        return render_template("reporting/new.html", form=form), 422
    db.session.commit()
    saved_at = format_datetime(draft.updated_at)
    if autosave:
        return jsonify(saved=True, draft=draft.id, at=saved_at)
    form.draft_id.data = draft.id
    flash(
        _(
            "Draft saved at %(time)s. It is kept for %(days)s days, in “My reports”.",
            time=saved_at,
            days=_draft_lifetime().days,
        ),
        "success",
    )
    return render_template("reporting/new.html", form=form)


def _draft_lifetime():
    return current_app.config["DRAFT_LIFETIME"]


@bp.route("/report/drafts/<draft_id>/delete", methods=["POST"])
def delete_draft(draft_id: str):
    """Throw a draft away (a POST button with a CSRF token)."""
    if not access.can(current_user, "case.file"):
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not drafts.discard(current_user, draft_id):
        abort(404)
    record("draft.delete", actor=current_user, target=f"draft:{draft_id}")
    db.session.commit()
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("reporting.my_reports"))


@bp.route("/report/filed/<case_id>")
def filed(case_id: str):
    """Confirmation: the reference and who the report went to."""
    case = get_case_or_404(current_user, case_id, "case.track")
    return render_template("reporting/filed.html", case=case)


@bp.route("/reports")
def my_reports():
    """The cases this leader filed, newest first, with their status and running clocks."""
    if not access.can(current_user, "case.list_own"):
        abort(404)
    cases = db.session.scalars(
        service.visible_cases(current_user, select(Case), "case.track")
        .options(selectinload(Case.deadlines), joinedload(Case.group))
        .order_by(Case.received_at.desc())
    ).all()
    now = utcnow()
    return render_template(
        "reporting/my_reports.html",
        cases=cases,
        clocks={case.id: clocks.running(case, now) for case in cases},
        drafts=drafts.drafts_of(current_user, _draft_lifetime()),
        delete_form=EmptyForm(formdata=None),
        draft_days=_draft_lifetime().days,
        waiting_questions=questions.cases_waiting_for(current_user),
    )


@bp.route("/reports/<case_id>")
def my_report(case_id: str):
    """One of the leader's own reports, as he filed it."""
    case = get_case_or_404(current_user, case_id, "case.track")
    return _render_my_report(case)


def _render_my_report(case: Case, answer_forms: dict | None = None, status: int = 200):
    """The report (within the read-back window) and the questions he may see and answer."""
    content, shown, sealed_to_old_key = None, [], False
    try:
        if access.can(current_user, "case.read", case):
            content = service.read_case(current_user, case, keyring())
        shown = questions.questions_for(current_user, case, keyring())
        db.session.commit()
    except KeyUnavailable:
        raise
    except DecryptionError:
        # Sealed to the key he had before a reset: lost to him, not to the desks.
        db.session.rollback()
        content, shown, sealed_to_old_key = None, [], True
    forms = {
        view.question.id: AnswerForm(prefix=f"q{view.question.id}", formdata=None)
        for view in shown
        if view.question.is_open
    }
    page = render_template(
        "reporting/my_report.html",
        case=case,
        content=content,
        clocks=clocks.running(case),
        sealed_to_old_key=sealed_to_old_key,
        readback_days=current_app.config["REPORTER_READBACK_DAYS"],
        questions=shown,
        answer_forms={**forms, **(answer_forms or {})},
    )
    return page, status


_ANSWER_REFUSALS = {
    "empty": _l("Write your answer first."),
    "too_long": _l("Your answer is too long."),
    "answered": _l("You have already answered this question: this answer was not sent."),
    "closed": _l(
        "The ward staff closed this question before your answer arrived: it was not sent. "
        "If it still matters, tell them directly."
    ),
}


@bp.route("/reports/<case_id>/questions/<int:question_id>", methods=["POST"])
def answer_question(case_id: str, question_id: int):
    """The leader answers a question; a refused answer shows again as typed (400)."""
    case = get_case_or_404(current_user, case_id, "question.answer")
    question = get_question_or_404(current_user, case, question_id, "question.answer")
    form = AnswerForm(prefix=f"q{question.id}")
    if form.validate_on_submit():
        try:
            questions.answer(current_user, question, form.text.data, keyring())
        except service.CaseError as error:
            db.session.rollback()
            form.text.errors.append(str(_ANSWER_REFUSALS[str(error)]))
        else:
            db.session.commit()
            flash(_("Thank you: your answer was sent to the ward staff."), "success")
            return redirect(url_for("reporting.my_report", case_id=case.id))
    return _render_my_report(case, {question.id: form}, status=400)
