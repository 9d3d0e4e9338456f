"""SECURITY.md property 1, no plaintext at rest: after the whole flow, no canary on disk.

The app of this module has an instance folder of its own (its SQLite file, its log, its
generated keys), so everything in that folder comes from this test. It runs once, on
SQLite, whatever TEST_DATABASE_URL says: the point is to search the bytes of the files.
"""

import base64
import json
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from conftest import (
    PASSWORD,
    YEAR_FIELDS,
    enrol_on_page,
    login_data,
    make_test_app,
    post_report,
    report_data,
    report_form,
    status_change,
)
from flask_migrate import upgrade

from incidents.accounts.service import create_user
from incidents.cases import service
from incidents.cases.models import SEALED_FIELDS, Case
from incidents.crypto.keys import format_recovery_key, key_fingerprint
from incidents.extensions import db
from incidents.timeutil import ward_today
from incidents.wards.service import add_group, create_ward, seat_by_recovery
from incidents.web import argon2_params

# --- The search -------------------------------------------------------------------------


def _base64_needles(data: bytes) -> list[bytes]:
    """Base64 of data at each of the three alignments it can have inside a longer value."""
    needles = []
    for shift in range(3):
        part = data[shift:]
        part = part[: len(part) - len(part) % 3]
        encoded = base64.b64encode(part)
        needles += [encoded, base64.urlsafe_b64encode(part)]
    return needles


def canary_needles(canary: str) -> dict[str, list[bytes]]:
    """The byte strings that betray the canary: its encodings, and its ASCII token alone."""
    utf8 = canary.encode("utf-8")
    token = canary[canary.index("CANARY-") :]  # survives \\u escapes, NFD, HTML entities
    quoted = quote(canary)
    return {
        "utf-8": [utf8],
        "utf-16-le": [canary.encode("utf-16-le")],
        "utf-16-be": [canary.encode("utf-16-be")],
        "base64": _base64_needles(utf8),
        "url-quote": [quoted.encode(), quoted.lower().encode()],
        "url-quote-plus": [quote_plus(canary).encode(), quote_plus(canary).lower().encode()],
        "token": [
            token.encode("ascii"),
            token.encode("utf-16-le"),
            token.encode("utf-16-be"),
            *_base64_needles(token.encode("ascii")),
        ],
    }


def files_under(folder: Path) -> list[Path]:
    """Every regular file under folder, hidden ones and subfolders included."""
    found = []
    for root, _dirs, names in os.walk(folder):
        found += [Path(root) / name for name in names if (Path(root) / name).is_file()]
    return sorted(found)


def find_canaries(folder: Path, canaries) -> list[tuple[str, str, str]]:
    """(file, canary, encoding) for every canary found, in any encoding, in any file."""
    needles = {canary: canary_needles(canary) for canary in canaries}
    hits = []
    for path in files_under(folder):
        content = path.read_bytes()
        for canary, encodings in needles.items():
            for encoding, forms in encodings.items():
                if any(form in content for form in forms):
                    hits.append((str(path.relative_to(folder)), canary, encoding))
    return hits


def new_canary(label: str) -> str:
    # Short enough for the shortest field (the victim's phone: 40 characters).
    return f"Nguyễn Thị CANARY-{secrets.token_hex(4)}-{label}"


# --- The search can fail: a planted canary is found ------------------------------------

PLANTINGS = {
    "utf-8": lambda canary: canary.encode("utf-8"),
    "utf-16-le": lambda canary: canary.encode("utf-16-le"),
    "utf-16-be": lambda canary: canary.encode("utf-16-be"),
    "base64": lambda canary: base64.b64encode(canary.encode("utf-8")),
    "url-quote": lambda canary: quote(canary).encode(),
    "url-quote-plus": lambda canary: quote_plus(canary).encode(),
    "token": lambda canary: json.dumps({"name": canary}).encode("ascii"),  # \\u escapes
}


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy"])  # every base64 alignment
@pytest.mark.parametrize("encoding", sorted(PLANTINGS))
def test_the_search_finds_a_planted_canary(tmp_path, encoding, prefix):
    canary, absent = new_canary("planted"), new_canary("absent")
    folder = tmp_path / "instance"
    (folder / "logs" / "old").mkdir(parents=True)
    (folder / "clean.bin").write_bytes(os.urandom(4096))
    assert find_canaries(folder, [canary, absent]) == []

    raw = PLANTINGS[encoding](canary)
    if encoding == "base64":
        raw = base64.b64encode(prefix + canary.encode("utf-8") + b" and more")
    (folder / "logs" / "old" / ".hidden-wal").write_bytes(os.urandom(100) + prefix + raw + b"\n")

    hits = find_canaries(folder, [canary, absent])
    assert (str(Path("logs/old/.hidden-wal")), canary, encoding) in hits
    assert {hit[1] for hit in hits} == {canary}


