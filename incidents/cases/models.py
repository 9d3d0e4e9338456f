"""Cases: clear columns for routing, queues and statistics; sealed columns for the rest.

A sealed column holds AES-256-GCM ciphertext bound to (case id, field, key version); see
incidents.crypto.fields. Nothing that identifies or narrates is ever stored in the clear.
"""

import secrets
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from incidents.accounts.models import User
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.wards.models import Desk, ResidentialGroup, Ward

# The encrypted fields of a case, in the order the case page shows them.
SEALED_FIELDS = (
    "victim_name",
    "victim_birth_year",
    "victim_address",
    "victim_phone",
    "narrative",
    "perpetrator_name",
    "perpetrator_birth_year",
    "perpetrator_details",
    "reporter_contact",
    "witnesses",
)

# The coded facts of a case: what the reporter said at filing (kept as he said it, in
# Case.reported) and what the desks verify and correct later (the columns themselves).
CODED_FACTS = (
    "kinds",
    "harm_forms",
    "acts",
    "gbv_type",
    "immediate_danger",
    "signs_of_crime",
    "victim_sex",
    "victim_age_band",
    "victim_circumstances",
    "perpetrator_relationship",
    "perpetrator_sex",
    "perpetrator_age_band",
    "trafficking_indicators",
    "trafficking_status",
    "trafficking_whereabouts",
    "trafficking_purposes",
    "child_abuse_forms",
    "child_abuse_environments",
    "child_serious_risk",
    "child_caregiver",
)


def new_case_id() -> str:
    """Return a random, unguessable case id for URLs (128 bits, hex)."""
    return secrets.token_hex(16)


