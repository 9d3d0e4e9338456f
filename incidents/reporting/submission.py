"""One case per report form, however many times the form is sent.

Each report form carries a one-time token, signed with a key derived from SECRET_KEY
and bound to the leader. The case it files keeps the token's digest (unique), so a
double tap, a retry after a dropped connection or a page sent again finds the case it
already filed instead of filing a second one.

The token also says, as digests, the leader's public key as his session held it when the
form was opened (derived from his private one), that session, and his password as it was.
A form sent after that session ended is kept as his draft, sealed to that key, only when
it comes from the browser of that session (its cookie outlives the session on the server),
within the form's lifetime, and while his password is unchanged: the token alone, copied
from a page, writes nothing; and a public key swapped in the database since does not
match the digest (SECURITY.md property 26).
"""

import hashlib
import hmac
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


def _digest(kind: str, value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else value
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"incidents/report-form/{kind}|".encode() + raw, "sha256").hexdigest()[
        :32
    ]


def key_digest(public: bytes) -> str:
    """What a form's token says of its owner's public key."""
    return _digest("key", public)


def new_token(user, own_public_key: bytes | None = None, session_record: str | None = None) -> str:
    """A fresh one-time token for a report form of this user, naming his own public key
    (from his session's private key; None while his key awaits restoration), his session
    (its row id) and his password, for a form that may come back after sign-out."""
    data = {"u": user.id, "n": secrets.token_hex(16)}
    if own_public_key is not None and session_record is not None:
        data["k"] = key_digest(own_public_key)
        data["s"] = _digest("session", session_record)
        data["p"] = _digest("password", user.password_hash or "")
    return _serializer().dumps(data)


@dataclass(frozen=True)
class FormOwner:
    """Whose form a token says it is: the user, the submission key, and what it was opened
    with (digests of his public key, his session and his password)."""

    user_id: int
    key: str
    public_key: str | None
    session: str | None
    password: str | None

    def opened_by(self, user, session_record: str | None) -> bool:
        """Whether the form comes back from the browser whose session opened it, with the
        user's password unchanged since (a form copied out of the page does not)."""
        return (
            self.session is not None
            and session_record is not None
            and hmac.compare_digest(self.session, _digest("session", session_record))
            and self.password is not None
            and hmac.compare_digest(self.password, _digest("password", user.password_hash or ""))
        )

    def sealed_to(self, public: bytes | None) -> bool:
        """Whether public is the key the form's session held (not one swapped in since)."""
        return (
            public is not None
            and self.public_key is not None
            and hmac.compare_digest(self.public_key, key_digest(public))
        )


def owner_of(token: str | None) -> FormOwner:
    """Whose form this is, for a form sent after its session ended (TokenRefused if the
    token is not ours, or older than a form may be sent)."""
    if not token or len(token) > 512:
        raise TokenRefused("forged")
    max_age = int(current_app.config["REPORT_FORM_LIFETIME"].total_seconds())
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenRefused("expired") from error
    except BadSignature as error:
        raise TokenRefused("forged") from error
    if not _well_formed(data):
        raise TokenRefused("forged")
    key = hashlib.sha256(f"{data['u']}|{data['n']}".encode()).hexdigest()
    given = {name: data.get(name) if isinstance(data.get(name), str) else None for name in "ksp"}
    return FormOwner(
        user_id=data["u"],
        key=key,
        public_key=given["k"],
        session=given["s"],
        password=given["p"],
    )


def _well_formed(data) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("u"), int)
        and not isinstance(data.get("u"), bool)
        and isinstance(data.get("n"), str)
    )


def submission_key(token: str | None, user_id: int) -> str:
    """The digest a case filed by this form keeps; TokenRefused for a bad token."""
    if not token or len(token) > 512:
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


def file_once(filer, report, key: str, own_public_key: bytes | None) -> tuple[str, bool]:
    """File the report unless this form already did; (case id, whether it already had).

    Two copies sent at once race to the unique key: the loser's insert fails, and its
    retry finds the winner's case.
    """

    def operation():
        existing = db.session.scalar(select(Case.id).where(Case.submission_key == key))
        if existing is not None:
            return existing, True
        case = service.file_report(filer, report, submission_key=key, own_public_key=own_public_key)
        return case.id, False

    return commit_with_retry(operation)
