"""Sign-in and sign-out, one's own account (password, authenticator, devices), language."""

import time

import segno
from flask import (
    Blueprint,
    abort,
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
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from incidents import access
from incidents.accounts import devices, factors, service
from incidents.accounts.forms import (
    ConfirmForm,
    EmailForm,
    EndSessionForm,
    LoginForm,
    OwnPasswordForm,
    PasswordChangeForm,
    SecondFactorForm,
)
from incidents.accounts.sessions import (
    end_session_of,
    end_sessions_of,
    purge_expired,
    record_id_of,
    sessions_of,
)
from incidents.audit.viewer import sign_in_history
from incidents.babel_setup import LANGUAGE_COOKIE
from incidents.crypto.keys import key_fingerprint
from incidents.crypto.totp import new_secret, provisioning_uri, secret_text
from incidents.extensions import account_throttle_key, csrf, db, limiter
from incidents.forms import EmptyForm
from incidents.wards.service import bind_own_seats
from incidents.web import (
    PERSONAL_KEY,
    SECOND_FACTOR_PASSED,
    argon2_params,
    confirm_first,
    is_safe_next,
    keyring,
    mark_authenticated,
)

bp = Blueprint("accounts", __name__)

HOME_OF_ROLE = {
    "reporter": "reporting.my_reports",
    "police": "triage.queue",
    "officer": "triage.queue",
    "chairman": "triage.queue",
    "admin": "admin.users",
    "partner": "referrals.index",
}
# The authenticator secret being enrolled, until its first code proves the app has it.
PENDING_SECRET = "pending_totp_secret"  # noqa: S105 (a session key's name)


def _address_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _typed_account() -> str:
    """The username as typed, known or not, so that an unknown name is throttled exactly
    like a real one."""
    return account_throttle_key(request.form.get("username", ""))


def _signed_in_account() -> str:
    return account_throttle_key(current_user.username)


def _known_device() -> str:
    return f"device:{devices.known_nonce()}"


# Every attempt counts, its owner's included, and is counted (atomically) before any work:
# counting only refusals once the answer is known let guesses sent at once all through.
# A browser the account signed in with before counts on its own (see devices), so that
# others spending the account's shared allowance do not keep its owner out.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
@limiter.limit(
    _account_limit,
    key_func=_typed_account,
    methods=["POST"],
    scope="sign-in-account",
    exempt_when=devices.is_known,
)
@limiter.limit(
    _account_limit,
    key_func=_known_device,
    methods=["POST"],
    scope="sign-in-device",
    exempt_when=devices.is_stranger,
)
@csrf.exempt  # checked below, once the throttle has counted the attempt
def login():
    """Show the sign-in form; on success start a fresh session."""
    if request.method == "POST" and current_app.config["WTF_CSRF_ENABLED"]:
        # A sign-in refused for its CSRF token is an attempt too: the throttle (whose
        # decorators run first) counts it, so a flood of them is stopped like any other.
        csrf.protect()
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = service.sign_in(
            form.username.data, form.password.data, form.code.data, argon2_params(), time.time()
        )
        db.session.commit()  # the audit entry of a failure is kept too
        if result is not None:
            return _start_session(result)
        flash(_("The username, password or code is not correct."), "error")
    elif request.method == "POST":
        # A refused form (empty or over-long fields) is a failed sign-in too.
        service.record_refused_login()
        db.session.commit()
    return render_template("accounts/login.html", form=form)


def _start_session(result: service.SignIn):
    user = result.user
    # Sealed seeds must not outlive their sessions: expired rows go at every sign-in.
    purge_expired(
        current_app.config["SESSION_IDLE_TIMEOUT"],
        current_app.config["PERMANENT_SESSION_LIFETIME"],
    )
    # A new session id at sign-in, and nothing from before survives into it.
    session.clear()
    session.regenerate()
    login_user(user)
    if result.second_factor is not None or not access.needs_second_factor(user):
        session[SECOND_FACTOR_PASSED] = True
        mark_authenticated()
    # The personal key stays in the server-side session only, sealed under the secret its
    # cookie holds; it opens the desks' keys, and theirs the cases'.
    if result.seed is not None:
        session[PERSONAL_KEY] = result.seed
        # A seat from before the desks' MACs gets one now, for the key his own private
        # key gives (never the row's): a key renewal then keeps him (rotate_desk).
        bind_own_seats(user, result.seed)
    elif not user.needs_own_password and user.role != "admin":
        flash(
            _(
                "Your key must be restored before you can read cases: ask the "
                "officer or the chairman, who hold the ward's recovery key."
            ),
            "error",
        )
    if result.wrong_codes:
        flash(
            _(
                "Since your last sign-in, someone typed your password with a wrong code "
                "(%(count)s times). If it was not you, change your password now.",
                count=result.wrong_codes,
            ),
            "error",
        )
    if result.second_factor == "recovery":
        flash(
            _(
                "You signed in with a recovery code; it cannot be used again. "
                "Recovery codes left: %(left)s. Make new ones on your account page.",
                left=factors.remaining_recovery_codes(user),
            ),
            "info",
        )
    current_app.logger.info("sign-in user=%s", user.id)
    target = request.args.get("next")
    response = redirect(target if is_safe_next(target) else url_for("accounts.home"))
    devices.remember(response, user)
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST with a CSRF token, so no link can sign someone out)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("You are still signed in: the sign-out did not go through. Try again."), "error")
        return redirect(url_for("accounts.home"))
    return _signed_out_everywhere(redirect(url_for("accounts.login")))


