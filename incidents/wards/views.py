"""The desks of the ward: who sits where, and seating a new member."""

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from incidents import access
from incidents.accounts import service as accounts
from incidents.accounts.models import User
from incidents.crypto import DecryptionError
from incidents.crypto.keys import key_fingerprint, parse_recovery_key
from incidents.extensions import account_throttle_key, db, limiter
from incidents.forms import as_choices
from incidents.vocab import DESKS, ROLES, label
from incidents.wards import service
from incidents.wards.forms import IssueCodeForm, RemoveSeatForm, RotateForm, SeatForm
from incidents.wards.models import DESK_KINDS
from incidents.web import argon2_params, confirm_first, keyring

bp = Blueprint("desks", __name__, url_prefix="/desks")

# Who may open a desk's key with the recovery key: the holders of that key.
RECOVERY_HOLDERS = {"officer", "chairman"}


def _visible_desks() -> list:
    """The desks the user sees: all of his ward's, but a partner sees only his own."""
    desks = current_user.ward.desks
    if current_user.role == "partner":
        return [desk for desk in desks if desk.id in current_user.desk_ids]
    return desks


def _seat_form(submitted: bool) -> SeatForm:
    ward = current_user.ward
    desks = [
        desk
        for desk in ward.desks
        if desk.id in current_user.desk_ids or current_user.role in RECOVERY_HOLDERS
    ]
    candidates = db.session.scalars(
        select(User)
        .where(
            User.ward_id == ward.id,
            User.role.in_((*DESK_KINDS, "partner")),
            User.active.is_(True),
        )
        .order_by(User.display_name)
    ).all()
    form = SeatForm() if submitted else SeatForm(formdata=None)
    form.desk_id.choices = as_choices((desk.id, label(DESKS, desk.kind)) for desk in desks)
    form.user_id.choices = as_choices(
        (user.id, f"{user.display_name} ({label(ROLES, user.role)})")
        for user in candidates
        if any(service.may_sit_at(user, desk) and desk.id not in user.desk_ids for desk in desks)
    )
    return form


def _overview(form: SeatForm, rotate_form: RotateForm | None = None, rotating=None):
    candidates = [db.session.get(User, choice.value) for choice in form.user_id.choices]
    return render_template(
        "desks/overview.html",
        ward=current_user.ward,
        desks=_visible_desks(),
        form=form,
        provenance=[(user, service.key_provenance(user)) for user in candidates],
        remove_form=RemoveSeatForm(formdata=None),
        rotate_form=rotate_form or RotateForm(formdata=None),
        rotating=rotating,
        may_remove=_may_remove,
        key_code=key_fingerprint,
        awaiting=accounts.awaiting_code(current_user.ward) if _hands_out_codes() else [],
        code_form=IssueCodeForm(formdata=None),
    )


def _hands_out_codes() -> bool:
    """A seated officer or chairman hands out the ward's activation codes."""
    return current_user.role in RECOVERY_HOLDERS and any(
        desk.kind == current_user.role
        for desk in current_user.ward.desks
        if desk.id in current_user.desk_ids
    )


@bp.route("/activation", methods=["POST"])
def issue_code():
    """Give an account its activation code, to hand to its owner in person."""
    if not access.can(current_user, "desk.view"):
        abort(404)
    if refusal := confirm_first("desks.overview"):
        return refusal
    form = IssueCodeForm()
    user = db.session.get(User, form.user_id.data) if form.validate_on_submit() else None
    if user is None or not _hands_out_codes():
        abort(400)
    try:
        code = accounts.issue_activation_code(
            current_user, user, argon2_params(), current_app.config["ACTIVATION_CODE_LIFETIME"]
        )
    except accounts.AccountError:
        abort(400)
    db.session.commit()
    return render_template(
        "admin/activation_code.html",
        user=user,
        code=code,
        expires=user.activation_expires_at,
        back=url_for("desks.overview"),
    )


def _may_remove(desk) -> bool:
    """Who may take a seat away: a member of that desk, or the officer or the chairman."""
    return desk.id in current_user.desk_ids or current_user.role in RECOVERY_HOLDERS


def _own_desk(desk_id) -> object | None:
    return next((desk for desk in current_user.ward.desks if desk.id == desk_id), None)


@bp.route("/remove", methods=["POST"])
def remove():
    """Take a member's seat away; the desk's key is then due for renewal."""
    if not access.can(current_user, "desk.view"):
        abort(404)
    if refusal := confirm_first("desks.overview"):
        return refusal
    form = RemoveSeatForm()
    desk = _own_desk(form.desk_id.data) if form.validate_on_submit() else None
    member = db.session.get(User, form.user_id.data) if desk is not None else None
    if desk is None or member is None or not _may_remove(desk):
        abort(400)
    try:
        service.remove_seat(current_user, desk, member)
    except service.WardError:
        abort(400)
    db.session.commit()
    flash(
        _(
            "%(name)s no longer sits at the desk %(desk)s. Renew the desk's key now: until "
            "then what is sealed to it could still be opened with his old seat.",
            name=member.display_name,
            desk=label(DESKS, desk.kind),
        ),
        "success",
    )
    return redirect(url_for("desks.overview", _anchor=f"desk-{desk.id}"))


