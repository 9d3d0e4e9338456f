"""The possible-duplicate hint: a blind index of the victim, sealed per case, compared only
in a desk member's session (the button's POST), over the cases he can read."""

import hashlib
import hmac
import re
import unicodedata

import pytest
from conftest import PASSWORD, make_test_app, report_data, status_change
from sqlalchemy import LargeBinary, MetaData, inspect, select, text, update
from test_canary import (
    _base64_needles,
    _close_instance_logs,
    _sign_in,
    canary_app,  # noqa: F401 (a fixture)
    canary_ward,
    files_under,
    find_canaries,
    new_canary,
)
from test_keys import _server_secrets
from test_migrations import empty_database_url, migration_app  # noqa: F401 (fixtures)

from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import duplicates, service
from incidents.cases.keys import MemberKeyring, case_key_info_for_desk
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import (
    index_key_info,
    new_index_key,
    normalise_name,
    normalise_year,
    victim_index,
)
from incidents.crypto.fields import field_context, open_sealed, open_text
from incidents.crypto.keys import new_seed, open_with, public_key, seal_to
from incidents.wards.models import DESK_KINDS, PARTNER_KINDS, Desk
from incidents.wards.service import create_ward, desk_seed_by_recovery

LAN = "Nguyễn Thị Lan"
HINT = "Có thể trùng lặp (cùng họ tên và năm sinh):"
BUTTON = "Tìm vụ việc có thể trùng lặp"
NONE_FOUND = "Không có vụ việc nào có thể trùng lặp"


