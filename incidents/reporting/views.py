"""The report form (a group leader's, a partner's, a desk member's), its confirmation, and
a reporter's "my reports"."""

import hashlib

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
from flask_login import current_user, logout_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import ValidationError

from incidents import access
from incidents.accounts import service as accounts_service
from incidents.accounts.models import User
from incidents.accounts.sessions import end_session_of, presented_record_id, record_id_of
from incidents.audit.service import record
from incidents.cases import clocks, questions, service, verification
from incidents.cases.keys import KeyUnavailable
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.extensions import client_network, csrf, db, limiter, login_manager
from incidents.forms import EmptyForm
from incidents.reporting import drafts, submission
from incidents.reporting.forms import (
    SAME_EVENT_FACTS,
    AnswerForm,
    ReportForm,
    report_form_for,
)
from incidents.timeutil import format_datetime, utcnow
from incidents.wards import trust
from incidents.web import PERSONAL_KEY, get_case_or_404, get_question_or_404, keyring

bp = Blueprint("reporting", __name__)


def _kept_form_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _form_owner_or_address() -> str:
    """Forms sent after sign-out count per owner (his own form's token), so that junk from
    the same address (a carrier's shared one) cannot use up his; junk counts per address."""
    try:
        return f"kept-form:{submission.owner_of(request.form.get('submission_token')).user_id}"
    except submission.TokenRefused:
        return client_network()


@bp.route("/report/new", methods=["GET", "POST"])
# The form checks its own CSRF token: a token that fails (a session replaced meanwhile)
# must show the answers again, not a bare 400 page that loses them.
@csrf.exempt
@limiter.limit(
    _kept_form_limit,
    key_func=_form_owner_or_address,
    methods=["POST"],
    exempt_when=lambda: current_user.is_authenticated,
)
def new_report():
    """The report form: saved as a draft, or sent, which files the case exactly once.

    Sent after its session ended (security.KEPT_AFTER_SIGN_OUT lets that POST through), it
    is kept as its owner's draft, and he finds it after signing in again.
    """
    if not current_user.is_authenticated:
        return _keep_after_sign_out()
    if not access.can(current_user, "case.file"):
        abort(404)
    if request.method == "GET":
        return _blank_or_draft_form()
    form = report_form_for(current_user)
    action = request.form.get("action")
    if not _csrf_token_valid():
        if action == "autosave":
            return jsonify(saved=False), 400
        return _ask_again(form, "forged")
    if action in ("draft", "autosave"):
        return _save_draft(form, autosave=action == "autosave")
    try:
        key = submission.submission_key(form.submission_token.data, current_user.id)
    except submission.TokenRefused as refusal:
        return _ask_again(form, refusal.reason)
    if form.validate():
        try:
            case_id, already = submission.file_once(
                current_user, form.to_report(), key, keyring().own_public_key()
            )
        except trust.KeyMismatch as mismatch:
            db.session.rollback()
            trust.record_mismatch(mismatch, current_user)
            db.session.commit()
            flash(
                _(
                    "Your account's key does not match the one you signed in with, so "
                    "nothing was sent. Your answers are kept below: tell the ward's "
                    "administrator."
                )
                if mismatch.what == "own key"
                else _(
                    "The ward's keys could not be checked, so nothing was sent: your answers "
                    "are kept below. Tell the ward's culture-social officer or chairman; "
                    "try again once they have checked the keys."
                ),
                "error",
            )
            return _render_form(form, 409)
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
            if current_user.role in access.FILER_ROLES:
                return redirect(url_for("reporting.filed", case_id=case_id))
            flash(_("The report was recorded."), "success")
            return redirect(url_for("triage.case_page", case_id=case_id))
    return _render_form(form)


