"""The possible-duplicate hint: the ward's other cases whose victim, or whose person who
caused the harm, has the same index.

Two group leaders may report the same survivor, spelled differently ("Nguyễn Thị Lan",
"NGUYEN THI LAN"). Each case gets a blind index, HMAC-SHA256 of the victim's normalised
name and birth year (incidents.crypto.blind_index), and a desk member who presses the case
page's "Look for possible duplicates" button is told which other cases of the ward that he
can read have the same index; merging one into the other is the workflow's own step
(service.change_status, reason "duplicate").

Nothing comparable is stored. Each case's index is sealed under that case's own data key
(AES-256-GCM with a fresh nonce, bound to the case id, the field "victim_index" and the
key version), so two cases of the same victim hold two unrelated ciphertexts, and the
database has no column to match on. The comparison is made in the member's request only:
his keyring opens the case key of every other case of the ward routed to one of his desks
(one HPKE open each, through the desk seed it opened once), opens that case's sealed index
and compares it with this case's. The result is shown in the response and kept nowhere:
the audit entry says how many cases were compared, never how many matched (that count,
read from the audit log, would answer a guessed name filed as a report).

What this defends against (the review's two findings):
- a database reader (a thief of a backup, an operator) holds only sealed indexes: he can
  neither see which cases share a victim nor test a guess someone filed as a report, since
  neither index opens without a case key, which needs a member's password;
- a desk member with a stolen database holds the ward's index key and can compute the
  index of any guessed name, but the indexes he would compare it with are sealed under case
  keys: only those of the cases routed to his own desk open for him, which he can read in
  the app anyway;
- a database writer who plants an index key of his choosing (HPKE base mode does not
  authenticate the sealer) gets indexes under his key, sealed under case keys he cannot
  open: useless to him. At worst, indexes written before and after the swap stop matching.

The index stays keyed by the ward's index key (sealed to each desk, opened through a
member's keyring, MemberKeyring.index_key) rather than being a plain hash: a case key is
also sealed to the leader who filed the report, and anyone holding one case key must not
get a value he can test guessed names against, as he could a plain SHA-256 of "name|year".

When it is written. Filing cannot: the server holds no key that opens the index key
(filing uses public keys only). Showing a page cannot: a GET never changes the database
(SECURITY.md property 15), and a GET does not decrypt other cases either. So the sealed
index is written when a desk member acts on the case by POST: at every status change (a
triaged case is indexed at its first step, acknowledging) and by the button, which then
compares.

The index is written with a plain UPDATE that leaves the case's version alone. The version
is the optimistic lock of what people see and decide on a case; the index is derived from
values the case had from its filing and changes nothing on its page. Bumping the version
would turn a colleague's pending status change, sent from a page opened before the
button was pressed, into a conflict for nothing.
"""

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from incidents import access
from incidents.audit.service import record
from incidents.cases import service  # a module import: service imports this module too
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseLink, CaseRoute
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import perpetrator_index, victim_index
from incidents.crypto.fields import open_text, seal_text
from incidents.extensions import db
from incidents.timeutil import as_utc
from incidents.vocab import ADULT_AGE_BANDS

# Whose index, from which sealed fields, stored in which sealed column (its field name in
# the ciphertext's context too), made with which keyed hash.
PEOPLE = {
    "victim": (("victim_name", "victim_birth_year"), "victim_index", victim_index),
    "perpetrator": (
        ("perpetrator_name", "perpetrator_birth_year"),
        "perpetrator_index",
        perpetrator_index,
    ),
}
# How far back another report of the same person who caused the harm counts (Art. 32:
# domestic violence two or more times in 12 months).
RECURRENCE_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Match:
    """A case that may be about the same person: what the page shows of it."""

    id: str
    reference: str
    status: str
    received_at: datetime
    verification: str
    kinds: tuple[str, ...]
    merged: bool = False  # merged into another case: that case's report counts


@dataclass
class DuplicateCheck:
    """What one press of the button found; shown in its response, stored nowhere."""

    # Whether the case has a name and a birth year to compare, for each person.
    indexed: bool
    perpetrator_indexed: bool = False
    # The other cases of the ward the user can read whose sealed indexes were compared...
    compared: int = 0
    # ...and those not indexed yet (filed, and no desk member has acted on them since).
    not_indexed: int = 0
    matches: list[Match] = field(default_factory=list)
    # Other reports of the same person who caused the harm, the latest first.
    perpetrator_matches: list[Match] = field(default_factory=list)
    # The events he was reported for within RECURRENCE_WINDOW of this report, this one
    # included (see _recurrence); and whether community criticism (Law 13/2022 Art. 32)
    # may apply: an adult, domestic violence twice or more.
    recent_reports: int = 0
    community_criticism: bool = False


def _index_of(case: Case, person: str, keyring: MemberKeyring, data_key: bytes) -> str | None:
    """The case's index of the person from its sealed name and birth year; None without both."""
    names, _column, make = PEOPLE[person]
    name, year = (
        open_text(data_key, getattr(case, name), case.id, name, case.key_version)
        if getattr(case, name) is not None
        else ""
        for name in names
    )
    if not name or not year:
        return None
    return make(keyring.index_key(case.ward), name, year)


def _stored_index(case: Case, column: str, data_key: bytes) -> str | None:
    """The case's index as stored, opened; None if none is, or if it does not open."""
    if getattr(case, column) is None:
        return None
    try:
        return open_text(data_key, getattr(case, column), case.id, column, case.key_version)
    except DecryptionError:
        return None  # damaged, or not ours: written again below, from the case itself


