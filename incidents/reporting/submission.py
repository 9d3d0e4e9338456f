"""One case per report form, however many times the form is sent.

Each report form carries a one-time token, signed with a key derived from SECRET_KEY
and bound to the leader. The case it files keeps the token's digest (unique), so a
double tap, a retry after a dropped connection or a page sent again finds the case it
already filed instead of filing a second one.
"""

import hashlib
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from incidents.cases import service
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.transaction import commit_with_retry

_SALT = "incidents/report-submission/v1"


class TokenRefused(ValueError):
    """The form's token is forged, another leader's, or too old: nothing is filed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "forged" or "expired"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def new_token(user_id: int) -> str:
    """A fresh one-time token for a report form of this leader."""
    return _serializer().dumps({"u": user_id, "n": secrets.token_hex(16)})


def submission_key(token: str | None, user_id: int) -> str:
    """The digest a case filed by this form keeps; TokenRefused for a bad token."""
    if not token or len(token) > 256:
        raise TokenRefused("forged")
    max_age = int(current_app.config["REPORT_FORM_LIFETIME"].total_seconds())
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenRefused("expired") from error
    except BadSignature as error:
        raise TokenRefused("forged") from error
    if not isinstance(data, dict) or data.get("u") != user_id or not isinstance(data.get("n"), str):
        raise TokenRefused("forged")
    return hashlib.sha256(f"{user_id}|{data['n']}".encode()).hexdigest()


def file_once(leader, report, key: str) -> tuple[str, bool]:
    """File the report unless this form already did; (case id, whether it already had).

    Two copies sent at once race to the unique key: the loser's insert fails, and its
    retry finds the winner's case.
    """

    def operation():
        existing = db.session.scalar(select(Case.id).where(Case.submission_key == key))
        if existing is not None:
            return existing, True
        return service.file_report(leader, report, submission_key=key).id, False

    return commit_with_retry(operation)