class Case(db.Model):
    """One reported incident with one survivor (GBVIMS: one survivor per incident)."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("ward_id", "year", "sequence"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_case_id)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("residential_groups.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The human reference for officials is ward code, year and sequence: QT-2026-0007.
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(32), unique=True)

    # Clear columns: coarse categories only (DOMAIN.md section 2).
    kinds: Mapped[list[str]] = mapped_column(JSON)
    harm_forms: Mapped[list[str]] = mapped_column(JSON)
    acts: Mapped[list[str]] = mapped_column(JSON)
    # The GBVIMS core type, set by a desk (never by the group leader); None until then.
    gbv_type: Mapped[str | None] = mapped_column(String(32))
    context_flags: Mapped[list[str]] = mapped_column(JSON)
    immediate_danger: Mapped[bool] = mapped_column(Boolean)
    # The report shows signs of a crime: it goes to the police (criminal procedure).
    signs_of_crime: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the desks found (vocab.VERIFICATIONS): the statutory figures count verified cases.
    verification: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The coded facts as the reporter gave them at filing (CODED_FACTS), never changed:
    # the columns hold the ward's verified and corrected facts, the history their changes.
    reported: Mapped[dict] = mapped_column(JSON, default=dict)
    # The reporter's own values of the sealed details a desk corrected since (JSON, sealed
    # under the case key, field "reported_details"): he reads back what he wrote.
    reported_details: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Trafficking (Law 53/2024) and abuse of a child (Law on Children Art. 4.5), verified.
    trafficking_status: Mapped[str | None] = mapped_column(String(24))
    trafficking_whereabouts: Mapped[str | None] = mapped_column(String(16))
    trafficking_purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    child_abuse_forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    child_abuse_environments: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Handed to criminal procedure: a state the case stays open in (support, protection).
    criminal_procedure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    victim_sex: Mapped[str] = mapped_column(String(16))
    victim_age_band: Mapped[str] = mapped_column(String(16))
    victim_circumstances: Mapped[list[str]] = mapped_column(JSON)
    # Asked only when they apply: signs of trafficking; for a child, whether he is at
    # serious risk now (the 12-hour clock of Decree 56/2017) and who looks after him.
    trafficking_indicators: Mapped[list[str]] = mapped_column(JSON, default=list)
    child_serious_risk: Mapped[bool | None] = mapped_column(Boolean)
    child_caregiver: Mapped[str | None] = mapped_column(String(16))
    perpetrator_relationship: Mapped[str] = mapped_column(String(32))
    perpetrator_sex: Mapped[str] = mapped_column(String(16))
    perpetrator_age_band: Mapped[str] = mapped_column(String(16))
    # How and where the report was received (Law 13/2022 Art. 19: vocab.CHANNELS,
    # RECEIVING_POINTS); the channel may be unknown when a group leader does not say.
    channel: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    receiving_point: Mapped[str] = mapped_column(String(32))
    # What the victim said about sharing beyond the handling desks (vocab.CONSENTS); it
    # never decides whether the report reaches the ward. consent_statistics: to be counted
    # in what is shown outside the ward; None while nobody has asked her.
    consent: Mapped[str] = mapped_column(String(16))
    consent_statistics: Mapped[bool | None] = mapped_column(Boolean)
    incident_date: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    routing_reason: Mapped[str] = mapped_column(String(32))
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    # The case key sealed to the reporter's personal key, for his own read-back and the
    # questions put to him; and the public key it is sealed to, so that a copy sealed to
    # a key he lost (a key reset) can be told from a good one without opening it.
    reporter_sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_sealed_to: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The digest of the one-time token of the form that filed it: a form sent twice (a
    # double tap, a retry on a dropped connection) finds its case instead of a second one.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Who handles the case (the chairman assigns); a duplicate names the case it joined.
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    # Optimistic locking: every UPDATE of the row checks and bumps it, so of two people
    # changing the same case the second is told (a conflict page), never overwrites.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The victim's blind index (incidents.cases.duplicates): a keyed hash of her name and
    # birth year, set when a desk member acts on the case, and SEALED under the case key
    # (field "victim_index"), so that no two rows hold a value that compares equal. The
    # comparison happens only in a desk member's session, over the cases he can read.
    victim_index: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The same for the person who caused the harm (name and birth year), sealed likewise:
    # the desks see who was reported again, and nothing compares equal at rest.
    perpetrator_index: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Sealed columns (see SEALED_FIELDS).
    victim_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    victim_birth_year: Mapped[bytes | None] = mapped_column(LargeBinary)
    victim_address: Mapped[bytes | None] = mapped_column(LargeBinary)
    victim_phone: Mapped[bytes | None] = mapped_column(LargeBinary)
    narrative: Mapped[bytes | None] = mapped_column(LargeBinary)
    perpetrator_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    perpetrator_birth_year: Mapped[bytes | None] = mapped_column(LargeBinary)
    perpetrator_details: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_contact: Mapped[bytes | None] = mapped_column(LargeBinary)
    witnesses: Mapped[bytes | None] = mapped_column(LargeBinary)

    __mapper_args__ = {"version_id_col": version}

    ward: Mapped[Ward] = relationship()
    group: Mapped[ResidentialGroup] = relationship()
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    merged_into: Mapped["Case | None"] = relationship(remote_side=[id])
    routes: Mapped[list["CaseRoute"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseRoute.desk_id"
    )
    events: Mapped[list["CaseEvent"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEvent.id"
    )
    notes: Mapped[list["CaseNote"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseNote.id"
    )
    deadlines: Mapped[list["CaseDeadline"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseDeadline.due_at"
    )

    @property
    def desks(self) -> set[str]:
        """The kinds of the desks this case is routed to."""
        return {route.desk.kind for route in self.routes}


class CaseLink(db.Model):
    """Two cases of a ward a desk member linked (vocab.CASE_LINKS): another victim of the
    same event, the same person who caused the harm, the same victim. A link is a fact
    someone decided on, in the clear; which cases may be linked is found in a desk
    member's session only (cases.duplicates), never from a value stored to compare.
    The pair is kept once, the lower id first."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "other_case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    other_case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseRoute(db.Model):
    """A desk the case is routed to, holding the case's key sealed to that desk.

    Routing and the key are one row: no sealed key, no route, and so no access.
    """

    __tablename__ = "case_routes"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"), primary_key=True, index=True)
    routed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship(back_populates="routes")
    desk: Mapped[Desk] = relationship()