def _keyring(user):
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def _case(db, case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def _acknowledge(db, user, case_id):
    """A desk member's first step on a case, through the service (the views' own call)."""
    service.change_status(user, _case(db, case_id), "acknowledged", _keyring(user))
    db.session.commit()


def _file(db, leader, name=LAN, year="1990", perpetrator=None, **changes) -> str:
    """A report filed through the service (the HTTP path is tested where it matters);
    perpetrator: the name and birth year of the person who caused the harm, if known."""
    sealed = {"victim_name": name, "victim_birth_year": year}
    if perpetrator:
        sealed.update(perpetrator_name=perpetrator[0], perpetrator_birth_year=perpetrator[1])
    case = service.file_report(leader, report_data(leader.groups[0].id, sealed=sealed, **changes))
    db.session.commit()
    return case.id


def _page(web, case_id) -> str:
    response = web.get(f"/cases/{case_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _look(web, case_id) -> str:
    """Press the case page's button: its answer is the case page with what was found."""
    response = web.post(f"/cases/{case_id}/duplicates")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="duplicates"' in page and "<h1>" in page  # the case page itself
    return page


def _names(page: str, case) -> bool:
    """Whether the page links to the case by its reference."""
    return f'<a href="/cases/{case.id}">{case.reference}</a>' in page


def _opened_index(user, case) -> str:
    """The case's stored index, opened with the user's keys (as the comparison does)."""
    data_key = _keyring(user).case_key(case)
    return open_text(data_key, case.victim_index, case.id, "victim_index", case.key_version)


# --- Normalisation and the index itself --------------------------------------------------

NORMALISED = [
    ("Nguyễn Thị Lan", "nguyen thi lan"),
    ("Nguyễn  Thị Lan", "nguyen thi lan"),  # two spaces
    ("NGUYỄN THỊ LAN", "nguyen thi lan"),  # capitals with their marks
    ("nguyen thi lan", "nguyen thi lan"),  # typed without diacritics
    (unicodedata.normalize("NFD", "Nguyễn Thị Lan"), "nguyen thi lan"),  # decomposed
    ("  Nguyễn\tThị\n Lan  ", "nguyen thi lan"),  # tabs, line breaks, edges
    ("Đặng Thị Đào", "dang thi dao"),  # đ/Đ have no decomposition
    ("ĐẶNG THỊ ĐÀO", "dang thi dao"),
    ("\u00d0ặng Thị Đào", "dang thi dao"),  # Ð (U+00D0) typed for Đ
    ("Lò-Thị.Ngà,", "lo thi nga"),  # punctuation is a space
    ("Hoàng  -  Thị   Hoà", "hoang thi hoa"),
    ("Ｎguyễn Thị Lan", "nguyen thi lan"),  # a full-width letter (NFKD)
    ("Vì Thị Nga", "vi thi nga"),
    ("Vi Thi Nga", "vi thi nga"),
    (" .-, ", ""),
    ("", ""),
]


@pytest.mark.parametrize(("name", "expected"), NORMALISED)
def test_names_are_normalised(name, expected):
    assert normalise_name(name) == expected


def test_different_names_stay_different_but_marks_are_not_told_apart():
    # Deliberately coarse: a hint for the officer, who reads both cases before merging.
    assert normalise_name("Nguyễn Thị Lan") == normalise_name("Nguyễn Thị Lân")
    assert normalise_name("Nguyễn Thị Lan") != normalise_name("Nguyễn Thị Lam")
    assert normalise_name("Nguyễn Thị Lan") != normalise_name("Nguyễn Lan")


@pytest.mark.parametrize(
    ("year", "expected"),
    [("1990", "1990"), (" 1990 ", "1990"), ("199O", ""), ("", ""), ("19 90", "")],
)
def test_the_birth_year_is_taken_as_given_digits_only(year, expected):
    assert normalise_year(year) == expected


def test_the_index_is_an_hmac_of_the_normalised_name_and_year():
    key = bytes(range(32))
    expected = hmac.new(key, b"nguyen thi lan|1990", hashlib.sha256).hexdigest()
    assert victim_index(key, "NGUYỄN  THỊ LAN", " 1990") == expected
    assert victim_index(key, "nguyen thi lan", "1990") == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert victim_index(key, LAN, "1991") != expected
    assert victim_index(bytes(32), LAN, "1990") != expected  # another ward's key
    assert victim_index(key, "", "1990") is None  # no name, no index
    assert victim_index(key, "..", "1990") is None
    assert victim_index(key, LAN, "") is None  # no year, no index
    assert victim_index(key, LAN, "about 1990") is None
    with pytest.raises(ValueError):
        victim_index(b"short", LAN, "1990")


# --- The hint ------------------------------------------------------------------------------


def test_two_reports_of_one_victim_are_hinted_to_each_other(
    db, client, ward, make_user, file_report, login_as
):
    first_leader = make_user("reporter", groups=[ward.groups[0]])
    second_leader = make_user("reporter", groups=[ward.groups[1]])
    officer = make_user("officer")
    first = file_report(first_leader, victim_name="Nguyễn Thị Lan", victim_birth_year="1990")
    second = file_report(second_leader, victim_name="NGUYEN  THI LAN", victim_birth_year="1990")
    assert _case(db, first).victim_index is None  # filing cannot compute it: no key

    login_as(officer)
    page = _page(client, first)
    assert HINT not in page and BUTTON in page
    ack = client.post(f"/cases/{first}/status", data=status_change(first, "acknowledged"))
    assert ack.status_code == 302
    indexed = _case(db, first)
    assert indexed.version == 2  # one step, one new version: the index rode along
    expected = victim_index(_keyring(officer).index_key(ward), LAN, "1990")
    assert _opened_index(officer, indexed) == expected  # sealed, and the HMAC inside

    page = _look(client, first)  # the second is not indexed yet: it cannot be compared
    assert HINT not in page and not _names(page, _case(db, second))
    assert "Không có vụ việc nào có thể trùng lặp trong 0 vụ việc khác" in page
    assert "1 vụ việc mà bạn xem được chưa thể đối chiếu" in page

    ack = client.post(f"/cases/{second}/status", data=status_change(second, "acknowledged"))
    assert ack.status_code == 302
    one, other = _case(db, first), _case(db, second)
    assert one.victim_index != other.victim_index  # two ciphertexts...
    assert _opened_index(officer, one) == _opened_index(officer, other)  # ...one index
    page = _look(client, second)
    assert HINT in page and _names(page, one)
    page = _look(client, first)
    assert HINT in page and _names(page, other)
    assert "chưa thể đối chiếu" not in page
    assert BUTTON in page  # he may ask again

    # A GET shows the button only: the result was not kept.
    page = _page(client, first)
    assert BUTTON in page and HINT not in page and not _names(page, other)

    # The group leader is shown nothing, and the service refuses him.
    login_as(first_leader)
    assert client.get(f"/cases/{first}").status_code == 302
    read_back = client.get(f"/reports/{first}").get_data(as_text=True)
    assert other.reference not in read_back and HINT not in read_back
    assert client.post(f"/cases/{first}/duplicates").status_code == 404
    with pytest.raises(service.NotAllowed):
        duplicates.look_for_duplicates(first_leader, _case(db, first), _keyring(first_leader))


def test_no_hint_for_another_year_another_ward_or_a_case_out_of_reach(
    db, client, ward, make_ward, make_user, login_as
):
    elsewhere = make_ward(code="EL")
    leader = make_user("reporter")
    police, officer = make_user("police"), make_user("officer")
    far_leader = make_user("reporter", in_ward=elsewhere, groups=[elsewhere.groups[0]])
    far_officer = make_user("officer", in_ward=elsewhere)
    serious = _file(db, leader, immediate_danger=True)  # every desk
    civil = _file(db, leader)  # the officer and the chairman, not the police
    other_year = _file(db, leader, year="1991", immediate_danger=True)
    far = _file(db, far_leader, immediate_danger=True)
    for user, case_id in (
        (police, serious),
        (officer, civil),
        (police, other_year),
        (far_officer, far),
    ):
        _acknowledge(db, user, case_id)
    cases = {case_id: _case(db, case_id) for case_id in (serious, civil, other_year, far)}

    # Another ward's key gives another index for the very same name and year.
    assert _opened_index(far_officer, cases[far]) != _opened_index(officer, cases[serious])
    assert _opened_index(officer, cases[other_year]) != _opened_index(officer, cases[serious])
    assert _opened_index(officer, cases[civil]) == _opened_index(officer, cases[serious])

    login_as(officer)  # the officer reads all three: only the same year is hinted
    page = _look(client, serious)
    assert HINT in page and _names(page, cases[civil])
    assert not _names(page, cases[other_year]) and not _names(page, cases[far])
    found = duplicates.look_for_duplicates(officer, _case(db, serious), _keyring(officer))
    assert [match.id for match in found.matches] == [civil]
    assert (found.compared, found.not_indexed) == (2, 0)  # civil and other_year; never far
    db.session.rollback()


def test_a_police_member_cannot_learn_of_a_case_routed_to_the_officer_and_chairman_only(
    db, client, ward, make_user, login_as
):
    leader, police, officer = make_user("reporter"), make_user("police"), make_user("officer")
    serious = _file(db, leader, immediate_danger=True)  # every desk
    civil = _file(db, leader)  # the officer and the chairman only
    assert {route.desk.kind for route in _case(db, civil).routes} == {"officer", "chairman"}
    _acknowledge(db, officer, civil)
    _acknowledge(db, police, serious)

    login_as(police)
    page = _look(client, serious)
    assert not _names(page, _case(db, civil)) and HINT not in page
    # Not even as a count: the civil case is not among those he compared.
    assert "Không có vụ việc nào có thể trùng lặp trong 0 vụ việc khác" in page
    entry = db.session.execute(
        select(AuditEntry.detail).where(
            AuditEntry.action == "case.index", AuditEntry.actor_id == police.id
        )
    ).scalar_one()
    assert entry == "compared:0,not_indexed:0"
    # His keys hold the ward's index key, yet the civil case's sealed index does not open
    # for him: its case key is sealed to the officer's and the chairman's desks only.
    keyring = _keyring(police)
    assert len(keyring.index_key(ward)) == 32
    with pytest.raises(DecryptionError):
        keyring.case_key(_case(db, civil))
    # The officer, who reads both, is told.
    login_as(officer)
    assert _names(_look(client, serious), _case(db, civil))


def test_merging_the_duplicate_keeps_both_timelines(
    db, client, ward, make_user, file_report, login_as
):
    leader = make_user("reporter")
    officer = make_user("officer")
    kept = file_report(leader, victim_name="Lò Thị Ngà", victim_birth_year="1985")
    duplicate = file_report(leader, victim_name="lo thi nga", victim_birth_year="1985")
    login_as(officer)
    for case_id in (kept, duplicate):
        data = status_change(case_id, "acknowledged")
        assert client.post(f"/cases/{case_id}/status", data=data).status_code == 302
    target = _case(db, kept)
    assert _names(_look(client, duplicate), target)
    kinds = {
        case_id: [event.kind for event in _case(db, case_id).events]
        for case_id in (kept, duplicate)
    }
    assert kinds == {case_id: ["filed", "routed", "status"] for case_id in (kept, duplicate)}

    merge = status_change(
        duplicate,
        "closed",
        close_reason="duplicate",
        merge_into=target.reference,
        why="Cùng một nạn nhân, hai tổ báo cáo",
    )
    assert client.post(f"/cases/{duplicate}/status", data=merge).status_code == 302

    closed, joined = _case(db, duplicate), _case(db, kept)
    assert closed.status == "closed" and closed.merged_into_id == kept
    assert [event.kind for event in closed.events] == ["filed", "routed", "status", "status"]
    assert closed.events[-1].detail["merged_into"] == kept
    assert [event.kind for event in joined.events] == ["filed", "routed", "status", "merged"]
    assert joined.events[-1].detail == {"from": duplicate}
    assert joined.status == "acknowledged"  # the case it joined goes on as it was
    page = _page(client, kept)
    assert f'href="/cases/{duplicate}"' in page  # its timeline points to the duplicate
    assert _names(_look(client, kept), closed)  # and the hint still names it, now closed
    page = _page(client, duplicate)
    assert "Cùng một nạn nhân, hai tổ báo cáo" in page  # its own timeline, reason included
    assert f'<a href="/cases/{kept}">{joined.reference}</a>' in page


# --- The keys ------------------------------------------------------------------------------


def test_the_index_key_is_one_per_ward_and_opens_only_with_a_desk_members_keys(
    db, ward, make_ward, make_user
):
    desk_keys = {role: _keyring(make_user(role)).index_key(ward) for role in ("police", "officer")}
    desk_keys["chairman"] = _keyring(make_user("chairman")).index_key(ward)
    assert len(set(desk_keys.values())) == 1 and len(desk_keys["police"]) == 32
    elsewhere = make_ward(code="EL")
    assert _keyring(make_user("officer", in_ward=elsewhere)).index_key(elsewhere) not in set(
        desk_keys.values()
    )
    for user in (make_user("admin"), make_user("police", seated=False), make_user("reporter")):
        with pytest.raises(DecryptionError):
            _keyring(user).index_key(ward)
    with pytest.raises(DecryptionError):  # an officer of another ward: no desk of this one
        _keyring(make_user("officer", in_ward=elsewhere)).index_key(ward)
    # Each copy is bound to its ward and desk: moved to another desk's info, it fails.
    police_desk, officer_desk = ward.desk("police"), ward.desk("officer")
    seat = make_user("police").seats[0]
    seed = _keyring(seat.user).desk_seed(police_desk.id)
    with pytest.raises(DecryptionError):
        open_with(seed, police_desk.index_sealed_key, index_key_info(ward.id, officer_desk.id))
    with pytest.raises(DecryptionError):
        open_with(seed, police_desk.index_sealed_key, index_key_info(elsewhere.id, police_desk.id))


def test_the_index_cannot_be_recomputed_from_the_database_and_the_server_secrets(
    app, db, ward, make_user
):
    leader, officer = make_user("reporter"), make_user("officer")
    for role in ("police", "chairman", "admin"):
        make_user(role)
    case_id = _file(db, leader)
    _acknowledge(db, officer, case_id)
    case = _case(db, case_id)
    assert case.victim_index is not None
    index = _opened_index(officer, case)  # what the sealed value holds
    context = field_context(case.id, "victim_index", case.key_version)

    candidates = _server_secrets(app)
    metadata = MetaData()
    metadata.reflect(db.engine)
    for table in metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, LargeBinary)]
        for row in db.session.execute(select(*columns)).all() if columns else ():
            for value in row:
                if value and len(value) >= 32:
                    value = bytes(value)
                    candidates += [value[:32], value[-32:]]
    assert len(candidates) > 40  # the search gathered the server's material
    desks = db.session.scalars(
        select(Desk).where(Desk.ward_id == ward.id, Desk.index_sealed_key.is_not(None))
    ).all()
    assert sorted(desk.kind for desk in desks) == sorted(DESK_KINDS)  # partners hold none
    for candidate in candidates:
        # As the index key itself, the candidate gives another index...
        assert victim_index(candidate, LAN, "1990") != index
        # ...as the case key it does not open the sealed index...
        with pytest.raises(DecryptionError):
            open_sealed(candidate, case.victim_index, context)
        # ...and as a desk's seed it opens no sealed copy of the index key.
        for desk in desks:
            with pytest.raises(DecryptionError):
                open_with(candidate, desk.index_sealed_key, index_key_info(ward.id, desk.id))
    # A desk member's keys recompute it: the search above could have found a key.
    assert victim_index(_keyring(officer).index_key(ward), LAN, "1990") == index


