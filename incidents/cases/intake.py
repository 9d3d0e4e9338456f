"""The printable intake record: a case decrypted for paper, at request time, audited.

Nothing of it is stored: the page is rendered from this and sent with no-store.
"""

from incidents import access
from incidents.audit.service import record
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import SEALED_FIELDS, Case
from incidents.cases.service import NotAllowed
from incidents.crypto.fields import open_text
from incidents.extensions import db


def read_for_print(user, case: Case, keyring: MemberKeyring) -> dict[str, str]:
    """The case's sealed fields, decrypted for its intake record; audited as case.print.

    All or nothing: a field that fails to open raises DecryptionError, and nothing is
    audited as printed.
    """
    if not access.can(user, "case.print", case):
        raise NotAllowed("case.print")
    data_key = keyring.case_key(case)
    fields = {
        name: open_text(data_key, getattr(case, name), case.id, name, case.key_version)
        for name in SEALED_FIELDS
        if getattr(case, name) is not None
    }
    record("case.print", actor=user, target=case.id)
    db.session.flush()
    return fields
