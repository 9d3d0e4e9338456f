"""Users: one role each; group leaders lead one or more residential groups."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.vocab import ROLES, codes
from incidents.wards.models import DeskMember, ResidentialGroup, Ward

ROLE_CODES = codes(ROLES)

leader_groups = Table(
    "leader_groups",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("residential_groups.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    """A person who signs in: a group leader, ward staff, or the administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where notices are also e-mailed (staff only; see incidents.notices.service).
    email: Mapped[str | None] = mapped_column(String(254))
    # The personal key pair: its private seed wrapped under a key derived from the password
    # (Argon2id, own salt and parameters) and, separately, sealed to the ward's recovery key.
    # An account whose password someone else set (the administrator, at creation or reset)
    # has no key pair: it is made when the owner first signs in and chooses his own
    # password, so nobody who knew the first password can derive it.
    needs_own_password: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_params: Mapped[str | None] = mapped_column(String(32))
    password_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    recovery_sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A first password from the administrator is a one-time activation code that expires.
    activation_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The second factor: the TOTP secret sealed under the personal seed, and the last time
    # step whose code was accepted (a code is never accepted twice).
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Wrong codes typed after the right password, since the last good one: past a limit,
    # only a recovery code opens the account (someone has the password).
    second_factor_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    ward: Mapped[Ward] = relationship()
    groups: Mapped[list[ResidentialGroup]] = relationship(
        secondary=leader_groups, order_by=ResidentialGroup.id
    )
    seats: Mapped[list[DeskMember]] = relationship(
        foreign_keys=[DeskMember.user_id], order_by=DeskMember.desk_id, back_populates="user"
    )

    @property
    def desk_ids(self) -> set[int]:
        """The desks this user sits at."""
        return {seat.desk_id for seat in self.seats}

    @property
    def has_second_factor(self) -> bool:
        """Whether the account has enrolled an authenticator app."""
        return self.totp_secret_sealed is not None

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot hold a session (flask-login checks this)."""
        return self.active


class SessionRecord(db.Model):
    """A server-side session: its data sealed under a secret that only the cookie holds.

    The row's id is the SHA-256 of the session token, so the database alone yields
    neither a usable cookie nor the session's contents.
    """

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # Shown to the owner on his account page, so he can tell his devices apart.
    client_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(160))


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (only its digest is kept)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
