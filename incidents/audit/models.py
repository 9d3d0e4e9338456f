"""Audit entries, hash-chained (see chain.py); the database refuses UPDATE and DELETE."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import db
from incidents.timeutil import utcnow


class AuditEntry(db.Model):
    """One audited action: actor, role, UTC time, action, target and client address."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The position in the chain: 1, 2, 3, ... without gaps (ids may have gaps).
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # The ward the entry belongs to (its viewers' ward); None for installation-wide ones.
    ward_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48), index=True)
    target: Mapped[str | None] = mapped_column(String(64), index=True)
    client_address: Mapped[str | None] = mapped_column(String(64))
    # Codes or escaped identifiers only (e.g. an attempted username): never case content.
    detail: Mapped[str | None] = mapped_column(String(255))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHead(db.Model):
    """The chain's head: one row, locked by every append so that appends form one line."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
