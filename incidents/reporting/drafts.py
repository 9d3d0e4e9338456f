"""Saving, opening and expiring drafts of reports.

A draft holds the form's answers as typed, and the form's one-time token (so that the
report it becomes is filed once, however many copies are sent), JSON, sealed with HPKE to
the leader's own public key: the one his session's private key gives, or, for a form sent
after the session ended, the one its token names (saving needs no secret; opening needs
the personal key of his session). The server cannot read it, and it is deleted when the
report is sent or when it expires.
"""

import json
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from incidents.audit.service import record
from incidents.crypto.keys import open_with, seal_to
from incidents.extensions import db
from incidents.reporting.models import Draft
from incidents.timeutil import utcnow

MAX_DRAFT_BYTES = 64 * 1024


class DraftError(ValueError):
    """A draft that cannot be saved (no key yet, too large) or opened."""


def _info(draft_id: str, user_id: int) -> str:
    return f"incidents/draft/v1|{draft_id}|{user_id}"


def save(
    user,
    draft_id: str | None,
    answers: dict,
    lifetime: timedelta,
    public_key: bytes | None,
    *,
    new_id: str | None = None,
    kept_after_sign_out: bool = False,
) -> Draft:
    """Create or replace the leader's draft with these answers, sealed to public_key (his
    own, as his session or his form's token gives it); returns it. A new draft takes
    new_id when given (a form kept after sign-out: the same form sent again replaces it).
    """
    if public_key is None:
        raise DraftError("no key")
    payload = json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()
    if len(payload) > MAX_DRAFT_BYTES:
        raise DraftError("too large")
    purge_expired(lifetime)
    draft = find(user, draft_id or new_id, lifetime) if draft_id or new_id else None
    new = draft is None
    if new:
        draft = Draft(id=new_id or secrets.token_hex(16), user_id=user.id)
    draft.sealed = seal_to(public_key, payload, _info(draft.id, user.id))
    draft.updated_at = utcnow()
    if new:
        db.session.add(draft)
    if new or kept_after_sign_out:
        detail = "kept after sign-out" if kept_after_sign_out else None
        record("draft.save", actor=user, target=f"draft:{draft.id}", detail=detail)
    db.session.flush()
    return draft


def find(user, draft_id: str, lifetime: timedelta) -> Draft | None:
    """The leader's own unexpired draft of this id, or None."""
    if not isinstance(draft_id, str) or len(draft_id) != 32:
        return None
    return db.session.scalar(
        select(Draft).where(
            Draft.id == draft_id,
            Draft.user_id == user.id,
            Draft.updated_at >= utcnow() - lifetime,
        )
    )


def open_draft(user, draft: Draft, seed: bytes) -> dict:
    """The answers of a draft (DecryptionError if sealed to a key he no longer has), the
    opening audited like a case read: who opened which draft, when."""
    answers = json.loads(open_with(seed, draft.sealed, _info(draft.id, user.id)))
    record("draft.open", actor=user, target=f"draft:{draft.id}")
    return answers


def drafts_of(user, lifetime: timedelta) -> list[Draft]:
    """The leader's unexpired drafts, the latest first."""
    return db.session.scalars(
        select(Draft)
        .where(Draft.user_id == user.id, Draft.updated_at >= utcnow() - lifetime)
        .order_by(Draft.updated_at.desc())
    ).all()


def discard(user, draft_id: str | None) -> bool:
    """Delete the leader's draft (sent, or thrown away); False if there was none."""
    if not draft_id:
        return False
    deleted = db.session.execute(
        delete(Draft).where(Draft.id == draft_id, Draft.user_id == user.id)
    )
    return deleted.rowcount == 1


def purge_expired(lifetime: timedelta) -> int:
    """Delete every draft not saved for lifetime; returns how many."""
    deleted = db.session.execute(delete(Draft).where(Draft.updated_at < utcnow() - lifetime))
    return deleted.rowcount
