"""The possible-duplicate hint: a blind index of the victim, keyed by the ward's desks only."""

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
    files_under,
    find_canaries,
    new_canary,
)
from test_keys import _server_secrets
from test_migrations import empty_database_url, migration_app  # noqa: F401 (fixtures)

from incidents.accounts.service import create_user, unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import duplicates, service
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.crypto.blind_index import (
    index_key_info,
    normalise_name,
    normalise_year,
    victim_index,
)
from incidents.crypto.keys import new_seed, open_with, public_key, seal_to
from incidents.wards.models import DESK_KINDS, PARTNER_KINDS, Desk
from incidents.wards.service import add_group, create_ward, desk_seed_by_recovery, grant_seat
from incidents.web import argon2_params

LAN = "Nguyễn Thị Lan"
HINT = "Có thể trùng lặp (cùng họ tên và năm sinh):"
BUTTON = "Tìm vụ việc có thể trùng lặp"


def _keyring(user):
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def _case(db, case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def _acknowledge(db, user, case_id):
    """A desk member's first step on a case, through the service (the views' own call)."""
    service.change_status(user, _case(db, case_id), "acknowledged", _keyring(user))
    db.session.commit()


def _file(db, leader, name=LAN, year="1990", **changes) -> str:
    """A report filed through the service (the HTTP path is tested where it matters)."""
    sealed = {"victim_name": name, "victim_birth_year": year}
    case = service.file_report(leader, report_data(leader.groups[0].id, sealed=sealed, **changes))
    db.session.commit()
    return case.id


def _page(web, case_id) -> str:
    response = web.get(f"/cases/{case_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _names(page: str, case) -> bool:
    """Whether the page links to the case by its reference."""
    return f'<a href="/cases/{case.id}">{case.reference}</a>' in page


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
    assert HINT not in page and BUTTON in page  # not compared yet: the button offers to
    ack = client.post(f"/cases/{first}/status", data=status_change(first, "acknowledged"))
    assert ack.status_code == 302
    indexed = _case(db, first)
    assert re.fullmatch(r"[0-9a-f]{64}", indexed.victim_index)
    assert indexed.version == 2  # one step, one new version: the index rode along
    assert HINT not in _page(client, first)  # the second is not indexed yet

    ack = client.post(f"/cases/{second}/status", data=status_change(second, "acknowledged"))
    assert ack.status_code == 302
    one, other = _case(db, first), _case(db, second)
    assert one.victim_index == other.victim_index
    page = _page(client, second)
    assert HINT in page and _names(page, one)
    page = _page(client, first)
    assert HINT in page and _names(page, other)
    assert BUTTON not in page

    # The group leader is shown nothing: his page of the case is his report, and the
    # service answers him with no duplicates.
    login_as(first_leader)
    assert client.get(f"/cases/{first}").status_code == 302
    read_back = client.get(f"/reports/{first}").get_data(as_text=True)
    assert other.reference not in read_back and HINT not in read_back
    assert duplicates.possible_duplicates(first_leader, _case(db, first)) == []


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
    assert cases[far].victim_index != cases[serious].victim_index
    assert cases[other_year].victim_index != cases[serious].victim_index
    assert cases[civil].victim_index == cases[serious].victim_index

    login_as(police)  # he cannot read the civil case: it is not hinted to him
    page = _page(client, serious)
    assert not any(_names(page, cases[case_id]) for case_id in (civil, other_year, far))
    assert HINT not in page
    login_as(officer)  # the officer reads both: the same pair is hinted to him
    page = _page(client, serious)
    assert HINT in page and _names(page, cases[civil])
    assert not _names(page, cases[other_year]) and not _names(page, cases[far])

    # Never across wards, even with an index made equal by hand.
    db.session.execute(
        update(Case).where(Case.id == far).values(victim_index=cases[serious].victim_index)
    )
    db.session.commit()
    assert not _names(_page(client, serious), _case(db, far))
    assert [c.id for c in duplicates.possible_duplicates(officer, _case(db, serious))] == [civil]


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
    assert _names(_page(client, duplicate), target)
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
    assert _names(page, closed)  # and the hint still names it, now closed
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
        assert victim_index(candidate, LAN, "1990") != case.victim_index
        # ...and as a desk's seed it opens no sealed copy of the index key.
        for desk in desks:
            with pytest.raises(DecryptionError):
                open_with(candidate, desk.index_sealed_key, index_key_info(ward.id, desk.id))
    # A desk member's keys recompute it: the search above could have found a key.
    assert victim_index(_keyring(officer).index_key(ward), LAN, "1990") == case.victim_index


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


def test_the_button_indexes_the_case_without_a_new_version_and_is_audited(
    db, client, make_user, file_report, login_as
):
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader, victim_name=LAN, victim_birth_year="1990")
    nameless = file_report(leader, victim_name="", victim_birth_year="1990")
    login_as(officer)
    assert "không thể đối chiếu" in _page(client, nameless)  # nothing to compare: no button
    before = _case(db, case_id)
    version, status = before.version, before.status

    response = client.post(f"/cases/{case_id}/duplicates")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case_id}"
    after = _case(db, case_id)
    expected = victim_index(_keyring(officer).index_key(after.ward), LAN, "1990")
    assert after.victim_index == expected
    assert (after.version, after.status) == (version, status)  # no change anyone decides on
    page = _page(client, case_id)
    assert "Đã đối chiếu vụ việc với các vụ việc khác của phường." in page
    assert "case.index" in page  # the case's access log names the step
    assert client.post(f"/cases/{case_id}/duplicates").status_code == 302  # idempotent
    assert (_case(db, case_id).victim_index, _case(db, case_id).version) == (expected, version)

    assert client.post(f"/cases/{nameless}/duplicates").status_code == 302
    assert _case(db, nameless).victim_index is None
    entries = db.session.execute(
        select(AuditEntry.target, AuditEntry.detail, AuditEntry.actor_id)
        .where(AuditEntry.action == "case.index")
        .order_by(AuditEntry.seq)
    ).all()
    assert entries == [
        (case_id, "indexed", officer.id),
        (case_id, "indexed", officer.id),
        (nameless, "no_index", officer.id),
    ]