def test_a_new_ward_seals_its_index_key_to_each_desk_and_to_nothing_else(db, recovery_keys):
    ward, recovery_seed = create_ward(None, code="NW", name="Phường Mới")
    db.session.commit()
    keys = set()
    assert all(desk.index_sealed_key is None for desk in ward.desks if desk.kind in PARTNER_KINDS)
    for desk in (desk for desk in ward.desks if desk.kind in DESK_KINDS):
        desk_seed = desk_seed_by_recovery(desk, recovery_seed)
        keys.add(open_with(desk_seed, desk.index_sealed_key, index_key_info(ward.id, desk.id)))
        with pytest.raises(DecryptionError):  # not sealed to the recovery key itself
            open_with(recovery_seed, desk.index_sealed_key, index_key_info(ward.id, desk.id))
    assert len(keys) == 1 and len(keys.pop()) == 32


# --- The button ----------------------------------------------------------------------------


def test_the_button_indexes_and_compares_without_a_new_version_and_is_audited(
    db, client, make_user, file_report, login_as
):
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader, victim_name=LAN, victim_birth_year="1990")
    nameless = file_report(leader, victim_name="", victim_birth_year="1990")
    login_as(officer)
    page = _page(client, nameless)
    assert "không thể đối chiếu" in page and BUTTON not in page  # nothing to compare
    before = _case(db, case_id)
    version, status = before.version, before.status

    page = _look(client, case_id)
    assert LAN in page  # the case page itself, its read audited as ever
    assert "Không có vụ việc nào có thể trùng lặp trong 0 vụ việc khác" in page
    assert "1 vụ việc mà bạn xem được chưa thể đối chiếu" in page  # the nameless one
    after = _case(db, case_id)
    expected = victim_index(_keyring(officer).index_key(after.ward), LAN, "1990")
    assert _opened_index(officer, after) == expected
    assert (after.version, after.status) == (version, status)  # no change anyone decides on
    sealed = after.victim_index
    log = _page(client, case_id).split("Ai đã xem vụ việc này")[1]  # the case's access log
    assert "Kiểm tra vụ việc có thể trùng" in log  # names the step
    _look(client, case_id)  # idempotent: the same index, the same ciphertext, no version
    assert (_case(db, case_id).victim_index, _case(db, case_id).version) == (sealed, version)

    page = _look(client, nameless)
    assert "không thể đối chiếu" in page
    assert _case(db, nameless).victim_index is None
    entries = db.session.execute(
        select(AuditEntry.target, AuditEntry.detail, AuditEntry.actor_id)
        .where(AuditEntry.action == "case.index")
        .order_by(AuditEntry.seq)
    ).all()
    assert entries == [
        (case_id, "compared:0,not_indexed:1", officer.id),
        (case_id, "compared:0,not_indexed:1", officer.id),
        (nameless, "no_index", officer.id),
    ]


