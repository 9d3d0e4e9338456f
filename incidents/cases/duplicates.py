"""The possible-duplicate hint: cases of a ward whose victims have the same blind index.

Two group leaders may report the same survivor, spelled differently ("Nguyễn Thị Lan",
"NGUYEN THI LAN"). Each case gets a blind index, HMAC-SHA256 of the victim's normalised
name and birth year (incidents.crypto.blind_index), and a desk member's case page names
the other cases of the ward with the same index that he can read; merging one into the
other is the workflow's own step (service.change_status, reason "duplicate").

The key is never the server's. Each ward has a random 32-byte index key, sealed with HPKE
to each of its desks (Desk.index_sealed_key, bound to "index key", the ward and the desk)
and opened only through a member's keyring (MemberKeyring.index_key). A key the server
held would let whoever steals the database together with the server's secrets ask "is
Nguyễn Thị X, born 1990, a victim here?" by computing one hash: the very search of the
perpetrator's side that SECURITY.md guards against. Sealed to the desks, that question
needs a member's password, as reading the case does. The server sees the key once, when
it makes the ward (as it does the desks' own seeds), and keeps nothing but sealed copies.
Desks are made only with their ward (wards.service.create_ward), so no desk lacks a copy.

What the index reveals: to anyone holding the database, that two cases of one ward are
likely the same person (that is its purpose); never a name, and no guess can be checked.

When it is computed. Filing cannot: the server holds no key that opens the index key
(filing uses public keys only). Showing a page cannot: a GET never changes the database
(SECURITY.md property 15). So the index is written when a desk member acts on the case by
POST: at every status change (a triaged case is indexed at its first step, acknowledging)
and by the case page's "Look for possible duplicates" button.

The index is written with a plain UPDATE that leaves the case's version alone. The version
is the optimistic lock of what people see and decide on a case; the index is derived from
values the case had from its filing and changes nothing on its page. Bumping the version
would turn a colleague's pending status change, sent from a page opened before the
button was pressed, into a conflict for nothing.
"""

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from incidents import access
from incidents.audit.service import record
from incidents.cases import service  # a module import: service imports this module too
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case
from incidents.crypto.blind_index import victim_index
from incidents.crypto.fields import open_text
from incidents.extensions import db

_INDEXED_FIELDS = ("victim_name", "victim_birth_year")


def index_case(user, case: Case, keyring: MemberKeyring) -> str | None:
    """Compute the case's victim index with the user's keys and store it; idempotent.

    None (and stored so) when the case has no victim name or no birth year. The row's
    version is left as it is (see the module's docstring).
    """
    if not access.can(user, "case.index", case):
        raise service.NotAllowed("case.index")
    data_key = keyring.case_key(case)
    name, year = (
        open_text(data_key, getattr(case, field), case.id, field, case.key_version)
        if getattr(case, field) is not None
        else ""
        for field in _INDEXED_FIELDS
    )
    value = victim_index(keyring.index_key(case.ward), name, year) if name and year else None
    if value != case.victim_index:
        table = Case.__table__
        db.session.connection().execute(
            update(table).where(table.c.id == case.id).values(victim_index=value)
        )
        set_committed_value(case, "victim_index", value)
    return value


def look_for_duplicates(user, case: Case, keyring: MemberKeyring) -> str | None:
    """The case page's button: index the case now, and audit it (codes only)."""
    value = index_case(user, case, keyring)
    record("case.index", actor=user, target=case.id, detail="indexed" if value else "no_index")
    db.session.flush()
    return value


def possible_duplicates(user, case: Case) -> list[Case]:
    """The other cases of the case's ward with the same victim index that the user can read.

    A read-only query, for the case page. Nothing for a user who may not index the case
    (the group leader), nor for a case not indexed yet.
    """
    if case.victim_index is None or not access.can(user, "case.index", case):
        return []
    others = db.session.scalars(
        select(Case)
        .where(
            Case.ward_id == case.ward_id,
            Case.victim_index == case.victim_index,
            Case.id != case.id,
            access.case_scope(user),
        )
        .order_by(Case.received_at, Case.id)
    ).all()
    return [other for other in others if access.can(user, "case.read", other)]