def _csrf_token_valid() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def _ask_again(form, reason: str):
    """Nothing is filed, nothing typed is lost: the same answers, with a new token."""
    form.validate()
    form.submission_token.data = _new_token()
    flash(
        _(
            "This form is too old to be sent. Your answers are kept below: check them "
            "and send again."
        )
        if reason == "expired"
        else _(
            "This form could not be checked, so nothing was sent. Your answers are "
            "kept below: check them and send again."
        ),
        "error",
    )
    return _render_form(form, 400)


def _new_token() -> str:
    return submission.new_token(current_user, keyring().own_public_key(), record_id_of(session))


def _render_form(form, status: int = 200):
    """The form page; a desk member's also lists his drafts (a leader's are in My reports)."""
    own_drafts = []
    if form.RECEIPT and not form.draft_id.data:
        own_drafts = drafts.drafts_of(current_user, _draft_lifetime())
    page = render_template("reporting/new.html", form=form, own_drafts=own_drafts)
    return page, status


def _blank_or_draft_form():
    form = report_form_for(current_user, formdata=None)
    if request.args.get("same_event"):
        form = _another_victim_of(request.args["same_event"])
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
        db.session.commit()  # the opening's audit entry
        form = report_form_for(current_user, formdata=ReportForm.formdata_of(answers))
        form.draft_id.data = draft.id
    # A draft keeps its form's token, so that its report is filed once however many
    # copies of the form are sent; a token too old (or none) is replaced.
    try:
        submission.submission_key(form.submission_token.data, current_user.id)
    except submission.TokenRefused:
        form.submission_token.data = _new_token()
    return _render_form(form)


def _another_victim_of(case_id: str) -> ReportForm:
    """A report of another victim of the same event: the event's coded facts as that case
    has them (as its filer reported them, for a filer), the victim's questions empty.

    Nothing sealed is copied: the first victim's words belong to her case, under its key,
    and the new case may reach other desks than hers."""
    action = "case.track" if current_user.role in access.FILER_ROLES else "case.read"
    case = get_case_or_404(current_user, case_id, action)
    own = case.reported if current_user.role in access.FILER_ROLES and case.reported else {}
    data = {
        name: own[name] if name in own else getattr(case, name)
        for name in SAME_EVENT_FACTS
        if hasattr(case, name)
    }
    data["immediate_danger"] = "yes" if data.get("immediate_danger") else "no"
    form = report_form_for(current_user, formdata=None, data=data)
    form.same_event.data = case.id
    flash(
        _("Another victim of the event of %(reference)s: check what is filled in, and answer "
          "about this victim.", reference=case.reference),
        "info",
    )  # fmt: skip
    return form


def _save_draft(form: ReportForm, autosave: bool):
    """Keep what was typed, valid or not, sealed to the leader's own key."""
    try:
        draft = drafts.save(
            current_user,
            form.draft_id.data or None,
            _answers_with_token(form, request.form),
            _draft_lifetime(),
            keyring().own_public_key(),
        )
    except drafts.DraftError:
        db.session.rollback()
        if autosave:
            return jsonify(saved=False), 422
        flash(_("The draft could not be saved. Send the report, or keep this page open."), "error")
        return _render_form(form, 422)
    db.session.commit()
    if request.form.get("idle") == "1":
        return _sign_out_after_idle(draft)
    # Saving is activity: a leader who is typing is not signed out (sessions touch the
    # idle clock at most once a minute otherwise).
    session.modified = True
    saved_at = format_datetime(draft.updated_at)
    if autosave:
        return jsonify(saved=True, draft=draft.id, at=saved_at)
    form.draft_id.data = draft.id
    flash(
        _(
            "Draft saved at %(time)s. It is kept for %(days)s days, in “My reports”.",
            time=saved_at,
            days=_draft_lifetime().days,
        )
        if current_user.role in access.FILER_ROLES
        else _(
            "Draft saved at %(time)s. It is kept for %(days)s days.",
            time=saved_at,
            days=_draft_lifetime().days,
        ),
        "success",
    )
    return _render_form(form)


