"""The possible-duplicate hint: the ward's other cases whose victim has the same index.

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

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from incidents import access
from incidents.audit.service import record
from incidents.cases import service  # a module import: service imports this module too
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseRoute
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import victim_index
from incidents.crypto.fields import open_text, seal_text
from incidents.extensions import db

_INDEXED_FIELDS = ("victim_name", "victim_birth_year")
# The sealed index's field name in its ciphertext's context.
INDEX_FIELD = "victim_index"


@dataclass(frozen=True)
class Match:
    """A case that may be the same victim's: what the page shows of it."""

    id: str
    reference: str
    status: str


@dataclass
class DuplicateCheck:
    """What one press of the button found; shown in its response, stored nowhere."""

    # Whether the case has the victim's name and birth year to compare at all.
    indexed: bool
    # The other cases of the ward the user can read whose sealed index was compared...
    compared: int = 0
    # ...and those not indexed yet (filed, and no desk member has acted on them since).
    not_indexed: int = 0
    matches: list[Match] = field(default_factory=list)


def _index_of(case: Case, keyring: MemberKeyring, data_key: bytes) -> str | None:
    """The case's victim index from its sealed name and birth year; None without both."""
    name, year = (
        open_text(data_key, getattr(case, name), case.id, name, case.key_version)
        if getattr(case, name) is not None
        else ""
        for name in _INDEXED_FIELDS
    )
    if not name or not year:
        return None
    return victim_index(keyring.index_key(case.ward), name, year)


def _stored_index(case: Case, data_key: bytes) -> str | None:
    """The case's index as stored, opened; None if none is, or if it does not open."""
    if case.victim_index is None:
        return None
    try:
        return open_text(data_key, case.victim_index, case.id, INDEX_FIELD, case.key_version)
    except DecryptionError:
        return None  # damaged, or not ours: written again below, from the case itself


def index_case(user, case: Case, keyring: MemberKeyring) -> str | None:
    """Compute the case's victim index with the user's keys and store it sealed; idempotent.

    Returns the index (in memory only). None, and nothing stored, when the case has no
    victim name or no birth year. The row's version is left as it is (see the module's
    docstring); the stored ciphertext changes only when the index does.
    """
    if not access.can(user, "case.index", case):
        raise service.NotAllowed("case.index")
    data_key = keyring.case_key(case)
    value = _index_of(case, keyring, data_key)
    if value != _stored_index(case, data_key) or (value is None and case.victim_index):
        sealed = (
            seal_text(data_key, value, case.id, INDEX_FIELD, case.key_version)
            if value is not None
            else None
        )
        table = Case.__table__
        db.session.connection().execute(
            update(table).where(table.c.id == case.id).values(victim_index=sealed)
        )
        set_committed_value(case, "victim_index", sealed)
    return value


def _candidates(user, case: Case):
    """The other cases of the ward the user can read, each with its route to one of his
    desks: one SQL statement, whatever the ward's size."""
    return db.session.execute(
        select(
            Case.id,
            Case.reference,
            Case.status,
            Case.key_version,
            Case.victim_index,
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


def look_for_duplicates(user, case: Case, keyring: MemberKeyring) -> DuplicateCheck:
    """The case page's button: index the case, then compare it with the ward's other cases
    the user can read, in this call only. Audited with counts; the result is not stored."""
    value = index_case(user, case, keyring)
    check = DuplicateCheck(indexed=value is not None)
    if value is not None:
        seen: set[str] = set()
        for row in _candidates(user, case):
            if row.id in seen:  # routed to two of his desks: one key is enough
                continue
            seen.add(row.id)
            if row.victim_index is None:
                check.not_indexed += 1
                continue
            data_key = keyring.route_key(row.id, row.key_version, row.desk_id, row.sealed_key)
            other = open_text(
                data_key, bytes(row.victim_index), row.id, INDEX_FIELD, row.key_version
            )
            check.compared += 1
            if hmac.compare_digest(other, value):
                check.matches.append(Match(id=row.id, reference=row.reference, status=row.status))
    # Counts of what was compared only: how many matched would tell a reader of the log
    # whether the name of a report (a guess filed on purpose, say) is another case's too.
    detail = f"compared:{check.compared},not_indexed:{check.not_indexed}" if value else "no_index"
    record("case.index", actor=user, target=case.id, detail=detail)
    db.session.flush()
    return check
