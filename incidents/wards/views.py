"""The desks of the ward: who sits where, and seating a new member."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from incidents import access
from incidents.accounts.models import User
from incidents.crypto import DecryptionError
from incidents.crypto.keys import parse_recovery_key
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.vocab import DESKS, ROLES, label
from incidents.wards import service
from incidents.wards.forms import SeatForm
from incidents.wards.models import DESK_KINDS
from incidents.web import confirm_first, keyring

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


def _overview(form: SeatForm):
    return render_template(
        "desks/overview.html", ward=current_user.ward, desks=_visible_desks(), form=form
    )


@bp.route("/")
def overview():
    """The ward's desks and their members; the form to seat someone."""
    if not access.can(current_user, "desk.view"):
        abort(404)
    return _overview(_seat_form(False))


@bp.route("/seat", methods=["POST"])
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
    refusal = None
    try:
        if desk.id in current_user.desk_ids:
            desk_seed = keyring().desk_seed(desk.id)
        elif form.recovery_key.data and current_user.role in RECOVERY_HOLDERS:
            desk_seed = service.desk_seed_by_recovery(
                desk, parse_recovery_key(form.recovery_key.data)
            )
        else:
            refusal = _("You do not sit at this desk: enter the ward's recovery key.")
        if refusal is None:
            service.grant_seat(current_user, desk, member, desk_seed)
    except ValueError as error:  # WardError is one too
        refusal = (
            _(
                "The seat was not granted: the key does not open this desk, or this person "
                "cannot sit at it."
            )
            if isinstance(error, service.WardError)
            else _("The recovery key is mistyped: check it and try again.")
        )
    except DecryptionError:
        refusal = _("The seat was not granted: the key does not open this desk.")
    if refusal is not None:
        db.session.rollback()
        service.record_refused_grant(current_user, desk, member)
        db.session.commit()
        form.recovery_key.errors.append(refusal)
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
