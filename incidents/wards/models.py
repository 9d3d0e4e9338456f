"""A ward (phường/xã) and its residential groups (tổ dân phố, bản)."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import db
from incidents.timeutil import utcnow

GROUP_KINDS = ("to_dan_pho", "ban")


class Ward(db.Model):
    """A ward: the unit whose police, officer and chairman handle its cases."""

    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short code used in human case references, e.g. "QT" in "QT-2026-0001".
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    groups: Mapped[list["ResidentialGroup"]] = relationship(
        back_populates="ward", order_by="ResidentialGroup.id"
    )


class ResidentialGroup(db.Model):
    """A residential group under a ward, led by a group leader (the reporter)."""

    __tablename__ = "residential_groups"
    __table_args__ = (UniqueConstraint("ward_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))

    ward: Mapped[Ward] = relationship(back_populates="groups")