def _signed_out_everywhere(response, quick: bool = False):
    """End every session of the account (SECURITY.md, property 13: a phone left signed
    in somewhere is signed out too), this one's cookie included, and clear the browser."""
    if current_user.is_authenticated:
        service.record_logout(current_user, quick=quick)
        end_sessions_of(current_user.id)
        db.session.commit()
        logout_user()
    session.clear()
    devices.forget(response)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


def _go_on_alone() -> None:
    """Every other session of the account ends; this browser goes on under a new id."""
    end_sessions_of(current_user.id)
    session.regenerate()


@bp.route("/exit", methods=["POST"])
@csrf.exempt
def quick_exit():
    """Leave at once for a neutral page: the way out must never fail, so a missing or
    stale token only skips the sign-out (which needs it), never the leaving.

    The answer leads to a page of this site that moves on to QUICK_EXIT_URL by itself:
    the browser refuses a form's redirect to another site (CSP form-action 'self'), and
    the form is the way out without JavaScript, or before the script has loaded.
    """
    response = redirect(url_for("accounts.leave"), code=303)
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return response
    return _signed_out_everywhere(response, quick=True)


@bp.route("/leave")
def leave():
    """The quick exit's last step: a blank page that moves on to QUICK_EXIT_URL at once."""
    return render_template("accounts/leave.html", exit_url=current_app.config["QUICK_EXIT_URL"])


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


@bp.route("/account")
def account():
    """One's own account: devices signed in, recent sign-ins, links to the security steps."""
    own_key = keyring().own_public_key()
    return render_template(
        "accounts/account.html",
        devices=sessions_of(current_user.id),
        this_device=record_id_of(session),
        history=sign_in_history(current_user.id, limit=10),
        end_form=EndSessionForm(formdata=None),
        codes_form=EmptyForm(formdata=None),
        codes_left=factors.remaining_recovery_codes(current_user),
        needs_code=access.needs_second_factor(current_user),
        # Read out to the desk member who seats him, or who seals a report to him again:
        # the code of the key his session's private key gives, never the row's (which a
        # database writer could have swapped; the member typing it compares it with the row).
        key_code=own_key and key_fingerprint(own_key),
    )


@bp.route("/account/confirm", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_signed_in_account, methods=["POST"])
def confirm():
    """Re-authentication: the password (and, for staff, a code) before a sensitive step."""
    form = ConfirmForm()
    target = request.args.get("next")
    needs_code = access.needs_second_factor(current_user) and current_user.has_second_factor
    if form.validate_on_submit():
        good = service.reauthenticate(
            current_user,
            form.password.data,
            form.code.data,
            session.get(PERSONAL_KEY),
            time.time(),
        )
        db.session.commit()
        if good:
            mark_authenticated()
            return redirect(target if is_safe_next(target) else url_for("accounts.account"))
        flash(_("The password or code is not correct."), "error")
    return render_template("accounts/confirm.html", form=form, needs_code=needs_code)


