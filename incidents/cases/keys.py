"""Sealing case keys to desks and reporters, and opening them with a member's key.

A case's data key is sealed with HPKE to the public key of every desk it is routed to and
to its reporter. Opening needs a member's personal seed, which lives only in his
server-side session: personal seed → his seat's desk seed → the route's case key. The
ward's index key (for the duplicate hint) opens the same way: → the desk's sealed copy.
"""

from incidents.accounts.models import User
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import index_key_info
from incidents.crypto.keys import open_with, public_key, seal_to
from incidents.wards.models import Desk, Ward
from incidents.wards.trust import trusted_desk_key


def case_key_info_for_desk(case_id: str, key_version: int, desk_id: int) -> str:
    """What a case key sealed to a desk is bound to."""
    return f"incidents/case-key/v1|{case_id}|{key_version}|desk:{desk_id}"


def case_key_info_for_reporter(case_id: str, key_version: int, user_id: int) -> str:
    """What a case key sealed to its reporter is bound to."""
    return f"incidents/case-key/v1|{case_id}|{key_version}|user:{user_id}"


def desk_key_info_for_member(desk_id: int, user_id: int) -> str:
    """What a desk key sealed to a member is bound to."""
    return f"incidents/desk-key/v1|{desk_id}|user:{user_id}"


def desk_key_info_for_recovery(desk_id: int, ward_id: int) -> str:
    """What a desk key sealed to the ward's recovery key is bound to."""
    return f"incidents/desk-key/v1|{desk_id}|recovery:{ward_id}"


def sealed_route(case: Case, desk: Desk, data_key: bytes, routed_at) -> dict:
    """The values of a case_routes row: the route to desk, with the case key sealed to it
    (once the ward's signature vouches for the desk's key: wards.trust)."""
    return {
        "case_id": case.id,
        "desk_id": desk.id,
        "routed_at": routed_at,
        "sealed_key": seal_to(
            trusted_desk_key(desk),
            data_key,
            case_key_info_for_desk(case.id, case.key_version, desk.id),
        ),
    }


def seal_for_reporter(case: Case, reporter: User, public: bytes, data_key: bytes) -> bytes:
    """The case key sealed to the reporter's personal key: public is the key his own
    session gives, or the one a desk member checked with him — never the row alone."""
    return seal_to(
        public,
        data_key,
        case_key_info_for_reporter(case.id, case.key_version, reporter.id),
    )


class KeyUnavailable(DecryptionError):
    """This session holds no personal key: the member's key awaits restoration."""


class MemberKeyring:
    """Opens case keys for one signed-in user with his personal seed (from his session)."""

    def __init__(self, user: User, personal_seed: bytes | None):
        self.user = user
        self._seed = personal_seed
        # Desk seeds opened so far: a keyring lives for one request, and the duplicate
        # hint opens hundreds of case keys through the same one or two desks.
        self._desk_seeds: dict[int, bytes] = {}

    @property
    def unlocked(self) -> bool:
        """Whether the user's personal key is available in this session."""
        return self._seed is not None

    def personal_seed(self) -> bytes:
        """The user's own seed, or DecryptionError when this session has none."""
        if self._seed is None:
            raise KeyUnavailable("this session holds no personal key")
        return self._seed

    def own_public_key(self) -> bytes | None:
        """The user's public key as his private key gives it (never re-read from the row
        someone may have swapped), or None while his session holds no key."""
        return None if self._seed is None else public_key(self._seed)

    def desk_seed(self, desk_id: int) -> bytes:
        """The private seed of a desk the user sits at."""
        if desk_id in self._desk_seeds:
            return self._desk_seeds[desk_id]
        seat = next((seat for seat in self.user.seats if seat.desk_id == desk_id), None)
        if seat is None:
            raise DecryptionError("not a member of this desk")
        seed = open_with(
            self.personal_seed(), seat.sealed_key, desk_key_info_for_member(desk_id, self.user.id)
        )
        self._desk_seeds[desk_id] = seed
        return seed

    def case_key(self, case: Case) -> bytes:
        """The case's data key, through the user's desk or as its reporter.

        A desk member who recorded a report reads it through his desk like any other.
        """
        for route in case.routes:
            if route.desk_id in self.user.desk_ids:
                return self.route_key(case.id, case.key_version, route.desk_id, route.sealed_key)
        if case.reporter_id == self.user.id and case.reporter_sealed_key is not None:
            return open_with(
                self.personal_seed(),
                case.reporter_sealed_key,
                case_key_info_for_reporter(case.id, case.key_version, self.user.id),
            )
        raise DecryptionError("no key of this case is sealed to this user or his desks")

    def route_key(self, case_id: str, key_version: int, desk_id: int, sealed_key: bytes) -> bytes:
        """A case's data key from its route to one of the user's desks (a loaded row)."""
        return open_with(
            self.desk_seed(desk_id),
            bytes(sealed_key),
            case_key_info_for_desk(case_id, key_version, desk_id),
        )

    def index_key(self, ward: Ward) -> bytes:
        """The ward's index key, through a desk of that ward the user sits at."""
        for seat in self.user.seats:
            if seat.desk.ward_id == ward.id and seat.desk.index_sealed_key is not None:
                return open_with(
                    self.desk_seed(seat.desk_id),
                    seat.desk.index_sealed_key,
                    index_key_info(ward.id, seat.desk_id),
                )
        raise DecryptionError("no desk of this ward is this user's")
