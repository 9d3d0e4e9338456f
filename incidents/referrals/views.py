"""Referring a case to a partner, and the partners' pages: their referrals, answering."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.cases import referrals
from incidents.cases.models import Referral
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.referrals.forms import AnswerForm
from incidents.referrals.panel import refer_form
from incidents.triage.views import render_case
from incidents.vocab import DESKS, REFERRAL_STATES, label
from incidents.web import CASE_ID, get_case_or_404, keyring

bp = Blueprint("referrals", __name__)

# What the refusal of each rule of cases.referrals says, and by which field.
REFER_ERRORS = {
    "desk": ("desk_id", lambda: _("Choose a partner of this ward from the list.")),
    "fields": ("fields", lambda: _("Choose what to share from the list.")),
    "basis": (
        "basis",
        lambda: _(
            "Nothing was shared: record the consent of the victim (or her parent or "
            "guardian), or the emergency, first."
        ),
    ),
    "consent_by": (
        "consent_by",
        lambda: _("Nothing was shared without consent: say who gave the consent."),
    ),
    "consent_how": (
        "consent_how",
        lambda: _("Nothing was shared without consent: say how the consent was given."),
    ),
    "why": (
        "why",
        lambda: _(
            "Nothing was shared: without consent, only a danger to life or health allows "
            "it. Describe the danger, in at most %(max)s characters.",
            max=referrals.WHY_MAX_LENGTH,
        ),
    ),
    "message": (
        "message",
        lambda: _(
            "Write what you ask of the partner, in at most %(max)s characters.",
            max=referrals.MESSAGE_MAX_LENGTH,
        ),
    ),
    "open": (
        "desk_id",
        lambda: _("This partner has an open referral of this case already: wait for its answer."),
    ),
}


@bp.route("/cases/<case_id>/refer", methods=["POST"])
def refer(case_id: str):
    """Refer the case to a partner desk; a refusal shows the case again with the input."""
    case = get_case_or_404(current_user, case_id, "case.refer")
    form = refer_form(case, submitted=True)
    if form.validate_on_submit():
        desk = next((desk for desk in case.ward.desks if desk.id == form.desk_id.data), None)
        try:
            referrals.refer(
                current_user,
                case,
                desk,
                fields=form.fields.data or [],
                basis=form.basis.data,
                consent_by=form.consent_by.data or None,
                consent_how=form.consent_how.data or None,
                why=form.why.data or "",
                message=form.message.data or "",
                keyring=keyring(),
            )
        except referrals.ReferralError as error:
            db.session.rollback()
            name, message = REFER_ERRORS.get(str(error), REFER_ERRORS["basis"])
            form[name].errors = [*form[name].errors, message()]
        else:
            db.session.commit()
            flash(_("The referral was sent to %(desk)s.", desk=label(DESKS, desk.kind)), "success")
            return redirect(url_for("triage.case_page", case_id=case.id))
    flash(_("The referral was not sent: correct what is marked below."), "error")
    return render_case(case, refer_form=form, status=400)


def get_referral_or_404(referral_id: str, action: str = "referral.read") -> Referral:
    """A referral to the user's desk; 404 for both missing and forbidden ones."""
    referral = db.session.get(Referral, referral_id) if CASE_ID.fullmatch(referral_id) else None
    if referral is None or not access.can(current_user, action, referral):
        abort(404)
    return referral


@bp.route("/referrals/")
def index():
    """The referrals to the partner's desk, newest first."""
    if not access.can(current_user, "referral.list"):
        abort(404)
    return render_template("referrals/index.html", referrals=referrals.desk_referrals(current_user))


def _answer_form(referral: Referral, submitted: bool = False) -> AnswerForm | None:
    allowed = referrals.ANSWERS.get(referral.state, ())
    if not allowed:
        return None
    form = AnswerForm() if submitted else AnswerForm(formdata=None)
    form.state.choices = as_choices(
        (code, text) for code, text in REFERRAL_STATES if code in allowed
    )
    if not submitted:
        form.seen.data = referral.state
    return form


def _show(referral: Referral, form: AnswerForm | None, status: int = 200):
    content = referrals.open_referral(current_user, referral, keyring())
    db.session.commit()
    return render_template("referrals/show.html", content=content, form=form), status


@bp.route("/referrals/<referral_id>")
def show(referral_id: str):
    """What the referral shares, and the form to answer it; the read is audited."""
    referral = get_referral_or_404(referral_id)
    return _show(referral, _answer_form(referral))


@bp.route("/referrals/<referral_id>/answer", methods=["POST"])
def answer(referral_id: str):
    """Accept, decline or close the referral, with a note for the ward."""
    referral = get_referral_or_404(referral_id, "referral.answer")
    form = _answer_form(referral, submitted=True)
    if form is None:
        flash(_("This referral is closed: there is nothing more to answer."), "error")
        return redirect(url_for("referrals.show", referral_id=referral.id))
    if form.seen.data and form.seen.data != referral.state:
        flash(
            _(
                "A colleague answered this referral meanwhile: nothing of yours was saved. "
                "Look at its state now, then answer again."
            ),
            "error",
        )
        return _show(referral, form, 409)
    if form.validate_on_submit():
        try:
            referrals.respond(current_user, referral, form.state.data, form.note.data, keyring())
        except referrals.ReferralError as error:
            db.session.rollback()
            if str(error) == "note":
                form.note.errors = [
                    _(
                        "To decline, say why, in at most %(max)s characters.",
                        max=referrals.NOTE_MAX_LENGTH,
                    )
                ]
            else:
                form.state.errors = [_("Choose an answer from the list.")]
        else:
            db.session.commit()
            flash(_("Your answer was sent to the ward."), "success")
            return redirect(url_for("referrals.show", referral_id=referral.id))
    flash(_("The answer was not sent: correct what is marked below."), "error")
    return _show(referral, form, 400)
