"""A ward (phường/xã) and its residential groups (tổ dân phố, bản)."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import db
from incidents.timeutil import utcnow

GROUP_KINDS = ("to_dan_pho", "ban")
# The desks every ward has, which cases are routed to.
DESK_KINDS = ("police", "officer", "chairman")
# The referral partners' desks every ward has too (DOMAIN.md section 1). No case is ever
# routed to them: a partner desk opens only what a referral shares with it.
PARTNER_KINDS = ("health_station", "womens_union", "school", "shelter")


class Ward(db.Model):
    """A ward: the unit whose police, officer and chairman handle its cases."""

    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short code used in human case references, e.g. "QT" in "QT-2026-0001".
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The public half of the ward's recovery key; the private half is shown once, never kept.
    recovery_public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The Ed25519 key derived from the recovery seed that signs the desks' public keys;
    # both are pinned outside the database (wards.trust). None on a ward made before it,
    # until the recovery key certifies it.
    signing_public_key: Mapped[bytes | None] = mapped_column(LargeBinary)

    groups: Mapped[list["ResidentialGroup"]] = relationship(
        back_populates="ward", order_by="ResidentialGroup.id"
    )
    desks: Mapped[list["Desk"]] = relationship(back_populates="ward", order_by="Desk.id")

    def desk(self, kind: str) -> "Desk":
        """The ward's desk of this kind."""
        return next(desk for desk in self.desks if desk.kind == kind)


class ResidentialGroup(db.Model):
    """A residential group under a ward, led by a group leader (the reporter)."""

    __tablename__ = "residential_groups"
    __table_args__ = (UniqueConstraint("ward_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))

    ward: Mapped[Ward] = relationship(back_populates="groups")


class Desk(db.Model):
    """A desk of a ward (its police, its officer, its chairman): cases are routed to desks.

    The desk's private key is sealed to each member's personal key, and to the ward's
    recovery key; a case's key is sealed to each desk it is routed to, and the ward's index
    key to each of its desks.
    """

    __tablename__ = "desks"
    __table_args__ = (UniqueConstraint("ward_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    recovery_sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The ward's signature of public_key (wards.trust): nothing is sealed to the desk
    # without it.
    key_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The ward's index key (incidents.cases.duplicates) sealed to this desk; none for a
    # partner desk.
    index_sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Since when a member has left the desk and its key must be renewed (rotate_desk):
    # until then he could still open, from a copy of the database, what is sealed to it.
    rotation_due_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    ward: Mapped[Ward] = relationship(back_populates="desks")
    members: Mapped[list["DeskMember"]] = relationship(
        back_populates="desk", cascade="all, delete-orphan"
    )


class DeskMember(db.Model):
    """A user's seat at a desk: the desk's private key, sealed to his personal key."""

    __tablename__ = "desk_members"

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The desk's MAC of the member's key as checked at his seat (wards.service): a key
    # renewal seals the new desk key only to members whose key it still vouches for.
    key_binding: Mapped[bytes | None] = mapped_column(LargeBinary)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    desk: Mapped[Desk] = relationship(back_populates="members")
    user: Mapped["User"] = relationship(  # noqa: F821 (accounts.models imports this one)
        foreign_keys=[user_id], back_populates="seats"
    )
