"""Deny by default, security headers on every response, and the audit's client address."""

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy.orm import joinedload

from incidents.access import needs_second_factor
from incidents.accounts.sessions import ServerSessionInterface
from incidents.audit.service import client_address
from incidents.extensions import login_manager
from incidents.web import SECOND_FACTOR_PASSED

# The only endpoints an anonymous visitor may reach; every other one needs a session.
PUBLIC_ENDPOINTS = frozenset(
    {"accounts.login", "accounts.set_language", "accounts.quick_exit", "accounts.leave", "static"}
)
# An anonymous POST of the report form is one sent after its session ended: the view keeps
# it as the draft of the leader its signed one-time token names, and sends him to sign in.
KEPT_AFTER_SIGN_OUT = frozenset({"reporting.new_report"})
# All an account with someone else's password can do: choose its own (or sign out).
OWN_PASSWORD_ENDPOINTS = frozenset(
    {"accounts.choose_password", "accounts.logout", "accounts.keep_alive", "accounts.quick_exit"}
)
# All a staff account without its authenticator app can do: enrol one (or sign out).
ENROLMENT_ENDPOINTS = frozenset(
    {"accounts.second_factor", "accounts.logout", "accounts.keep_alive"}
)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)


def configure_security(app: Flask) -> None:
    """Install the login gate, the headers and the per-request audit context."""
    app.session_interface = ServerSessionInterface()
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    # "basic": a leader whose phone moves from Wi-Fi to 4G mid-report must not be signed
    # out and lose the report ("strong" did that, and its check is forgeable anyway).
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        from incidents.accounts.models import User
        from incidents.extensions import db

        if not user_id.isdigit():
            return None
        # Ward and groups are needed on nearly every page: one query instead of three.
        return db.session.get(
            User, int(user_id), options=[joinedload(User.ward), joinedload(User.groups)]
        )

    @app.before_request
    def require_login():
        client_address.set(request.remote_addr)
        if getattr(session, "ended", False):
            flash(_l("You were signed out after a time without activity."), "info")
        if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if not current_user.is_authenticated:
            if request.method == "POST" and request.endpoint in KEPT_AFTER_SIGN_OUT:
                return None
            return login_manager.unauthorized()
        # First one's own password (it makes the key), then the authenticator app.
        if current_user.needs_own_password:
            allowed, gate = OWN_PASSWORD_ENDPOINTS, "accounts.choose_password"
        elif needs_second_factor(current_user) and not current_user.has_second_factor:
            allowed, gate = ENROLMENT_ENDPOINTS, "accounts.second_factor"
        elif needs_second_factor(current_user) and not session.get(SECOND_FACTOR_PASSED):
            # Opened with the password alone before the owner enrolled: it ends here.
            logout_user()
            session.clear()
            flash(_l("Sign in again, with the code of your authenticator app."), "info")
            return redirect(url_for("accounts.login"))
        else:
            return None
        return None if request.endpoint in allowed else redirect(url_for(gate))

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static":
            # Pages may show case data: never keep them in any cache, the phone's included.
            headers["Cache-Control"] = "no-store"
        if current_app.config.get("ENV_NAME") == "production":
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
