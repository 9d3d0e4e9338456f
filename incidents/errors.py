"""Generic error pages: no stack trace, no detail, in the visitor's language."""

from flask import Flask, render_template, request
from flask_login import current_user
from limits import parse
from werkzeug.exceptions import HTTPException, InternalServerError

from incidents.audit.service import record
from incidents.cases.keys import KeyUnavailable
from incidents.crypto import DecryptionError
from incidents.extensions import client_network, db, limiter
from incidents.wards.trust import KeyMismatch, record_mismatch

HANDLED = (400, 403, 404, 405, 413, 429, 500)
_THROTTLED_AUDIT = parse("1/minute")


def register_error_handlers(app: Flask) -> None:
    """Render every handled status with the same small template."""

    def render_error(error: HTTPException):
        # A sign-in refused before the view ran (CSRF, the rate limit) is a failed sign-in
        # too, and is audited even though the request fails. The throttle counts CSRF
        # refusals as attempts (accounts.views.login), and its own refusals are audited
        # once a minute per address: a flood cannot flood the audit trail.
        if (
            request.endpoint == "accounts.login"
            and request.method == "POST"
            and (
                error.code != 429
                or limiter.limiter.hit(
                    _THROTTLED_AUDIT, "throttled-sign-in-audit", client_network()
                )
            )
        ):
            db.session.rollback()
            record("login.failure", detail=f"refused {error.code}")
            db.session.commit()
        return render_template("errors/error.html", code=error.code), error.code

    for code in HANDLED:
        app.register_error_handler(code, render_error)

    @app.errorhandler(KeyUnavailable)
    def key_unavailable(error):
        db.session.rollback()
        return render_template("errors/error.html", code=403, key_unavailable=True), 403

    @app.errorhandler(KeyMismatch)
    def key_mismatch(error):
        # A public key nothing vouches for (swapped in the database, or a ward not yet
        # certified): nothing was sealed; the refusal is audited (SECURITY.md property 26).
        db.session.rollback()
        app.logger.error("a seal was refused: %s", error)
        record_mismatch(error, current_user if current_user.is_authenticated else None)
        db.session.commit()
        return render_template("errors/error.html", code=409, key_mismatch=True), 409

    @app.errorhandler(DecryptionError)
    def undecryptable(error):
        # Never show partial plaintext: the whole page is refused. A key or value that
        # fails to open may be tampered with: the failure is audited.
        db.session.rollback()
        app.logger.error("a case could not be decrypted: %s", type(error).__name__)
        record(
            "case.decrypt_failure",
            actor=current_user if current_user.is_authenticated else None,
            target=(request.view_args or {}).get("case_id"),
        )
        db.session.commit()
        return render_template("errors/error.html", code=500, undecryptable=True), 500

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return render_error(error)
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(InternalServerError())
