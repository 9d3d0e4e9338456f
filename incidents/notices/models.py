"""A notice: one row per recipient, codes and ids only, and its e-mail's place in the outbox."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.accounts.models import User
from incidents.extensions import db
from incidents.timeutil import utcnow

# The e-mail of a notice: none wanted (NULL), waiting in the outbox, sent, given up after
# too many failed attempts, or dropped because the recipient no longer takes e-mail.
MAIL_PENDING = "pending"
MAIL_SENT = "sent"
MAIL_FAILED = "failed"
MAIL_DROPPED = "dropped"


class Notice(db.Model):
    """A notice to one user that a case (by its random id) needs him, and why (a code)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The outbox. The address is not copied here: it is read when the message goes out,
    # so a changed or removed address is honoured and the table names nobody's mailbox.
    mail_status: Mapped[str | None] = mapped_column(String(16), index=True)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Not before this time: the back-off after a failure, and the lease of a sender that
    # has taken the notice (another run leaves it alone until then).
    mail_next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mail_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