def test_every_needle_of_a_canary_is_found_alone(tmp_path):
    canary = new_canary("each")
    for encoding, forms in canary_needles(canary).items():
        for number, form in enumerate(forms):
            folder = tmp_path / f"{encoding}-{number}"
            folder.mkdir()
            (folder / "file").write_bytes(b"--" + form + b"--")
            assert encoding in {hit[2] for hit in find_canaries(folder, [canary])}, (
                encoding,
                form,
            )


# --- The whole flow, then the search -----------------------------------------------------


@pytest.fixture()
def canary_app(tmp_path):
    """An app whose instance folder holds only this test's database, logs and keys."""
    instance = tmp_path / "instance"
    database = instance / "incidents.sqlite3"
    # Development mode generates the secret key as a file in the instance folder.
    application = make_test_app(
        f"sqlite:///{database}",
        str(instance),
        ENV_NAME="development",
        SECRET_KEY=None,
        RECOVERY_KEY_PINS_FILE="",  # the instance folder's own, like its keys
    )
    yield application, instance, database
    for handler in list(application.logger.handlers):
        filename = getattr(handler, "baseFilename", None)
        if filename and Path(filename).is_relative_to(instance):
            application.logger.removeHandler(handler)
            handler.close()


def _close_instance_logs(application, instance: Path) -> None:
    for handler in application.logger.handlers:
        filename = getattr(handler, "baseFilename", None)
        if filename and Path(filename).is_relative_to(instance):
            assert isinstance(handler, logging.FileHandler)
            handler.flush()
            handler.close()


def canary_ward(tag: str, roles) -> tuple:
    """In an app context: the ward CN with one group, an account per role (the leader
    leads the group; usernames end in tag) and the desk roles seated at their desks,
    committed. Returns the ward, the group, the users by role and the recovery seed."""
    ward, recovery_seed = create_ward(None, code="CN", name="Phường Kiểm Tra")
    group = add_group(None, ward, name="Tổ dân phố số 7")
    users = {
        role: create_user(
            None,
            ward=ward,
            username=f"{role}-{tag}",
            display_name=f"Canary {role}",
            role=role,
            password=PASSWORD,
            params=argon2_params(),
            chosen_by_owner=True,
            groups=[group] if role == "reporter" else [],
        )
        for role in roles
    }
    for role in set(roles) & {"police", "officer", "chairman"}:
        desk = ward.desk(role)
        seat_by_recovery(
            None,
            desk,
            users[role],
            recovery_seed,
            checked_code=key_fingerprint(users[role].public_key),
        )
    db.session.commit()
    return ward, group, users, recovery_seed


def _sign_in(client, user) -> None:
    """Sign in; a staff member's first sign-in sets up his authenticator app on its page."""
    client.post("/logout")
    response = client.post("/login", data=login_data(user))
    assert response.status_code == 302, "sign-in failed"
    if client.get("/").headers["Location"] == "/account/second-factor":
        enrol_on_page(client, user)


def _assert_shows(page: str, canaries) -> None:
    missing = [canary for canary in canaries if canary not in page]
    assert not missing, missing


