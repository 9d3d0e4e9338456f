"""Verification: the ward's own record of each case, corrected with a history; the links
desk members make between cases; and criminal procedure as a state of the case.

The reporter's coded facts stay as he gave them (Case.reported). A desk member who may
verify the case's regimes (access.VERIFY_ROLES) reviews them and records the ward's
verified facts (the case's columns) with the outcome — verified, or unfounded, which is
for the police and the chairman and needs a reason — and any desk member who reads the
case may correct them later, saying why. Each step is one timeline event whose detail
lists the facts changed, from and to (codes only), with the typed reason sealed under the
case key, and one audit entry. The perpetrator's name and birth year (sealed) may be
given or corrected too: their own event names the fields only, its body (sealed under the
case key) holds them from and to, and the reporter's own values are kept sealed
(Case.reported_details) so that he reads back what he wrote. A kind is given or taken away
only by a desk that verifies it (access.VERIFY_ROLES); unfounded closes the report.

When the verified facts call for the police (cases.routing) and the case has not reached
them, it is routed to them; clocks the facts now start (a child's) start from now.
"""

import json
from dataclasses import dataclass, field, fields

from sqlalchemy import select

from incidents import access
from incidents.audit.service import record
from incidents.cases import clocks, duplicates
from incidents.cases.classify import context_flags, urgency
from incidents.cases.keys import MemberKeyring, sealed_route
from incidents.cases.models import CODED_FACTS, Case, CaseEvent, CaseLink, CaseRoute
from incidents.cases.routing import case_facts, decide_routing
from incidents.cases.service import (
    REPORTED_DETAILS,
    WHY_MAX_LENGTH,
    CaseError,
    NotAllowed,
    _check_version,
    _sealed_event,
    add_link,
)
from incidents.crypto.fields import open_text, seal_text
from incidents.extensions import db
from incidents.notices import service as notices
from incidents.timeutil import utcnow
from incidents.vocab import (
    ACTS,
    AGE_BANDS,
    CASE_LINKS,
    CHILD_ABUSE_ENVIRONMENTS,
    CHILD_ABUSE_FORMS,
    CHILD_AGE_BANDS,
    CHILD_CAREGIVERS,
    GBV_TYPES,
    HARM_FORMS,
    KINDS,
    RELATIONSHIPS,
    SEXES,
    TRAFFICKING_INDICATORS,
    TRAFFICKING_PURPOSES,
    TRAFFICKING_STATUSES,
    TRAFFICKING_WHEREABOUTS,
    VICTIM_CIRCUMSTANCES,
    codes,
)

# The sealed details a desk may give or correct here: they make the perpetrator's index.
SEALED_DETAILS = ("perpetrator_name", "perpetrator_birth_year")
OUTCOMES = ("verified", "unfounded")
CLOSED = "closed"
UNFOUNDED = "unfounded"


@dataclass
class Facts:
    """The coded facts of a case (models.CODED_FACTS), as a desk member gives them."""

    kinds: list[str]
    harm_forms: list[str]
    acts: list[str]
    gbv_type: str | None
    immediate_danger: bool
    signs_of_crime: bool
    victim_sex: str
    victim_age_band: str
    victim_circumstances: list[str]
    perpetrator_relationship: str
    perpetrator_sex: str
    perpetrator_age_band: str
    trafficking_indicators: list[str] = field(default_factory=list)
    trafficking_status: str | None = None
    trafficking_whereabouts: str | None = None
    trafficking_purposes: list[str] = field(default_factory=list)
    child_abuse_forms: list[str] = field(default_factory=list)
    child_abuse_environments: list[str] = field(default_factory=list)
    child_serious_risk: bool | None = None
    child_caregiver: str | None = None

    @classmethod
    def of(cls, case: Case) -> "Facts":
        """The case's facts as they stand."""
        return cls(**{name: getattr(case, name) for name in CODED_FACTS})


assert tuple(item.name for item in fields(Facts)) == CODED_FACTS  # one list, two places

_ONE_OF = {
    "victim_sex": SEXES,
    "victim_age_band": AGE_BANDS,
    "perpetrator_relationship": RELATIONSHIPS,
    "perpetrator_sex": SEXES,
    "perpetrator_age_band": AGE_BANDS,
}
_ONE_OF_OR_NONE = {
    "gbv_type": GBV_TYPES,
    "trafficking_status": TRAFFICKING_STATUSES,
    "trafficking_whereabouts": TRAFFICKING_WHEREABOUTS,
    "child_caregiver": CHILD_CAREGIVERS,
}
_SOME_OF = {
    "kinds": KINDS,
    "harm_forms": HARM_FORMS,
    "acts": ACTS,
    "victim_circumstances": VICTIM_CIRCUMSTANCES,
    "trafficking_indicators": TRAFFICKING_INDICATORS,
    "trafficking_purposes": TRAFFICKING_PURPOSES,
    "child_abuse_forms": CHILD_ABUSE_FORMS,
    "child_abuse_environments": CHILD_ABUSE_ENVIRONMENTS,
}