def _sign_out_after_idle(draft):
    """The page's idle time ran out while the session lived on a little longer on the
    server: what was typed is kept, and this session ends now, as it would have (saving
    the draft must not count as activity, or an open page would never sign out)."""
    accounts_service.record_logout(current_user, idle=True)
    end_session_of(current_user.id, record_id_of(session))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You were signed out after a time without activity."), "info")
    flash(
        _("What you typed is kept as a draft that only you can open: sign in to go on."),
        "info",
    )
    return redirect(url_for("accounts.login", next=url_for("reporting.new_report", draft=draft.id)))


def _draft_lifetime():
    return current_app.config["DRAFT_LIFETIME"]


def _answers_with_token(form: ReportForm, formdata) -> dict:
    """What a draft keeps: the answers as typed, the form's token and the case whose event
    it reports another victim of."""
    return {
        **form.answers_as_typed(formdata),
        "submission_token": form.submission_token.data,
        "same_event": form.same_event.data or "",
    }


def _keep_after_sign_out():
    """A report form sent after its session ended (idle, or signed out elsewhere).

    Its signed token says whose it is, which public key his session held, which session
    that was and his password then: the answers are kept as his draft, sealed to that key
    (no secret needed), when they come from that session's browser with his password
    unchanged, and he is sent to sign in, then back to the form as he left it, one tap
    from sending. A token that is not ours keeps nothing; a public key changed in the
    database since keeps nothing either, loudly (SECURITY.md property 26).
    """
    try:
        owner = submission.owner_of(request.form.get("submission_token"))
    except submission.TokenRefused:
        return login_manager.unauthorized()
    filer = db.session.get(User, owner.user_id)
    if (
        filer is None
        or not access.can(filer, "case.file")
        or not owner.opened_by(filer, presented_record_id(current_app, request))
    ):
        return login_manager.unauthorized()
    if not owner.sealed_to(filer.public_key):
        trust.record_mismatch(
            trust.KeyMismatch("own key (draft)", f"user:{filer.id}", filer.ward_id), filer
        )
        db.session.commit()
        flash(
            _(
                "Your report could not be kept safely, so nothing was stored: sign in and "
                "write it again, and tell the ward's administrator."
            ),
            "error",
        )
        return redirect(url_for("accounts.login"))
    form = report_form_for(filer, formdata=request.form, meta={"csrf": False})
    try:
        # Only the draft this form's token names: an earlier draft is never written from
        # outside a session, whatever draft id the form carries.
        draft = drafts.save(
            filer,
            None,
            _answers_with_token(form, request.form),
            _draft_lifetime(),
            filer.public_key,
            new_id=hashlib.sha256(f"kept|{owner.key}".encode()).hexdigest()[:32],
            kept_after_sign_out=True,
        )
    except drafts.DraftError:
        db.session.rollback()
        return login_manager.unauthorized()
    db.session.commit()
    flash(
        _(
            "You had been signed out, so the report was not sent. It is kept as a draft "
            "that only you can open: sign in, check it and send it."
        ),
        "info",
    )
    sign_in = url_for("accounts.login", next=url_for("reporting.new_report", draft=draft.id))
    if request.form.get("action") == "autosave":  # the page's script goes there itself
        return jsonify(saved=True, signed_out=True, draft=draft.id, login=sign_in)
    return redirect(sign_in)


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
    # A reporter's drafts are in his reports; a desk member's on the form's page.
    own_list = "reporting.my_reports" if access.can(current_user, "case.list_own") else None
    return redirect(url_for(own_list or "reporting.new_report"))


@bp.route("/report/filed/<case_id>")
def filed(case_id: str):
    """Confirmation: the reference and who the report went to."""
    case = get_case_or_404(current_user, case_id, "case.track")
    return render_template(
        "reporting/filed.html",
        case=case,
        child_emergency=clocks.child_emergency_applies(case),
    )


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
        # What he reported, never the desks' verified facts (their assessment, not his).
        facts=verification.Facts(**case.reported) if case.reported else case,
        desk_view=False,
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