def test_the_audit_log_counts_what_was_compared_never_what_matched(db, client, make_user, login_as):
    leader, officer = make_user("reporter"), make_user("officer")
    # A guess filed on purpose, and the real case of that name; and a case of another.
    guess, real = _file(db, leader), _file(db, leader)
    other = _file(db, leader, name="Trần Thị Bình")
    for case_id in (guess, real, other):
        _acknowledge(db, officer, case_id)
    login_as(officer)
    assert _names(_look(client, guess), _case(db, real))
    assert not _names(_look(client, other), _case(db, real))
    details = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "case.index").order_by(AuditEntry.seq)
    ).all()
    assert details == ["compared:2,not_indexed:0"] * 2  # a match and none: the same entry


def test_the_comparison_takes_the_same_statements_for_3_cases_as_for_12(db, make_user):
    from test_queue import counted_statements

    leader, officer = make_user("reporter"), make_user("officer")
    counts = []
    for total in (3, 12):
        ids = [_file(db, leader) for _ in range(total)]
        for case_id in ids:
            _acknowledge(db, officer, case_id)
        case, keyring = _case(db, ids[0]), _keyring(officer)
        keyring.index_key(case.ward)  # what any first use of the keyring loads, once
        with counted_statements(db.engine) as statements:
            found = duplicates.look_for_duplicates(officer, case, keyring)
        db.session.rollback()
        counts.append(len(statements))
        assert len(found.matches) == found.compared  # one victim: every case it compared
    assert found.compared == 3 + 12 - 1
    assert counts[0] == counts[1] and counts[0] <= 8, counts