def _checked(facts: Facts) -> Facts:
    """The facts in order (lists sorted, questions that do not apply emptied), or CaseError
    naming the first one the vocabulary refuses."""
    for name, choices in _ONE_OF.items():
        if getattr(facts, name) not in codes(choices):
            raise CaseError(name)
    for name, choices in _ONE_OF_OR_NONE.items():
        value = getattr(facts, name)
        if value is not None and value not in codes(choices):
            raise CaseError(name)
    for name, choices in _SOME_OF.items():
        if not set(getattr(facts, name)) <= set(codes(choices)):
            raise CaseError(name)
        setattr(facts, name, sorted(set(getattr(facts, name))))
    if not facts.kinds:
        raise CaseError("kinds")
    child = facts.victim_age_band in CHILD_AGE_BANDS
    if "child_abuse" in facts.kinds and not child:
        raise CaseError("victim_age_band")
    if "trafficking" not in facts.kinds:
        facts.trafficking_indicators, facts.trafficking_purposes = [], []
        facts.trafficking_status = facts.trafficking_whereabouts = None
    if "child_abuse" not in facts.kinds:
        facts.child_abuse_forms, facts.child_abuse_environments = [], []
    if not child:
        facts.child_serious_risk = facts.child_caregiver = None
    return facts


def _why(why: str | None, required: bool) -> str:
    why = (why or "").strip()
    if len(why) > WHY_MAX_LENGTH or (required and not why):
        raise CaseError("why")
    return why


@dataclass
class Applied:
    """What a verification or correction changed: the coded facts (from and to, codes) and
    the sealed details (from and to, to be sealed in their own event)."""

    changes: list[dict]
    details: dict[str, tuple[str, str]]

    def __bool__(self) -> bool:
        return bool(self.changes or self.details)


def _apply(case: Case, facts: Facts, details: dict[str, str] | None, data_key) -> Applied:
    """Write the facts and the sealed details that changed. The reporter's own values of a
    sealed detail are kept (sealed, case.reported_details) before the first is changed."""
    changes = []
    for name in CODED_FACTS:
        before, after = getattr(case, name), getattr(facts, name)
        if before != after:
            changes.append({"field": name, "from": before, "to": after})
            setattr(case, name, after)
    current = {
        name: open_text(data_key, getattr(case, name), case.id, name, case.key_version)
        if getattr(case, name)
        else ""
        for name in SEALED_DETAILS
    }
    sealed_changes = {
        name: (current[name], (details[name] or "").strip())
        for name in SEALED_DETAILS
        if details is not None
        and name in details
        and (details[name] or "").strip() != current[name]
    }
    if sealed_changes and case.reported_details is None:
        case.reported_details = seal_text(
            data_key, json.dumps(current, ensure_ascii=False), case.id, REPORTED_DETAILS,
            case.key_version,
        )  # fmt: skip
    for name, (_old, value) in sealed_changes.items():
        setattr(
            case,
            name,
            seal_text(data_key, value, case.id, name, case.key_version) if value else None,
        )
    case.context_flags = context_flags(
        case.gbv_type,
        set(case.kinds),
        case.perpetrator_relationship,
        case.victim_age_band,
        set(case.harm_forms),
        set(case.trafficking_indicators),
    )
    return Applied(changes, sealed_changes)


def _record_details(user, case: Case, applied: Applied, data_key) -> None:
    """The sealed details changed, from and to, in an event of their own whose body is
    sealed under the case key (its detail names the fields only)."""
    if not applied.details:
        return
    event = CaseEvent(
        case_id=case.id,
        actor_id=user.id,
        kind="details_corrected",
        detail={"fields": sorted(applied.details)},
    )
    db.session.add(event)
    db.session.flush()  # the event's id is part of its ciphertext's context
    body = json.dumps({name: list(pair) for name, pair in applied.details.items()})
    event.body = seal_text(data_key, body, case.id, f"event:{event.id}", case.key_version)


def detail_history(case: Case, reasons: dict[int, str]) -> dict[int, dict[str, list[str]]]:
    """The sealed details' changes, from and to, by event id, from the reasons a desk reader
    opened (service.read_case): shown in the history, never on the timeline."""
    return {
        event.id: json.loads(reasons[event.id])
        for event in case.events
        if event.kind == "details_corrected" and event.id in reasons
    }