class CaseEvent(db.Model):
    """One step of a case's timeline; detail holds codes only, never case content.

    The reason a person typed for the step (why a case was closed, say) is sealed in body
    under the case key, like a note.
    """

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class CaseNote(db.Model):
    """A note by a desk member; its text is sealed under the case key."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body: Mapped[bytes] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship(back_populates="notes")
    author: Mapped[User] = relationship()


class CaseDeadline(db.Model):
    """One legal clock of a case: started, due, and met (or not yet) — see cases.clocks."""

    __tablename__ = "case_deadlines"
    __table_args__ = (UniqueConstraint("case_id", "kind", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    met_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    met_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set once, when the overdue clock was escalated to the chairman.
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="deadlines")
    met_by: Mapped[User | None] = relationship()


class CaseQuestion(db.Model):
    """A desk member's question to the case's reporter, and his answer; both sealed.

    Clear columns hold ids and times only. An answer closes its question (closed_by is
    then the reporter); a desk member closes one that is no longer needed.
    """

    __tablename__ = "case_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    question: Mapped[bytes] = mapped_column(LargeBinary)
    answer: Mapped[bytes | None] = mapped_column(LargeBinary)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # A backref keeps Case itself untouched: case.questions, oldest first.
    case: Mapped[Case] = relationship(
        backref=backref("questions", cascade="all, delete-orphan", order_by="CaseQuestion.id")
    )
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_open(self) -> bool:
        """Whether the question still waits for its answer."""
        return self.closed_at is None


class ContactBan(db.Model):
    """A contact-ban request (Law 13/2022 Art. 25) and the chairman's decision on it.

    Clear columns only: who asked (a code), when, the decision and the ban's period. The
    reason the chairman types for a refusal is sealed in the body of the decision's
    timeline event (detail {"ban": id}), like every typed reason.
    """

    __tablename__ = "case_contact_bans"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requester: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # None while the request waits for the chairman; then "granted" or "refused".
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A granted ban's period (at most clocks.SETTINGS.contact_ban_longest).
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Two chairmen deciding one request at once: the second is told, never overwrites.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    # One request waits at a time: the service checks, and this holds when two race.
    __table_args__ = (
        Index(
            "uq_case_contact_bans_pending",
            "case_id",
            unique=True,
            sqlite_where=text("decision IS NULL"),
            postgresql_where=text("decision IS NULL"),
        ),
    )

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class ProtectionMeasure(db.Model):
    """A protection measure of Law 13/2022 Art. 22 applied on a day (vocab codes).

    Form 01/BC-X counts perpetrators by measure applied: COUNT(DISTINCT case_id) by measure.
    """

    __tablename__ = "case_measures"
    __table_args__ = (UniqueConstraint("case_id", "measure", "applied_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(32), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    recorded_by: Mapped[User] = relationship()


class SupportService(db.Model):
    """A support service the victim received on a day (vocab.SUPPORT_SERVICES codes).

    The share of victims who reached at least one basic service counts the cases here.
    """

    __tablename__ = "case_services"
    __table_args__ = (UniqueConstraint("case_id", "service", "received_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(32), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    recorded_by: Mapped[User] = relationship()


class PerpetratorOutcome(db.Model):
    """What became of the person who caused the harm: counselled, criminally prosecuted.

    One row per case, two clear booleans, for the National Strategy's share of perpetrators
    not prosecuted who were counselled. No row: not recorded yet.
    """

    __tablename__ = "case_perpetrator_outcomes"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    counselled: Mapped[bool] = mapped_column(Boolean)
    prosecuted: Mapped[bool] = mapped_column(Boolean)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The officer changes it as the case goes on; two changes at once give a conflict.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    recorded_by: Mapped[User] = relationship()


class Referral(db.Model):
    """A case referred to a partner desk (health station, Women's Union, school, shelter).

    The partner desk never gets the case key: a fresh referral key is sealed to the desk
    (HPKE) and, for the referring desks, under the case key; the values shared and the
    message are sealed under the referral key, each bound to the referral id and its field.
    Clear columns: who, when, which fields (codes), the basis, the consent, the state.
    """

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_case_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id"), index=True)
    referred_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # When the referral was made, and with it its consent recorded (by referred_by).
    referred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    basis: Mapped[str] = mapped_column(String(16))
    consent_by: Mapped[str | None] = mapped_column(String(16))
    consent_how: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="sent", index=True)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    # The referral key: sealed to the partner desk, and under the case key for the desks.
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    case_sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Sealed under the referral key: the message and each value shared (see REFERRAL_SHARES).
    message: Mapped[bytes] = mapped_column(LargeBinary)
    victim_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    victim_phone: Mapped[bytes | None] = mapped_column(LargeBinary)
    victim_address: Mapped[bytes | None] = mapped_column(LargeBinary)
    victim_profile: Mapped[bytes | None] = mapped_column(LargeBinary)
    kinds: Mapped[bytes | None] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship()
    desk: Mapped[Desk] = relationship()
    referred_by: Mapped[User] = relationship()
    answers: Mapped[list["ReferralAnswer"]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralAnswer.id"
    )


class ReferralAnswer(db.Model):
    """A partner's answer to a referral (accepted, declined, closed); its note is sealed
    under the referral key, so the partner desk and the referring desks can read it."""

    __tablename__ = "referral_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[bytes | None] = mapped_column(LargeBinary)

    referral: Mapped[Referral] = relationship(back_populates="answers")
    author: Mapped[User] = relationship()