def index_case(user, case: Case, keyring: MemberKeyring) -> dict[str, str | None]:
    """Compute the case's indexes (victim, perpetrator) with the user's keys and store them
    sealed; idempotent.

    Returns the indexes (in memory only); a person without both name and birth year has
    None, and nothing stored. The row's version is left as it is (see the module's
    docstring); a stored ciphertext changes only when its index does.
    """
    if not access.can(user, "case.index", case):
        raise service.NotAllowed("case.index")
    data_key = keyring.case_key(case)
    values = {}
    for person, (_names, column, _make) in PEOPLE.items():
        value = _index_of(case, person, keyring, data_key)
        values[person] = value
        if value != _stored_index(case, column, data_key) or (
            value is None and getattr(case, column)
        ):
            sealed = (
                seal_text(data_key, value, case.id, column, case.key_version)
                if value is not None
                else None
            )
            table = Case.__table__
            db.session.connection().execute(
                update(table).where(table.c.id == case.id).values({column: sealed})
            )
            set_committed_value(case, column, sealed)
    return values


def _candidates(user, case: Case):
    """The other cases of the ward the user can read, each with its route to one of his
    desks: one SQL statement, whatever the ward's size."""
    return db.session.execute(
        select(
            Case.id,
            Case.reference,
            Case.status,
            Case.received_at,
            Case.verification,
            Case.kinds,
            Case.merged_into_id,
            Case.key_version,
            Case.victim_index,
            Case.perpetrator_index,
            CaseRoute.desk_id,
            CaseRoute.sealed_key,
        )
        .join(CaseRoute, CaseRoute.case_id == Case.id)
        .where(
            Case.ward_id == case.ward_id,
            Case.id != case.id,
            CaseRoute.desk_id.in_(user.desk_ids),
            access.case_scope(user, "case.index"),
        )
        .order_by(Case.received_at, Case.id, CaseRoute.desk_id)
    ).all()


def _same(row, column: str, value: str | None, data_key: bytes) -> bool:
    stored = getattr(row, column)
    if value is None or stored is None:
        return False
    other = open_text(data_key, bytes(stored), row.id, column, row.key_version)
    return hmac.compare_digest(other, value)


def look_for_duplicates(user, case: Case, keyring: MemberKeyring) -> DuplicateCheck:
    """The case page's button: index the case, then compare it with the ward's other cases
    the user can read, in this call only: the same victim (a duplicate, or another
    incident), the same person who caused the harm (reported again). Audited with counts;
    the result is not stored."""
    values = index_case(user, case, keyring)
    check = DuplicateCheck(
        indexed=values["victim"] is not None,
        perpetrator_indexed=values["perpetrator"] is not None,
    )
    if any(values.values()):
        seen: set[str] = set()
        for row in _candidates(user, case):
            if row.id in seen:  # routed to two of his desks: one key is enough
                continue
            seen.add(row.id)
            if row.victim_index is None and row.perpetrator_index is None:
                check.not_indexed += 1
                continue
            data_key = keyring.route_key(row.id, row.key_version, row.desk_id, row.sealed_key)
            check.compared += 1
            match = Match(
                id=row.id,
                reference=row.reference,
                status=row.status,
                received_at=as_utc(row.received_at),
                verification=row.verification,
                kinds=tuple(row.kinds),
                merged=row.merged_into_id is not None,
            )
            if _same(row, "victim_index", values["victim"], data_key):
                check.matches.append(match)
            if _same(row, "perpetrator_index", values["perpetrator"], data_key):
                check.perpetrator_matches.append(match)
    check.perpetrator_matches.sort(key=lambda match: match.received_at, reverse=True)
    _recurrence(case, check)
    # Counts of what was compared only: how many matched would tell a reader of the log
    # whether the name of a report (a guess filed on purpose, say) is another case's too.
    detail = (
        f"compared:{check.compared},not_indexed:{check.not_indexed}"
        if any(values.values())
        else "no_index"
    )
    record("case.index", actor=user, target=case.id, detail=detail)
    db.session.flush()
    return check


def _recurrence(case: Case, check: DuplicateCheck) -> None:
    """How many times the person who caused the harm was reported within 12 months of this
    report, and whether community criticism may apply (Art. 32: 18 or older, domestic
    violence two or more times in 12 months; whether he was sanctioned is for the chairman
    to check).

    A time is an event the desks verified: a pending or unfounded report is not yet one, a
    duplicate merged into another counts as that one, and the victims of one event (cases
    linked "same_event") are one time. The window reaches both ways, so that an older case
    read today counts the reports that came after it too."""
    if not check.perpetrator_indexed:
        return
    received = as_utc(case.received_at)
    recent = [
        match
        for match in check.perpetrator_matches
        if abs(match.received_at - received) <= RECURRENCE_WINDOW
        and match.verification == "verified"
        and not match.merged
    ]
    events = _events({case.id} | {match.id for match in recent})
    check.recent_reports = len(set(events.values()))
    domestic = {events[m.id] for m in recent if "domestic_violence" in m.kinds} - {events[case.id]}
    check.community_criticism = (
        case.perpetrator_age_band in ADULT_AGE_BANDS
        and "domestic_violence" in case.kinds
        and len(domestic) >= 1
    )


def _events(case_ids: set[str]) -> dict[str, str]:
    """Each case's event, named by one of its cases: cases linked "same_event" (directly or
    through one another) are one event."""
    event = {case_id: case_id for case_id in case_ids}

    def root(case_id: str) -> str:
        while event[case_id] != case_id:
            case_id = event[case_id]
        return case_id

    pairs = db.session.execute(
        select(CaseLink.case_id, CaseLink.other_case_id).where(
            CaseLink.kind == "same_event",
            CaseLink.case_id.in_(case_ids),
            CaseLink.other_case_id.in_(case_ids),
        )
    ).all()
    for one, two in pairs:
        event[root(one)] = root(two)
    return {case_id: root(case_id) for case_id in case_ids}
