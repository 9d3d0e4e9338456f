"""Account management for the administrator: list and create accounts."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from incidents import access
from incidents.accounts import service
from incidents.accounts.models import User
from incidents.admin.forms import ActiveForm, NewUserForm, ResetForm
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.web import argon2_params

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_admin():
    """Every page here is for the administrator alone."""
    if not access.can(current_user, "accounts.manage"):
        abort(404)


@bp.route("/users")
def users():
    """The ward's accounts."""
    accounts = db.session.scalars(
        select(User).where(User.ward_id == current_user.ward_id).order_by(User.role, User.username)
    ).all()
    return render_template(
        "admin/users.html", users=accounts, active_form=ActiveForm(formdata=None)
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create an account; the password is typed by the admin and changed by its owner."""
    form = NewUserForm()
    ward = current_user.ward
    form.groups.choices = as_choices((group.id, group.name) for group in ward.groups)
    if form.validate_on_submit():
        chosen = [group for group in ward.groups if group.id in (form.groups.data or [])]
        try:
            service.create_user(
                current_user,
                ward=ward,
                username=form.username.data,
                display_name=form.display_name.data,
                role=form.role.data,
                password=form.password.data,
                params=argon2_params(),
                groups=chosen,
            )
        except service.AccountError as error:
            form.username.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The account was created."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/new_user.html", form=form)


@bp.route("/users/<int:user_id>/reset", methods=["GET", "POST"])
def reset(user_id: int):
    """Reset a forgotten password with a new key pair (when the recovery key is not at hand)."""
    user = db.session.get(User, user_id)
    if user is None or user.ward_id != current_user.ward_id:
        abort(404)
    form = ResetForm()
    if form.validate_on_submit():
        lost = service.reset_password(current_user, user, form.password.data, argon2_params())
        db.session.commit()
        flash(
            _(
                "%(name)s has a temporary password. At the next sign-in they choose their own, "
                "which makes a new key; %(seats)s desk seats must then be granted again, and "
                "the reports they filed can no longer be shown to them.",
                name=user.display_name,
                seats=lost,
            ),
            "success",
        )
        return redirect(url_for("admin.users"))
    return render_template("admin/reset.html", form=form, user=user)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int):
    """Deactivate or reactivate an account (a POST button with a CSRF token)."""
    user = db.session.get(User, user_id)
    form = ActiveForm()
    if user is None or user.ward_id != current_user.ward_id:
        abort(404)
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
