"""One case per report form, however many times the form is sent.

Each report form carries a one-time token, signed with a key derived from SECRET_KEY
and bound to the leader. The case it files keeps the token's digest (unique), so a
double tap, a retry after a dropped connection or a page sent again finds the case it
already filed instead of filing a second one.

The token also names the leader's public key as his session held it when the form was
opened (a digest of the key derived from his private one). A form sent after that session
ended is kept as his draft, sealed to that key: the token says whose it is, and a public
key swapped in the database since does not match it (SECURITY.md property 26).
"""

import hashlib
import secrets
from dataclasses import dataclass

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


def key_digest(public: bytes) -> str:
    """What a form's token says of its owner's public key."""
    return hashlib.sha256(b"incidents/report-form-key|" + public).hexdigest()[:32]


def new_token(user_id: int, own_public_key: bytes | None) -> str:
    """A fresh one-time token for a report form of this leader, naming his own public key
    (from his session's private key; None while his key awaits restoration)."""
    data = {"u": user_id, "n": secrets.token_hex(16)}
    if own_public_key is not None:
        data["k"] = key_digest(own_public_key)
    return _serializer().dumps(data)


@dataclass(frozen=True)
class FormOwner:
    """Whose form a token says it is: the user, the submission key, his public key's digest."""

    user_id: int
    key: str
    public_key_digest: str | None


def owner_of(token: str | None) -> FormOwner:
    """Whose form this is, for a form sent after its session ended (TokenRefused if the
    token is not ours). Any age will do: the draft it becomes expires on its own."""
    if not token or len(token) > 256:
        raise TokenRefused("forged")
    try:
        data = _serializer().loads(token)
    except BadSignature as error:
        raise TokenRefused("forged") from error
    if not _well_formed(data):
        raise TokenRefused("forged")
    key = hashlib.sha256(f"{data['u']}|{data['n']}".encode()).hexdigest()
    digest = data.get("k") if isinstance(data.get("k"), str) else None
    return FormOwner(user_id=data["u"], key=key, public_key_digest=digest)


def _well_formed(data) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("u"), int)
        and not isinstance(data.get("u"), bool)
        and isinstance(data.get("n"), str)
    )


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
    if not _well_formed(data) or data["u"] != user_id:
        raise TokenRefused("forged")
    return hashlib.sha256(f"{user_id}|{data['n']}".encode()).hexdigest()


def file_once(filer, report, key: str) -> tuple[str, bool]:
    """File the report unless this form already did; (case id, whether it already had).

    Two copies sent at once race to the unique key: the loser's insert fails, and its
    retry finds the winner's case.
    """

    def operation():
        existing = db.session.scalar(select(Case.id).where(Case.submission_key == key))
        if existing is not None:
            return existing, True
        return service.file_report(filer, report, submission_key=key).id, False

    return commit_with_retry(operation)
