"""The one small interface between cases and their data keys.

Provisional (Foundation): every case key is wrapped by the server key. "End-to-end keys"
replaces ServerKeyring with a keyring that seals to desks and opens with the member's key.
"""

from incidents.cases.models import Case, CaseKey
from incidents.crypto import DecryptionError
from incidents.crypto.keywrap import WRAP_SCHEME, unwrap_case_key, wrap_case_key


class ServerKeyring:
    """Wraps and unwraps case data keys with one 256-bit server key."""

    holder = "server"

    def __init__(self, server_key: bytes):
        self._server_key = server_key

    def wrap(self, case: Case, data_key: bytes) -> CaseKey:
        """Return the CaseKey row that stores data_key for this case."""
        return CaseKey(
            case_id=case.id,
            holder=self.holder,
            key_version=case.key_version,
            scheme=WRAP_SCHEME,
            wrapped=wrap_case_key(self._server_key, data_key, case.id, case.key_version),
        )

    def unwrap(self, case: Case, stored: CaseKey | None) -> bytes:
        """Return the case's data key, or raise DecryptionError."""
        if stored is None or stored.scheme != WRAP_SCHEME:
            raise DecryptionError("no usable key for this case")
        return unwrap_case_key(self._server_key, stored.wrapped, case.id, case.key_version)