@bp.route("/account/password", methods=["GET", "POST"])
# Each try costs an Argon2id hash: the account's sign-in allowance bounds them.
@limiter.limit(_account_limit, key_func=_signed_in_account, methods=["POST"])
def change_password():
    """Change the password (the personal key is re-wrapped with it)."""
    # Asked before the form is shown, so that nothing typed into it is lost to the check.
    if refusal := confirm_first("accounts.change_password"):
        return refusal
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            service.change_password(
                current_user, form.current_password.data, form.new_password.data, argon2_params()
            )
        except service.CommonPassword:
            form.new_password.errors.append(_common_password_message())
        except service.AccountError:
            form.current_password.errors.append(_("The current password is not correct."))
        else:
            _go_on_alone()
            db.session.commit()
            flash(_("Your password was changed. You were signed out everywhere else."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/password.html", form=form)


def _common_password_message() -> str:
    return _(
        "This password is too common or too easy to guess. A sentence only you would "
        "think of is best."
    )


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
        except service.CommonPassword:
            form.new_password.errors.append(_common_password_message())
        except service.AccountError:
            form.new_password.errors.append(
                _("Choose a password different from the one you were given.")
            )
        else:
            _go_on_alone()
            session[PERSONAL_KEY] = seed
            db.session.commit()
            flash(_("Your password is set, and with it your key."), "success")
            return redirect(url_for("accounts.home"))
    return render_template("accounts/own_password.html", form=form)


@bp.route("/account/second-factor", methods=["GET", "POST"], endpoint="second_factor")
def enrol_second_factor():
    """Add an authenticator app (staff must before anything else), or replace it."""
    if not access.needs_second_factor(current_user):
        abort(404)
    if current_user.has_second_factor and (refusal := confirm_first("accounts.second_factor")):
        return refusal
    seed = session.get(PERSONAL_KEY)
    if seed is None:
        return render_template("accounts/second_factor.html", no_key=True), 409
    secret = session.get(PENDING_SECRET)
    if not isinstance(secret, bytes):
        secret = session[PENDING_SECRET] = new_secret()
    form = SecondFactorForm()
    if form.validate_on_submit():
        codes = factors.enrol(current_user, seed, secret, form.code.data, time.time())
        if codes is not None:
            session.pop(PENDING_SECRET)
            # Only this session has shown the new authenticator: every other one ends.
            _go_on_alone()
            session[SECOND_FACTOR_PASSED] = True
            mark_authenticated()
            db.session.commit()
            flash(_("Your authenticator app is set up."), "success")
            return render_template("accounts/recovery_codes.html", codes=codes)
        form.code.errors.append(
            _(
                "This code is not the right one. Check that the phone's clock is right "
                "and type the newest code."
            )
        )
    uri = provisioning_uri(secret, current_user.username, current_app.config["TOTP_ISSUER"])
    return render_template(
        "accounts/second_factor.html",
        form=form,
        qr=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        secret=secret_text(secret),
        replacing=current_user.has_second_factor,
        no_key=False,
    )


@bp.route("/account/recovery-codes", methods=["POST"])
def new_recovery_codes():
    """Replace the recovery codes (the old ones stop working)."""
    if not access.needs_second_factor(current_user) or not current_user.has_second_factor:
        abort(404)
    if refusal := confirm_first("accounts.account"):
        return refusal
    if not EmptyForm().validate_on_submit():
        abort(400)
    codes = factors.new_recovery_codes(current_user)
    db.session.commit()
    return render_template("accounts/recovery_codes.html", codes=codes)


@bp.route("/account/sessions/end", methods=["POST"])
def end_session():
    """Sign out another device of one's own, or every other one."""
    form = EndSessionForm()
    if not form.validate_on_submit():
        abort(400)
    this_device = record_id_of(session)
    if form.which.data == "others":
        ended = end_sessions_of(current_user.id, keep=this_device)
    elif form.which.data == this_device:
        ended = 0  # this device signs out with the sign-out button, like everywhere
    else:
        ended = int(end_session_of(current_user.id, form.which.data))
    service.record_sessions_ended(current_user, ended)
    db.session.commit()
    flash(_("Devices signed out: %(count)s.", count=ended), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/keep-alive", methods=["POST"])
def keep_alive():
    """The idle-timeout warning's "stay signed in": any request resets the idle clock."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    session.modified = True  # saved, so last_seen_at moves on
    return "", 204


@bp.route("/account/email", methods=["GET", "POST"])
def email():
    """Staff: one's own e-mail for notices (group leaders get them in the app only)."""
    if not access.needs_second_factor(current_user):
        abort(404)
    # Where notices go is a security setting: asked before the form, so nothing typed is lost.
    if refusal := confirm_first("accounts.email"):
        return refusal
    form = (
        EmailForm() if request.method == "POST" else EmailForm(data={"email": current_user.email})
    )
    if form.validate_on_submit():
        changed = service.set_email(current_user, current_user, form.email.data)
        db.session.commit()
        if changed:
            flash(_("Your e-mail for notices was saved."), "success")
        else:
            flash(_("This is already your e-mail: nothing changed."))
        return redirect(url_for("accounts.account"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/email.html", form=form), status