def _follow_the_facts(user, case: Case, keyring: MemberKeyring, data_key) -> None:
    """Route to the police and start the clocks the verified facts now call for."""
    rule = decide_routing(
        case_facts(
            kinds=case.kinds,
            harm_forms=case.harm_forms,
            acts=case.acts,
            gbv_type=case.gbv_type,
            victim_age_band=case.victim_age_band,
            immediate_danger=case.immediate_danger,
            signs_of_crime=case.signs_of_crime,
        )
    )
    now = utcnow()
    reached = {route.desk.kind for route in case.routes}
    missing = [kind for kind in rule.desks if kind not in reached]
    for kind in missing:
        desk = case.ward.desk(kind)
        db.session.add(CaseRoute(**sealed_route(case, desk, data_key, now)))
        db.session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor_id=user.id,
                kind="routed",
                detail={"desks": [kind], "reason": rule.reason},
            )
        )
        record("case.route", actor=user, target=case.id, detail=kind)
    if missing:
        notices.notify_desks(case, missing, "new_case")
    started = {deadline.kind for deadline in case.deadlines}
    for kind in clocks.clocks_at_filing(case):
        if kind not in started:
            case.deadlines.append(clocks.start(case, kind, now))
    case.urgency = urgency(
        case.immediate_danger or clocks.child_emergency_applies(case),
        "police" in reached or "police" in missing,
    )


def _check_kinds(user, case: Case, facts: Facts) -> None:
    """A kind is given or taken away only by whom VERIFY_ROLES names for it (the police
    verify trafficking: no other desk may add it, nor remove it)."""
    if not access.may_verify_kinds(user, set(case.kinds) ^ set(facts.kinds)):
        raise NotAllowed("case.verify")


def _outcome(user, case: Case, outcome: str, why: str) -> None:
    """Record the outcome. Unfounded is the police's or the chairman's, with a reason; it
    closes the case (a report found unfounded is not a case); verified after unfounded
    reopens it."""
    if outcome not in OUTCOMES:
        raise CaseError("outcome")
    deciding = UNFOUNDED in (outcome, case.verification)
    if deciding and user.role not in access.CLOSE_REASON_ROLES[UNFOUNDED]:
        raise CaseError("outcome")
    if deciding and not why:
        raise CaseError("why")
    before = case.status
    if outcome == UNFOUNDED and before != CLOSED:
        case.status, case.close_reason = CLOSED, UNFOUNDED
    elif outcome != UNFOUNDED and case.verification == UNFOUNDED and before == CLOSED:
        case.status, case.close_reason = "reopened", None
    if case.status != before:
        detail = {"from": before, "to": case.status}
        if case.close_reason:
            detail["reason"] = case.close_reason
        db.session.add(CaseEvent(case_id=case.id, actor_id=user.id, kind="status", detail=detail))
        record("case.status", actor=user, target=case.id, detail=f"{before}>{case.status}")
    case.verification = outcome


def _meet_clocks(user, case: Case) -> None:
    """What a verification does for the law's clocks: the police's verification of a
    trafficking report is its initial verification (Law 53/2024 Art. 27); the chairman's
    step on a case is his handling of it (Law 13/2022 Art. 20)."""
    if user.role == "police" and "trafficking" in case.kinds:
        clocks.meet(user, case, "trafficking_verification")
    if user.role == "chairman":
        clocks.meet(user, case, "chairman_informed")


def verify(
    user,
    case: Case,
    facts: Facts,
    keyring: MemberKeyring,
    *,
    outcome: str,
    why: str = "",
    details: dict[str, str] | None = None,
    seen_version: int | None = None,
) -> list[dict]:
    """Record the ward's verified facts and the outcome; returns the coded changes made.

    Unfounded is for the police and the chairman, with a reason (a report found unfounded
    is not a case of the statistics). The reporter's own facts stay in case.reported.
    """
    if not access.can(user, "case.verify", case):
        raise NotAllowed("case.verify")
    data_key = keyring.case_key(case)
    _check_version(case, seen_version)
    facts = _checked(facts)
    _check_kinds(user, case, facts)
    why = _why(why, required=False)
    applied = _apply(case, facts, details, data_key)
    _outcome(user, case, outcome, why)
    case.verified_at = utcnow()
    case.verified_by_id = user.id
    _sealed_event(
        user, case, "verified", {"outcome": outcome, "changes": applied.changes}, why, data_key
    )
    _record_details(user, case, applied, data_key)
    record("case.verify", actor=user, target=case.id, detail=outcome)
    _meet_clocks(user, case)
    if outcome != UNFOUNDED:
        _follow_the_facts(user, case, keyring, data_key)
    duplicates.index_case(user, case, keyring)
    db.session.flush()
    return applied.changes