def test_a_get_decrypts_no_other_case(db, client, make_user, login_as):
    leader, officer = make_user("reporter"), make_user("officer")
    first, second = _file(db, leader), _file(db, leader)
    for case_id in (first, second):
        _acknowledge(db, officer, case_id)
    # The second case's sealed index is damaged: a GET of the first does not open it...
    damaged = bytearray(_case(db, second).victim_index)
    damaged[-1] ^= 1
    db.session.execute(update(Case).where(Case.id == second).values(victim_index=bytes(damaged)))
    db.session.commit()
    login_as(officer)
    page = _page(client, first)
    assert BUTTON in page and HINT not in page
    # ...while the comparison does, and fails securely: no partial answer, nothing written.
    response = client.post(f"/cases/{first}/duplicates")
    assert response.status_code == 500
    assert HINT not in response.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-1] == "case.decrypt_failure" and "case.index" not in actions


def test_the_button_does_not_make_a_colleagues_pending_change_a_conflict(
    app, db, make_user, file_report, login_as
):
    leader, officer, chairman = make_user("reporter"), make_user("officer"), make_user("chairman")
    case_id = file_report(leader)
    officer_web, chairman_web = app.test_client(), app.test_client()
    login_as(officer, on=officer_web)
    login_as(chairman, on=chairman_web)
    pending = status_change(case_id, "acknowledged")  # the chairman's page, opened now

    assert officer_web.post(f"/cases/{case_id}/duplicates").status_code == 200
    assert _case(db, case_id).victim_index is not None
    response = chairman_web.post(f"/cases/{case_id}/status", data=pending)
    assert response.status_code == 302  # his change went through: no conflict
    assert _case(db, case_id).status == "acknowledged"

    # A real change meanwhile still is a conflict (the check the button must not trip).
    pending = status_change(case_id, "closed", close_reason="resolved", why="đã xong")
    moved = status_change(case_id, "in_progress", why="bắt đầu xử lý")
    assert officer_web.post(f"/cases/{case_id}/status", data=moved).status_code == 302
    assert chairman_web.post(f"/cases/{case_id}/status", data=pending).status_code == 409


