"""Account management for the administrator: accounts, activation codes, roles, sign-ins.

Nothing here shows or touches a case: the administrator runs the accounts, not the files.
"""

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
from flask_login import current_user
from sqlalchemy import select

from incidents import access
from incidents.accounts import service
from incidents.accounts.forms import EmailForm
from incidents.accounts.models import User
from incidents.admin.forms import ActiveForm, NewUserForm, RoleForm
from incidents.audit.viewer import sign_in_history
from incidents.extensions import db
from incidents.forms import EmptyForm, as_choices
from incidents.timeutil import as_utc, utcnow
from incidents.web import argon2_params, confirm_first

bp = Blueprint("admin", __name__, url_prefix="/admin")


# Pages that only show; every other one changes an account and needs a recent sign-in.
READ_ONLY = frozenset({"admin.users", "admin.history"})


@bp.before_request
def require_admin():
    """Every page here is for the administrator alone, and changes need him confirmed."""
    if not access.can(current_user, "accounts.manage"):
        abort(404)
    if request.endpoint not in READ_ONLY:
        return confirm_first("admin.users")
    return None


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.ward_id != current_user.ward_id:
        abort(404)
    return user


@bp.route("/users")
def users():
    """The ward's accounts."""
    accounts = db.session.scalars(
        select(User).where(User.ward_id == current_user.ward_id).order_by(User.role, User.username)
    ).all()
    return render_template(
        "admin/users.html",
        users=accounts,
        active_form=ActiveForm(formdata=None),
        now=utcnow(),
        as_utc=as_utc,
        needs_code=access.needs_second_factor,
    )


def _code_unless_from_desks(user: User) -> str | None:
    """The account's activation code, for the administrator only while no officer or
    chairman sits at a desk to hand it out (accounts.service.codes_come_from_desks)."""
    if service.codes_come_from_desks(user.ward):
        return None
    return service.new_activation_code(
        user, argon2_params(), current_app.config["ACTIVATION_CODE_LIFETIME"]
    )


def _show_activation_code(user: User, code: str | None, reset: bool):
    return render_template(
        "admin/activation_code.html",
        user=user,
        code=code,
        expires=user.activation_expires_at,
        reset=reset,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create an account; its owner activates it with a one-time code shown once here."""
    form = NewUserForm()
    ward = current_user.ward
    form.groups.choices = as_choices((group.id, group.name) for group in ward.groups)
    if form.validate_on_submit():
        chosen = [group for group in ward.groups if group.id in (form.groups.data or [])]
        try:
            user = service.create_user(
                current_user,
                ward=ward,
                username=form.username.data,
                display_name=form.display_name.data,
                role=form.role.data,
                password=None,
                params=argon2_params(),
                groups=chosen,
            )
            service.set_email(current_user, user, form.email.data)
        except service.AccountError as error:
            db.session.rollback()
            field = form.email if error.reason in ("email", "email_leader") else form.username
            field.errors.append(_account_error_message(error))
        else:
            code = _code_unless_from_desks(user)
            db.session.commit()
            return _show_activation_code(user, code, reset=False)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/new_user.html", form=form), status


def _account_error_message(error: service.AccountError) -> str:
    """The refusal in the administrator's language (the service speaks English)."""
    messages = {
        "taken": _("This username is taken."),
        "username": _(
            "A username has letters, digits, dots, dashes or underscores, without "
            "accents, and starts with a letter or a digit."
        ),
        "no_group": _("A group leader must lead at least one residential group."),
        "groups": _("Only group leaders lead residential groups."),
        "email": _("Enter an e-mail address such as ten@example.vn, without accents or spaces."),
        "email_leader": _(
            "Group leaders get their notices in the app only: a message on a phone "
            "someone else may pick up could endanger them. Leave the e-mail empty."
        ),
    }
    return messages.get(error.reason) or _("The account could not be created.")


@bp.route("/users/<int:user_id>/reset", methods=["GET", "POST"])
def reset(user_id: int):
    """Reset a forgotten password with a new key pair (when the recovery key is not at hand)."""
    user = _user_or_404(user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        lost = service.reset_password(current_user, user, argon2_params())
        code = _code_unless_from_desks(user)
        db.session.commit()
        flash(
            _(
                "The key of %(name)s was reset. Desk seats ended, to be granted again: "
                "%(seats)s. The reports they filed can no longer be shown to them.",
                name=user.display_name,
                seats=lost,
            ),
            "info",
        )
        return _show_activation_code(user, code, reset=True)
    return render_template("admin/reset.html", form=form, user=user)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int):
    """Deactivate or reactivate an account (a POST button with a CSRF token)."""
    user = _user_or_404(user_id)
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            service.set_active(current_user, user, form.active.data == "1")
        except service.AccountError:
            flash(_("You cannot deactivate your own account."), "error")
        else:
            db.session.commit()
            flash(
                _("%(name)s can sign in again.", name=user.display_name)
                if user.active
                else _(
                    "%(name)s is deactivated and signed out everywhere.", name=user.display_name
                ),
                "success",
            )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/role", methods=["GET", "POST"])
def change_role(user_id: int):
    """Give a staff member another staff role (his seats and sessions end)."""
    user = _user_or_404(user_id)
    if user.role not in access.STAFF_ROLES or user.id == current_user.id:
        abort(404)
    form = RoleForm() if request.method == "POST" else RoleForm(data={"role": user.role})
    if form.validate_on_submit():
        if form.role.data == user.role:
            flash(_("%(name)s already has this role: nothing changed.", name=user.display_name))
            return redirect(url_for("admin.users"))
        lost = service.change_role(current_user, user, form.role.data)
        db.session.commit()
        flash(
            _(
                "%(name)s has the new role and was signed out everywhere. Desk seats "
                "ended: %(seats)s; someone at the desk of the new role seats them there.",
                name=user.display_name,
                seats=lost,
            ),
            "success",
        )
        return redirect(url_for("admin.users"))
    return render_template("admin/role.html", form=form, user=user)


@bp.route("/users/<int:user_id>/history")
def history(user_id: int):
    """An account's sign-ins, failed attempts and sign-outs (the latest 50)."""
    user = _user_or_404(user_id)
    return render_template(
        "admin/history.html", user=user, history=sign_in_history(user.id, limit=50)
    )


@bp.route("/users/<int:user_id>/email", methods=["GET", "POST"])
def change_email(user_id: int):
    """Set, change or clear a staff member's e-mail for notices (leaders have none)."""
    user = _user_or_404(user_id)
    if user.role not in access.STAFF_ROLES:
        abort(404)
    form = EmailForm() if request.method == "POST" else EmailForm(data={"email": user.email})
    if form.validate_on_submit():
        changed = service.set_email(current_user, user, form.email.data)
        db.session.commit()
        if changed:
            flash(_("The e-mail of %(name)s was saved.", name=user.display_name), "success")
        else:
            flash(_("%(name)s already has this e-mail: nothing changed.", name=user.display_name))
        return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/email.html", form=form, user=user), status