def correct(
    user,
    case: Case,
    facts: Facts,
    keyring: MemberKeyring,
    *,
    why: str,
    details: dict[str, str] | None = None,
    outcome: str | None = None,
    seen_version: int | None = None,
) -> list[dict]:
    """Correct the facts (and, for the police and the chairman, the outcome) of a case the
    user reads, saying why; returns the coded changes made (CaseError "unchanged" when
    nothing changes)."""
    if not access.can(user, "case.correct", case):
        raise NotAllowed("case.correct")
    data_key = keyring.case_key(case)
    _check_version(case, seen_version)
    facts = _checked(facts)
    _check_kinds(user, case, facts)
    why = _why(why, required=True)
    applied = _apply(case, facts, details, data_key)
    outcome = outcome or case.verification
    changed_outcome = outcome != case.verification
    if not applied and not changed_outcome:
        raise CaseError("unchanged")
    detail = {"changes": applied.changes}
    if changed_outcome:
        detail["outcome"] = {"from": case.verification, "to": outcome}
        _outcome(user, case, outcome, why)
    _sealed_event(user, case, "corrected", detail, why, data_key)
    _record_details(user, case, applied, data_key)
    fields = [change["field"] for change in applied.changes] + sorted(applied.details)
    record("case.correct", actor=user, target=case.id, detail=",".join(fields) or "outcome")
    if case.verification != UNFOUNDED:
        _follow_the_facts(user, case, keyring, data_key)
    duplicates.index_case(user, case, keyring)
    db.session.flush()
    return applied.changes


def history(case: Case) -> list[CaseEvent]:
    """The case's verification and corrections, oldest first (their reasons are read with
    the case's other typed reasons, service.read_case)."""
    kinds = ("verified", "corrected", "details_corrected")
    return [event for event in case.events if event.kind in kinds]


# --- Links between cases -------------------------------------------------------------------


def link(user, case: Case, other: Case, kind: str, keyring: MemberKeyring) -> CaseLink:
    """Link two cases of the ward the user reads both of (vocab.CASE_LINKS); idempotent."""
    if kind not in codes(CASE_LINKS):
        raise CaseError("kind")
    if (
        other.id == case.id
        or other.ward_id != case.ward_id
        or not access.can(user, "case.link", case)
        or not access.can(user, "case.link", other)
    ):
        raise NotAllowed("case.link")
    keyring.case_key(case), keyring.case_key(other)  # a write needs the same proof as a read
    return add_link(user, case, other, kind)


def links_of(user, case: Case) -> list[tuple[str, Case]]:
    """The cases linked to this one that the user may read, with the link's kind."""
    rows = db.session.execute(
        select(CaseLink.kind, Case)
        .join(
            Case,
            (Case.id == CaseLink.other_case_id) & (CaseLink.case_id == case.id)
            | (Case.id == CaseLink.case_id) & (CaseLink.other_case_id == case.id),
        )
        .order_by(CaseLink.id)
    ).all()
    return [(kind, other) for kind, other in rows if access.can(user, "case.read", other)]


def timeline(case: Case, links: list[tuple[str, Case]]) -> list[CaseEvent]:
    """The case's events for a reader, without the links to cases he may not read (links,
    from links_of): that another victim's case exists is not his to know."""
    readable = {other.id for _, other in links}
    return [
        event
        for event in case.events
        if event.kind != "linked" or event.detail.get("case") in readable
    ]


# --- Criminal procedure: a state, not a closing ----------------------------------------------


def hand_to_criminal_procedure(user, case: Case, keyring: MemberKeyring, *, why: str) -> None:
    """The police record that the case was handed to criminal procedure (the commune police
    forward a crime report to the investigation body). The case stays open: the victim's
    support, protection measures and a child's plan go on (DOMAIN.md section 3)."""
    if not access.can(user, "case.criminal_procedure", case):
        raise NotAllowed("case.criminal_procedure")
    data_key = keyring.case_key(case)
    if case.status == "closed" or case.criminal_procedure_at is not None:
        raise CaseError("criminal_procedure")
    why = _why(why, required=True)
    case.criminal_procedure_at = utcnow()
    _sealed_event(user, case, "criminal_procedure", {}, why, data_key)
    record("case.criminal_procedure", actor=user, target=case.id)
    db.session.flush()