def test_the_button_does_not_make_a_colleagues_pending_change_a_conflict(
    app, db, make_user, file_report, login_as
):
    leader, officer, chairman = make_user("reporter"), make_user("officer"), make_user("chairman")
    case_id = file_report(leader)
    officer_web, chairman_web = app.test_client(), app.test_client()
    login_as(officer, on=officer_web)
    login_as(chairman, on=chairman_web)
    pending = status_change(case_id, "acknowledged")  # the chairman's page, opened now

    assert officer_web.post(f"/cases/{case_id}/duplicates").status_code == 302
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
    with pytest.raises(service.NotAllowed):
        duplicates.index_case(leader, case, _keyring(leader))
    assert duplicates.possible_duplicates(refused[1], case) == []
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
        assert sent.status_code == 302
        assert _case(db, case_id).victim_index is not None
    finally:
        with csrf_app.app_context():
            from incidents.extensions import db as csrf_db

            csrf_db.engine.dispose()


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
        ward, recovery_seed = create_ward(None, code="CN", name="Phường Kiểm Tra")
        group = add_group(None, ward, name="Tổ dân phố số 7")
        users = {
            role: create_user(
                None,
                ward=ward,
                username=f"{role}-dup",
                display_name=f"Canary {role}",
                role=role,
                password=PASSWORD,
                params=argon2_params(),
                chosen_by_owner=True,
                groups=[group] if role == "reporter" else [],
            )
            for role in ("reporter", "officer")
        }
        desk = ward.desk("officer")
        grant_seat(None, desk, users["officer"], desk_seed_by_recovery(desk, recovery_seed))
        db.session.commit()
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
        assert client.post(f"/cases/{second}/duplicates").status_code == 302
        page = client.get(f"/cases/{first}").get_data(as_text=True)
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
    assert "victim_index" in {column["name"] for column in inspect(db.engine).get_columns("cases")}

    downgrade(revision="0009")
    assert "index_sealed_key" not in {
        column["name"] for column in inspect(db.engine).get_columns("desks")
    }
    assert "victim_index" not in {
        column["name"] for column in inspect(db.engine).get_columns("cases")
    }
