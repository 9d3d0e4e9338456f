"""Writing audit entries. Callers pass codes and ids; this module never sees case content."""

import re
from contextvars import ContextVar

from sqlalchemy import insert

from incidents.audit.models import AuditEntry
from incidents.extensions import db
from incidents.timeutil import utcnow

# Set by the web layer for each request ("cli" for commands), so services stay Flask-free.
client_address: ContextVar[str | None] = ContextVar("client_address", default=None)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
DETAIL_MAX = 255
_INSERT = insert(AuditEntry.__table__)


def escape_control(text: str) -> str:
    """Replace control characters with visible escapes so a log line cannot be forged."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def record(action: str, actor=None, target: str | None = None, detail: str | None = None) -> None:
    """Append one audit entry to the current transaction."""
    if detail is not None:
        detail = escape_control(detail)[:DETAIL_MAX]
    # A plain INSERT on the session's connection, in its transaction: entries are only
    # ever appended, never loaded as objects to change, and this skips the ORM's flush.
    db.session.connection().execute(
        _INSERT,
        {
            "at": utcnow(),
            "action": action,
            "actor_id": actor.id if actor is not None else None,
            "actor_role": actor.role if actor is not None else None,
            "target": target,
            "client_address": client_address.get(),
            "detail": detail,
        },
    )
