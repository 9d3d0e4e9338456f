"""Sign-in, sign-out, the home redirect and the language switch."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from incidents.accounts import service
from incidents.accounts.forms import LoginForm, OwnPasswordForm, PasswordChangeForm
from incidents.accounts.sessions import end_sessions_of, purge_expired
from incidents.babel_setup import LANGUAGE_COOKIE
from incidents.crypto import DecryptionError
from incidents.extensions import db, limiter
from incidents.forms import EmptyForm
from incidents.web import PERSONAL_KEY, argon2_params, is_safe_next

bp = Blueprint("accounts", __name__)

HOME_OF_ROLE = {
    "reporter": "reporting.my_reports",
    "police": "triage.queue",
    "officer": "triage.queue",
    "chairman": "triage.queue",
    "admin": "admin.users",
}


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the sign-in form; on success start a fresh session."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(form.username.data, form.password.data, argon2_params())
        db.session.commit()  # the audit entry of a failure is kept too
        if user is not None:
            # Sealed seeds must not outlive their sessions: expired rows go at every sign-in.
            purge_expired(
                current_app.config["SESSION_IDLE_TIMEOUT"],
                current_app.config["PERMANENT_SESSION_LIFETIME"],
            )
            # A new session id at sign-in, and nothing from before survives into it.
            session.clear()
            session.regenerate()
            login_user(user)
            # The personal key stays in the server-side session only, sealed under the
            # secret its cookie holds; it opens the desks' keys, and theirs the cases'.
            try:
                personal_key = service.unlock_personal_key(user, form.password.data)
            except DecryptionError:  # a wrap out of step with the hash: no key, no crash
                current_app.logger.error("personal key did not open for user=%s", user.id)
                personal_key = None
            if personal_key is not None:
                session[PERSONAL_KEY] = personal_key
            elif user.role != "admin":
                flash(
                    _(
                        "Your key must be restored before you can read cases: ask the "
                        "officer or the chairman, who hold the ward's recovery key."
                    ),
                    "error",
                )
            current_app.logger.info("sign-in user=%s", user.id)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("accounts.home"))
        flash(_("The username or password is not correct."), "error")
    elif request.method == "POST":
        # A refused form (empty or over-long fields) is a failed sign-in too.
        service.record_refused_login()
        db.session.commit()
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST with a CSRF token, so no link can sign someone out)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("You are still signed in: the sign-out did not go through. Try again."), "error")
        return redirect(url_for("accounts.home"))
    service.record_logout(current_user)
    db.session.commit()
    logout_user()
    session.clear()  # the server-side record is deleted with it
    response = redirect(url_for("accounts.login"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.route("/")
def home():
    """Send each role to its own starting page."""
    return redirect(url_for(HOME_OF_ROLE[current_user.role]))


@bp.route("/language/<code>")
def set_language(code: str):
    """Remember the chosen language in a plain cookie and go back."""
    target = request.args.get("next")
    response = redirect(target if is_safe_next(target) else url_for("accounts.login"))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


@bp.route("/account", methods=["GET", "POST"])
def account():
    """One's own account: change the password (the personal key is re-wrapped with it)."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            service.change_password(
                current_user, form.current_password.data, form.new_password.data, argon2_params()
            )
        except service.AccountError:
            form.current_password.errors.append(_("The current password is not correct."))
        else:
            # Every session of this user ends, and this browser's goes on under a new id.
            end_sessions_of(current_user.id)
            session.regenerate()
            db.session.commit()
            flash(_("Your password was changed. You were signed out everywhere else."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form)


@bp.route("/account/own-password", methods=["GET", "POST"], endpoint="choose_password")
def choose_own_password():
    """An account's first password of its own, which makes its key pair."""
    if not current_user.needs_own_password:
        return redirect(url_for("accounts.home"))
    form = OwnPasswordForm()
    if form.validate_on_submit():
        try:
            seed = service.choose_own_password(
                current_user, form.new_password.data, argon2_params()
            )
        except service.AccountError:
            form.new_password.errors.append(
                _("Choose a password different from the one you were given.")
            )
        else:
            end_sessions_of(current_user.id)
            session.regenerate()
            session[PERSONAL_KEY] = seed
            db.session.commit()
            flash(_("Your password is set, and with it your key."), "success")
            return redirect(url_for("accounts.home"))
    return render_template("accounts/own_password.html", form=form)
