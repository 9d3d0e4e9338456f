"""What a ward has published or shared: the figures of a period, kept as they went out."""

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import db
from incidents.timeutil import utcnow


class Publication(db.Model):
    """The publication of a ward's figures for one period (DOMAIN.md section 4).

    A period once published is served again as it went out, never counted anew (two
    counts of one period, weeks apart, could be subtracted to single out a case verified
    or corrected in between), and no other period overlapping it is published. Its files
    hold suppressed counts only, never a case. A row with no files is a publication made
    before they were kept (migration 0018, from the audit trail): its period stays taken.
    """

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("ward_id", "first", "last"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    threshold: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str | None] = mapped_column(String(24))
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary)
    csv: Mapped[bytes | None] = mapped_column(LargeBinary)