def test_the_button_refuses_a_leader_an_admin_and_another_wards_police(
    db, client, make_ward, make_user, file_report, login_as
):
    elsewhere = make_ward(code="EL")
    leader = make_user("reporter")
    refused = [leader, make_user("admin"), make_user("police", in_ward=elsewhere)]
    case_id = file_report(leader, immediate_danger="yes")  # routed to every desk
    version = _case(db, case_id).version
    for user in refused:
        login_as(user)
        assert client.post(f"/cases/{case_id}/duplicates").status_code == 404
    case = _case(db, case_id)
    assert (case.victim_index, case.version, case.status) == (None, version, "new")
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "case.index" not in actions
    # The service refuses them too, whatever calls it.
    for user in refused:
        with pytest.raises(service.NotAllowed):
            duplicates.look_for_duplicates(user, case, _keyring(user))
        with pytest.raises(service.NotAllowed):
            duplicates.index_case(user, case, _keyring(user))
    assert _case(db, case_id).victim_index is None


def test_the_button_carries_a_csrf_token_and_is_refused_without_one(
    app, db, make_user, file_report, tmp_path
):
    from conftest import login_data

    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    csrf_app = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), WTF_CSRF_ENABLED=True
    )
    try:
        web = csrf_app.test_client()
        page = web.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert (
            web.post("/login", data={**login_data(officer), "csrf_token": token}).status_code == 302
        )
        page = web.get(f"/cases/{case_id}").get_data(as_text=True)
        form = re.search(
            rf'<form method="post" action="/cases/{case_id}/duplicates">(.*?)</form>', page, re.S
        )
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.group(1))
        assert token, "the button's form carries no CSRF token"
        assert web.post(f"/cases/{case_id}/duplicates").status_code == 400
        assert _case(db, case_id).victim_index is None  # refused: nothing changed
        sent = web.post(f"/cases/{case_id}/duplicates", data={"csrf_token": token.group(1)})
        assert sent.status_code == 200
        assert _case(db, case_id).victim_index is not None
    finally:
        with csrf_app.app_context():
            from incidents.extensions import db as csrf_db

            csrf_db.engine.dispose()


# --- Nothing comparable in the database ----------------------------------------------------