def test_no_canary_at_rest_after_the_whole_flow(canary_app, totp_secrets):
    application, instance, database = canary_app
    client = application.test_client()
    canaries = {name: new_canary(name) for name in SEALED_FIELDS}
    note_canaries = [new_canary("note-police"), new_canary("note-officer")]
    refused_canaries = [new_canary("refused-report"), new_canary("refused-note")]

    with application.app_context():
        upgrade()
        ward, group, users, recovery_seed = canary_ward(
            "canary", ("reporter", "police", "officer", "chairman")
        )
        leader = users["reporter"]

        # 1. The leader files over HTTP, with a canary in every sealed field the form takes
        # as free text; the birth year must be a year (a canary there is a field error).
        _sign_in(client, leader)
        free_text = {name: value for name, value in canaries.items() if name not in YEAR_FIELDS}
        form = report_form(group.id, immediate_danger="yes", **free_text)
        assert set(free_text) | YEAR_FIELDS == set(SEALED_FIELDS)
        refused = post_report(client, {**form, "victim_birth_year": canaries["victim_birth_year"]})
        assert refused.status_code == 200
        assert (
            post_report(
                client,
                {
                    **form,
                    "incident_date": (ward_today() + timedelta(days=1)).isoformat(),
                    "narrative": refused_canaries[0],
                },
            ).status_code
            == 200
        )
        response = post_report(client, form)
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
        http_case = response.headers["Location"].rsplit("/", 1)[-1]
        assert client.get(f"/report/filed/{http_case}").status_code == 200
        _assert_shows(
            client.get(f"/reports/{http_case}").get_data(as_text=True), free_text.values()
        )

        # 2. A second case through the service, which takes any text: every sealed field.
        data = report_data(
            group.id,
            acts=["a"],
            immediate_danger=True,
            consent="refused",
            incident_date=ward_today() - timedelta(days=1),
            sealed=dict(canaries),
        )
        service_case = service.file_report(leader, data).id
        db.session.commit()
        shown = {http_case: list(free_text.values()), service_case: list(canaries.values())}

        # 3. The police read both cases, add a note, acknowledge; a too-long note is refused.
        _sign_in(client, users["police"])
        for case_id, expected in shown.items():
            page = client.get(f"/cases/{case_id}")
            assert page.status_code == 200
            _assert_shows(page.get_data(as_text=True), expected)  # (a)
        note = client.post(f"/cases/{http_case}/notes", data={"text": note_canaries[0]})
        assert note.status_code == 302
        too_long = refused_canaries[1] + " " + "x" * service.NOTE_MAX_LENGTH
        assert client.post(f"/cases/{http_case}/notes", data={"text": too_long}).status_code == 400
        status = client.post(
            f"/cases/{http_case}/status", data=status_change(http_case, "acknowledged")
        )
        assert status.status_code == 302
        _assert_shows(
            client.get(f"/cases/{http_case}").get_data(as_text=True),
            [*free_text.values(), note_canaries[0]],
        )

        # 4. The officer reads, adds a note, moves the case on, and closes the other one.
        _sign_in(client, users["officer"])
        note = client.post(f"/cases/{http_case}/notes", data={"text": note_canaries[1]})
        assert note.status_code == 302
        assert (
            client.post(
                f"/cases/{http_case}/status", data=status_change(http_case, "in_progress")
            ).status_code
            == 302
        )
        for move in ({"status": "acknowledged"}, {"status": "closed", "close_reason": "resolved"}):
            move = status_change(service_case, **move)
            assert client.post(f"/cases/{service_case}/status", data=move).status_code == 302
        page = client.get(f"/cases/{http_case}").get_data(as_text=True)
        _assert_shows(page, [*free_text.values(), *note_canaries])
        _assert_shows(
            client.get(f"/cases/{service_case}").get_data(as_text=True), canaries.values()
        )
        client.post("/logout")

        db.session.expire_all()
        assert db.session.get(Case, http_case).status == "in_progress"
        assert db.session.get(Case, service_case).status == "closed"
        references = [db.session.get(Case, case_id).reference for case_id in shown]
        db.session.remove()

        everything = [*canaries.values(), *note_canaries, *refused_canaries]
        # While the connections are open (the write-ahead log may hold the latest pages).
        assert find_canaries(instance, everything) == []
        db.engine.dispose()  # (b) close the app's connections, then search every file
    _close_instance_logs(application, instance)

    # The ward's recovery key is shown once and stored nowhere: not in any form.
    recovery_forms = [
        recovery_seed,
        recovery_seed.hex().encode(),
        format_recovery_key(recovery_seed).encode(),
        *_base64_needles(recovery_seed),
    ]
    for path in files_under(instance):
        content = path.read_bytes()
        assert not [form for form in recovery_forms if form in content], path
    files = {str(path.relative_to(instance)) for path in files_under(instance)}
    assert {"incidents.sqlite3", "logs/app.log", "secret_key"} <= files, files
    # The search reads the real data: the database holds the cases, the log this flow.
    stored = b"".join(
        path.read_bytes() for path in instance.iterdir() if path.name.startswith(database.name)
    )
    assert all(reference.encode() in stored for reference in references)
    log = (instance / "logs" / "app.log").read_text(encoding="utf-8")
    assert f"case filed id={http_case}" in log

    assert find_canaries(instance, everything) == []
