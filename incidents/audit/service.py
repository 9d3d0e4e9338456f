"""Writing audit entries. Callers pass codes and ids; this module never sees case content."""

import re
from contextvars import ContextVar

from sqlalchemy import insert, select, update

from incidents.audit.chain import FIELDS, entry_hash
from incidents.audit.models import AuditEntry, AuditHead
from incidents.extensions import db
from incidents.timeutil import utcnow

# Set by the web layer for each request ("cli" for commands), so services stay Flask-free.
client_address: ContextVar[str | None] = ContextVar("client_address", default=None)

# Control characters, and the Unicode ones that reorder or break a line when displayed.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
DETAIL_MAX = 255
_INSERT = insert(AuditEntry.__table__)
# Taking the next number locks the head row until the transaction ends: concurrent appends
# wait for one another, so the chain never forks.
_NEXT = (
    update(AuditHead.__table__)
    .where(AuditHead.__table__.c.id == 1)
    .values(seq=AuditHead.__table__.c.seq + 1)
    .returning(AuditHead.__table__.c.seq, AuditHead.__table__.c.hash)
)
_ADVANCE = update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)


def escape_control(text: str) -> str:
    """Replace control characters with visible escapes so a log line cannot be forged."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def record(
    action: str,
    actor=None,
    target: str | None = None,
    detail: str | None = None,
    ward_id: int | None = None,
) -> None:
    """Append one audit entry to the current transaction; its ward is the actor's unless
    given (an entry with no actor names its ward, or is the installation's)."""
    if detail is not None:
        detail = escape_control(detail)[:DETAIL_MAX]
    if target is not None:
        target = escape_control(target)[:64]
    if ward_id is None and actor is not None:
        ward_id = actor.ward_id
    # Pending ORM changes go first, so the head row is always the last lock taken.
    db.session.flush()
    # Plain statements on the session's connection, in its transaction: entries are only
    # ever appended, never loaded as objects to change, and this skips the ORM's flush.
    connection = db.session.connection()
    seq, previous = connection.execute(_NEXT).one()
    entry = {
        "seq": seq,
        "at": utcnow(),
        "ward_id": ward_id,
        "action": action,
        "actor_id": actor.id if actor is not None else None,
        "actor_role": actor.role if actor is not None else None,
        "target": target,
        "client_address": client_address.get(),
        "detail": detail,
    }
    digest = entry_hash(bytes(previous), entry)
    connection.execute(_INSERT, {**entry, "prev_hash": bytes(previous), "hash": digest})
    connection.execute(_ADVANCE, {"hash": digest})


_CHAIN_COLUMNS = (*FIELDS, "prev_hash", "hash")


def stream_chain(batch: int = 10_000):
    """Every entry in chain order, streamed in batches (flat memory on a long chain)."""
    table = AuditEntry.__table__
    # Options on the statement, not the connection: the connection is the session's, and
    # what runs on it next (an append) must not become a streamed cursor.
    statement = (
        select(*(table.c[name] for name in _CHAIN_COLUMNS))
        .order_by(table.c.seq)
        .execution_options(stream_results=True, yield_per=batch)
    )
    with db.session.connection().execute(
        statement
    ) as result:  # closes the server-side cursor early too
        yield from result.mappings()


def latest_checkpoint() -> AuditEntry | None:
    """The entry that recorded the latest signed checkpoint (its detail: seq:fingerprint)."""
    return db.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "audit.checkpoint")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )


def chain_head() -> tuple[int, bytes]:
    """The head's (seq, hash)."""
    head = db.session.get(AuditHead, 1)
    return head.seq, bytes(head.hash)