# The columns of a case row that may hold the same value in two cases: ids and references,
# times, versions, and the clear categorical codes (DOMAIN.md section 2). Every other
# column must differ between two cases of the same victim.
COMPARABLE_BY_DESIGN = {
    "id",
    "ward_id",
    "group_id",
    "reporter_id",
    "year",
    "sequence",
    "reference",
    "kinds",
    "harm_forms",
    "acts",
    "gbv_type",
    "context_flags",
    "immediate_danger",
    "urgency",
    "status",
    "close_reason",
    "victim_sex",
    "victim_age_band",
    "victim_circumstances",
    "trafficking_indicators",
    "child_serious_risk",
    "child_caregiver",
    "perpetrator_relationship",
    "perpetrator_sex",
    "perpetrator_age_band",
    "channel",
    "source",
    "receiving_point",
    "consent",
    "consent_statistics",
    "signs_of_crime",
    "incident_date",
    "received_at",
    "routing_reason",
    "key_version",
    "submission_key",
    "handler_id",
    "merged_into_id",
    "version",
    # the reporter's public key, the same for all his cases: no more than reporter_id says
    "reporter_sealed_to",
    # verification: its state, who and when, the facts as reported, the verified codes
    "verification",
    "verified_at",
    "verified_by_id",
    "reported",
    "trafficking_status",
    "trafficking_whereabouts",
    "trafficking_purposes",
    "child_abuse_forms",
    "child_abuse_environments",
    "criminal_procedure_at",
}


def test_the_database_holds_no_value_equal_for_two_cases_of_one_victim(
    db, client, make_user, login_as
):
    leader, officer = make_user("reporter"), make_user("officer")
    same_man = ("Trần Văn Bình", "1980")
    first, second = _file(db, leader, perpetrator=same_man), _file(db, leader, perpetrator=same_man)
    for case_id in (first, second):
        _acknowledge(db, officer, case_id)
    login_as(officer)
    assert _names(_look(client, first), _case(db, second))  # the hint works...

    table = Case.__table__
    rows = {
        row.id: row._mapping
        for row in db.session.execute(select(table).where(table.c.id.in_([first, second])))
    }
    names = {column.name for column in table.columns}
    assert COMPARABLE_BY_DESIGN <= names  # the list names real columns
    others = names - COMPARABLE_BY_DESIGN
    assert {"victim_index", "victim_name", "victim_birth_year", "narrative"} <= others
    assert {"perpetrator_index", "perpetrator_name", "perpetrator_birth_year"} <= others
    one, two = rows[first], rows[second]
    assert one["victim_index"] is not None and two["victim_index"] is not None
    assert one["perpetrator_index"] is not None and two["perpetrator_index"] is not None
    for name in others:
        if one[name] is None and two[name] is None:
            continue  # a field both reports left empty (the victim's phone, say)
        assert one[name] != two[name], name  # ...yet no column compares equal
    # And no column of the schema is an index on the victim any more.
    indexed = {
        column
        for index in inspect(db.engine).get_indexes("cases")
        for column in index["column_names"]
    }
    assert not {"victim_index", "perpetrator_index"} & indexed


def test_a_planted_index_key_lets_a_database_writer_test_no_guessed_name(
    app, db, ward, make_user, client, login_as
):
    leader, officer = make_user("reporter"), make_user("officer")
    for role in ("police", "chairman"):
        make_user(role)
    # The database writer chooses a key K and seals it to every desk's public key, as the
    # ward's own index key is (HPKE base mode does not tell who sealed).
    planted = new_index_key()
    for desk in db.session.scalars(select(Desk).where(Desk.ward_id == ward.id)):
        desk.index_sealed_key = seal_to(desk.public_key, planted, index_key_info(ward.id, desk.id))
    db.session.commit()
    assert _keyring(officer).index_key(ward) == planted  # the members now use his key

    # Later, the real report of the victim, and his guess of her, are both indexed.
    real, guess = _file(db, leader), _file(db, leader, name="NGUYEN THI LAN")
    for case_id in (real, guess):
        _acknowledge(db, officer, case_id)
    login_as(officer)
    assert _names(_look(client, guess), _case(db, real))  # the members' hint still works

    # He reads the database again, knowing K: the index of his guess is nowhere in it.
    token = victim_index(planted, LAN, "1990")
    needles = [token.encode(), bytes.fromhex(token), token.encode("utf-16-le")]
    metadata = MetaData()
    metadata.reflect(db.engine)
    for table in metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            for value in row:
                raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                assert not [needle for needle in needles if needle in raw], table.name
    # The sealed indexes open only under the case keys, which K does not open; nor does
    # anything else the server holds.
    candidates = [planted, *_server_secrets(app)]
    for case_id in (real, guess):
        case = _case(db, case_id)
        context = field_context(case.id, "victim_index", case.key_version)
        for candidate in candidates:
            with pytest.raises(DecryptionError):
                open_sealed(candidate, case.victim_index, context)
            for route in case.routes:
                with pytest.raises(DecryptionError):
                    info = case_key_info_for_desk(case.id, case.key_version, route.desk_id)
                    open_with(candidate, route.sealed_key, info)
    # The audit log does not tell him either whether his guess matched (counts only).
    details = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "case.index")
    ).all()
    assert details == ["compared:1,not_indexed:0"]