@bp.route("/rotate", methods=["POST"])
def rotate():
    """Renew a desk's key pair with the recovery key (the officer or the chairman)."""
    if not access.can(current_user, "desk.view"):
        abort(404)
    if refusal := confirm_first("desks.overview"):
        return refusal
    form = RotateForm()
    desk = _own_desk(form.desk_id.data) if form.desk_id.data else None
    if desk is None or current_user.role not in RECOVERY_HOLDERS:
        abort(400)
    if not form.validate_on_submit():
        return _overview(_seat_form(False), form, desk), 400
    try:
        keep = {int(value) for value in request.form.getlist("keep") if value.isdigit()}
        done = service.rotate_desk(
            current_user, desk, parse_recovery_key(form.recovery_key.data), keep=keep
        )
    except ValueError:  # a mistyped key, or not this ward's (WardError)
        db.session.rollback()
        form.recovery_key.errors.append(
            _("The key was not renewed: this is not the ward's recovery key. Check it.")
        )
        return _overview(_seat_form(False), form, desk), 400
    db.session.commit()
    flash(
        _(
            "The key of the desk %(desk)s was renewed: %(routes)s cases and %(referrals)s "
            "referrals sealed to the new key; %(kept)s members keep their seat, %(dropped)s "
            "must be seated again.",
            desk=label(DESKS, desk.kind),
            **done,
        ),
        "success",
    )
    return redirect(url_for("desks.overview", _anchor=f"desk-{desk.id}"))


_GRANT_REFUSALS = {
    "code": _l(
        "The seat was not granted: the code you typed is not the code of this account's key. "
        "Ask him to read it again from his own account page. If it still differs, the key "
        "is not his: do not seat him, and tell the chairman."
    ),
    "second": _l(
        "The seat was not granted: a second member who sits at a desk of the ward must be "
        "present and confirm it with his password and code, or use the ward's recovery key."
    ),
    "witness": _l(
        "The seat was not granted: the second member's name, password or code is wrong, or "
        "he sits at no desk of the police, the officer or the chairman of this ward."
    ),
}


@bp.route("/")
def overview():
    """The ward's desks and their members; the form to seat someone."""
    if not access.can(current_user, "desk.view"):
        abort(404)
    return _overview(_seat_form(False))


def _witness_account() -> str:
    """The second member's account, as typed: his password is tried here as at sign-in."""
    typed = request.form.get("second_username") or current_user.username
    return account_throttle_key(typed)


@bp.route("/seat", methods=["POST"])
# A second member's password is checked here: it spends his sign-in allowance.
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=_witness_account)
def seat():
    """Seal a desk's key to a new member, with the granter's own seat or the recovery key."""
    if not access.can(current_user, "desk.view"):
        abort(404)
    if refusal := confirm_first("desks.overview"):
        return refusal
    form = _seat_form(True)
    if not form.validate_on_submit():
        flash(_("Choose a desk and a person from the lists."), "error")
        return _overview(form), 400
    desk = next(desk for desk in current_user.ward.desks if desk.id == form.desk_id.data)
    member = db.session.get(User, form.user_id.data)
    refusal, reason = None, None
    by_recovery = bool(form.recovery_key.data) and current_user.role in RECOVERY_HOLDERS
    try:
        if by_recovery:
            desk_seed = service.desk_seed_by_recovery(
                desk, parse_recovery_key(form.recovery_key.data)
            )
        elif desk.id in current_user.desk_ids:
            desk_seed = keyring().desk_seed(desk.id)
        else:
            refusal = _("You do not sit at this desk: enter the ward's recovery key.")
        if refusal is None:
            second = None
            if form.second_username.data or form.second_password.data:
                second = service.witness(
                    desk.ward,
                    current_user,
                    member,
                    form.second_username.data or "",
                    form.second_password.data or "",
                    form.second_code.data or "",
                    time.time(),
                )
            service.grant_seat(
                current_user,
                desk,
                member,
                desk_seed,
                checked_code=form.key_code.data,
                by_recovery=by_recovery,
                second=second,
            )
    except ValueError as error:  # WardError is one too
        if isinstance(error, service.WardError) and error.reason in _GRANT_REFUSALS:
            refusal, reason = str(_GRANT_REFUSALS[error.reason]), error.reason
        elif isinstance(error, service.WardError):
            refusal = _(
                "The seat was not granted: the key does not open this desk, or this person "
                "cannot sit at it."
            )
        else:
            refusal = _("The recovery key is mistyped: check it and try again.")
    except DecryptionError:
        refusal = _("The seat was not granted: the key does not open this desk.")
    if refusal is not None:
        db.session.rollback()
        service.record_refused_grant(current_user, desk, member)
        if reason == "witness":
            service.record_refused_witness(form.second_username.data or "")
        db.session.commit()
        # Next to the field to correct (the recovery key's shows only to its holders).
        fields = {"code": form.key_code, "second": form.second_username}
        fields["witness"] = form.second_password
        default = form.recovery_key if current_user.role in RECOVERY_HOLDERS else form.key_code
        fields.get(reason, default).errors.append(refusal)
        return _overview(form), 400
    db.session.commit()
    flash(
        _(
            "%(name)s now sits at the desk %(desk)s.",
            name=member.display_name,
            desk=label(DESKS, desk.kind),
        ),
        "success",
    )
    return redirect(url_for("desks.overview"))
