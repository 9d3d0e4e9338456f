"""Generic error pages: no stack trace, no detail, in the visitor's language."""

from flask import Flask, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from incidents.audit.service import record
from incidents.cases.keys import KeyUnavailable
from incidents.crypto import DecryptionError
from incidents.extensions import db

HANDLED = (400, 403, 404, 405, 413, 429, 500)


def register_error_handlers(app: Flask) -> None:
    """Render every handled status with the same small template."""

    def render_error(error: HTTPException):
        if request.endpoint == "accounts.login" and request.method == "POST":
            # A sign-in refused before the view ran (CSRF, the rate limit) is a failed
            # sign-in too, and is audited even though the request fails.
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