# --- No name in the clear ------------------------------------------------------------------


def _normalised_needles(canary: str) -> list[bytes]:
    normalised = normalise_name(canary)
    needles = []
    for form in (normalised, f"{normalised}|1990", normalised.upper()):
        raw = form.encode()
        needles += [raw, form.encode("utf-16-le"), *_base64_needles(raw)]
    return needles


def test_no_victim_name_in_the_clear_anywhere(canary_app, totp_secrets):  # noqa: F811
    application, instance, _database = canary_app
    client = application.test_client()
    canary = new_canary("victim")
    # The second report spells her name otherwise: capitals, no diacritics, two spaces.
    respelled = unicodedata.normalize("NFKD", canary).upper().replace(" ", "  ")
    respelled = "".join(char for char in respelled if not unicodedata.combining(char))
    with application.app_context():
        from flask_migrate import upgrade

        from incidents.extensions import db

        upgrade()
        _ward, group, users, _seed = canary_ward("dup", ("reporter", "officer"))
        ids = [
            service.file_report(
                users["reporter"],
                report_data(group.id, sealed={"victim_name": name, "victim_birth_year": "1990"}),
            ).id
            for name in (canary, respelled)
        ]
        db.session.commit()

        _sign_in(client, users["officer"])
        first, second = ids
        ack = client.post(f"/cases/{first}/status", data=status_change(first, "acknowledged"))
        assert ack.status_code == 302
        assert client.post(f"/cases/{second}/duplicates").status_code == 200
        response = client.post(f"/cases/{first}/duplicates")
        page = response.get_data(as_text=True)
        assert canary in page and HINT in page  # the real flow ran: read, indexed, hinted
        assert db.session.get(Case, second).reference in page
        client.post("/logout")
        db.session.remove()
        assert find_canaries(instance, [canary, respelled]) == []
        db.engine.dispose()
    _close_instance_logs(application, instance)

    assert find_canaries(instance, [canary, respelled]) == []
    needles = _normalised_needles(canary)
    for path in files_under(instance):
        content = path.read_bytes()
        assert not [needle for needle in needles if needle in content], path


# --- The migration -------------------------------------------------------------------------


def test_the_migration_seals_an_index_key_for_every_existing_ward(migration_app):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from incidents.extensions import db

    upgrade(revision="0009")  # the revision before the index
    seeds = {}
    with db.engine.begin() as connection:
        for ward_id in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO wards (id, code, name, created_at, recovery_public_key) "
                    "VALUES (:id, :code, 'P', '2026-01-01', :key)"
                ),
                {"id": ward_id, "code": f"W{ward_id}", "key": public_key(new_seed())},
            )
            for number, kind in enumerate(("police", "officer", "chairman")):
                desk_id = ward_id * 10 + number
                seeds[desk_id] = (ward_id, new_seed())
                connection.execute(
                    text(
                        "INSERT INTO desks (id, ward_id, kind, public_key, recovery_sealed_key) "
                        "VALUES (:id, :ward, :kind, :key, :sealed)"
                    ),
                    {
                        "id": desk_id,
                        "ward": ward_id,
                        "kind": kind,
                        "key": public_key(seeds[desk_id][1]),
                        "sealed": seal_to(public_key(new_seed()), b"x", "unused"),
                    },
                )
    upgrade(revision="0010")
    keys = {1: set(), 2: set()}
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, index_sealed_key FROM desks")).all()
    assert len(rows) == 6
    for desk_id, sealed in rows:
        ward_id, seed = seeds[desk_id]
        keys[ward_id].add(open_with(seed, bytes(sealed), index_key_info(ward_id, desk_id)))
    assert [len(found) for found in keys.values()] == [1, 1]  # one key per ward...
    assert keys[1] != keys[2]  # ...and each ward its own
    columns = {column["name"]: column for column in inspect(db.engine).get_columns("cases")}
    assert isinstance(columns["victim_index"]["type"], LargeBinary)  # a sealed value...
    assert (
        not [  # ...with nothing to look it up by
            index
            for index in inspect(db.engine).get_indexes("cases")
            if "victim_index" in index["column_names"]
        ]
    )

    downgrade(revision="0009")
    assert "index_sealed_key" not in {
        column["name"] for column in inspect(db.engine).get_columns("desks")
    }
    assert "victim_index" not in {
        column["name"] for column in inspect(db.engine).get_columns("cases")
    }
