"""Flask commands. They call the same service functions as the views.

Non-interactive use: passwords come from the INCIDENTS_PASSWORD environment variable or,
with --password-stdin, from the first line of standard input.
"""

import base64
import hashlib
import os
import sys
import time

import click
import segno
from flask import Flask, current_app, render_template
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from incidents import access
from incidents.accounts import factors
from incidents.accounts import service as accounts
from incidents.accounts.models import User
from incidents.accounts.sessions import end_sessions_of, purge_expired
from incidents.audit.chain import verify as verify_chain
from incidents.audit.checkpoint import Checkpoint, load_verified, new_signing_key, sign
from incidents.audit.models import AuditEntry
from incidents.audit.service import chain_head, client_address, record, stream_chain
from incidents.cases import clocks
from incidents.cases import service as cases
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case
from incidents.crypto import DecryptionError
from incidents.crypto.keys import (
    format_recovery_key,
    key_fingerprint,
    new_seed,
    parse_recovery_key,
    public_key,
    signing_public_key,
)
from incidents.crypto.passwords import verify_password
from incidents.crypto.totp import code_at, secret_text, step_at
from incidents.extensions import db
from incidents.notices import mail
from incidents.reporting import drafts
from incidents.timeutil import format_datetime, utcnow
from incidents.wards import service as wards
from incidents.wards import trust
from incidents.wards.models import DESK_KINDS, PARTNER_KINDS, Ward
from incidents.web import argon2_params

# The source document's ward (DOMAIN.md): 1 tổ dân phố and 5 bản, with neutral names.
DEMO_WARD = ("QT", "Phường Quyết Thắng")
DEMO_GROUPS = ("Tổ dân phố số 1", "Bản 1", "Bản 2", "Bản 3", "Bản 4", "Bản 5")
# Development-only accounts: seed-demo refuses to run where ALLOW_DEMO_SEED is off.
# Development only, like the passwords: a fixed recovery key so the demo can be restored.
DEMO_RECOVERY_SEED = hashlib.sha256(b"incidents demo ward recovery key, development only").digest()
# The authenticator secret of every demo staff account: public, like the demo passwords.
DEMO_TOTP_SECRET = hashlib.sha256(b"incidents demo authenticator, development only").digest()[:20]
DEMO_ACCOUNTS = (
    ("reporter", "totruong1", "Tổ trưởng Tổ dân phố số 1", "demo-totruong-2026", (0, 1)),
    ("reporter", "truongban2", "Trưởng Bản 2", "demo-truongban-2026", (2,)),
    ("police", "congan", "Công an phường", "demo-congan-2026", ()),
    ("officer", "vanhoa", "Công chức Văn hóa - Xã hội", "demo-vanhoa-2026", ()),
    ("chairman", "chutich", "Chủ tịch UBND phường", "demo-chutich-2026", ()),
    ("admin", "quantri", "Quản trị hệ thống", "demo-quantri-2026", ()),
    ("partner", "tramyte", "Trạm y tế phường", "demo-tramyte-2026", ()),
)
# Where each demo account sits: the core desks by role, the partner at the health station.
DEMO_DESKS = {
    "police": "police",
    "officer": "officer",
    "chairman": "chairman",
    "partner": "health_station",
}


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get("INCIDENTS_PASSWORD"):
        return os.environ["INCIDENTS_PASSWORD"]
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _fail(message: str):
    db.session.rollback()
    raise click.ClickException(message)


def _ward_or_fail(code: str) -> Ward:
    ward = wards.ward_by_code(code)
    if ward is None:
        _fail(f"no ward with code {code!r}")
    return ward


@click.group("ward", cls=AppGroup)
def ward_cli():
    """Create wards and their residential groups."""


@ward_cli.command("create")
@click.option("--code", required=True, help="Short code, e.g. QT (prefixes case references).")
@click.option("--name", required=True, help="Full name, e.g. 'Phường Quyết Thắng'.")
@click.option("--group", "groups", multiple=True, help="A residential group; repeatable.")
@click.option(
    "--recovery-page",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the recovery key as a printable page with a QR code (HTML) to this file.",
)
@click.option(
    "--recovery-public-key",
    "public_key_file",
    type=click.File("r"),
    help="Use a recovery key made offline ('recovery-key new'): the server never sees it.",
)
def create_ward(code, name, groups, recovery_page, public_key_file):
    """Create a ward with its residential groups and desks; prints its recovery key once."""
    _refuse_existing(recovery_page)
    try:
        offline_key = _read_public_key(public_key_file) if public_key_file else None
        ward, recovery_seed = wards.create_ward(
            None, code=code, name=name, recovery_public_key=offline_key
        )
        for group in groups:
            wards.add_group(None, ward, name=group)
    except (wards.WardError, ValueError) as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"ward {ward.code}: {ward.name} with {len(groups)} groups")
    if recovery_seed is None:
        click.echo(
            "its recovery key is the one made offline: the server never saw it. Pinned here as "
            f"{ward.code} {trust.pinned(ward)}: compare it with the printed page. The desks take "
            "cases once the recovery key has been typed once (seating the first member)"
        )
        return
    click.echo(
        "RECOVERY KEY of this ward — shown this once and stored nowhere. Write it down or "
        "print it, and keep it offline with the chairman and the officer:"
    )
    click.echo(f"recovery key: {format_recovery_key(recovery_seed)}")
    click.echo(f"pinned on this server as {ward.code} {trust.pinned(ward)}")
    if recovery_page:
        _write_recovery_page(recovery_page, ward, recovery_seed)
        click.echo(f"printable page written to {recovery_page}: print it, then delete the file")


def _read_public_key(handle) -> bytes:
    try:
        return base64.b64decode(handle.read().strip(), validate=True)
    except ValueError as error:
        raise ValueError("the recovery public key file is not base64") from error


@click.group("recovery-key", cls=AppGroup)
def recovery_cli():
    """The ward's recovery key, made on a machine that is not the server."""


@recovery_cli.command("new")
@click.option(
    "--public-out", type=click.File("w"), required=True, help="The public half, for the server."
)
@click.option("--ward-name", default="", help="The ward's name, for the printable page.")
@click.option("--page", type=click.Path(dir_okay=False, writable=True), help="A printable page.")
def new_recovery_key(public_out, ward_name, page):
    """Make a recovery key offline: prints it, writes its public half for 'ward create'.

    Needs no database: run it where the chairman and the officer keep the key, then give
    the server only the public file ('ward create --recovery-public-key FILE').
    """
    _refuse_existing(page)
    seed = new_seed()
    bundle = public_key(seed) + signing_public_key(seed)
    public_out.write(base64.b64encode(bundle).decode() + "\n")
    click.echo(f"recovery key: {format_recovery_key(seed)}")
    click.echo(f"its pin: {trust.ward_pin(public_key(seed), signing_public_key(seed))}")
    if page:
        offline_ward = Ward(code="", name=ward_name, created_at=utcnow())
        _write_recovery_page(page, offline_ward, seed)
        click.echo(f"printable page written to {page}: print it, then delete the file")


def _refuse_existing(path: str | None) -> None:
    """The recovery page is a new file: never one that exists, nor a link planted to make
    the key land elsewhere or keep another file's wider permissions."""
    if path and os.path.lexists(path):
        _fail(f"{path} exists: name a new file for the recovery page (it is written once)")


def _write_recovery_page(path: str, ward: Ward, seed: bytes) -> None:
    """A page to print and keep offline: the key in large type and as a QR code, and the
    pin the server checks it against."""
    key = format_recovery_key(seed)
    qr = segno.make(key, error="m")
    page = render_template(
        "wards/recovery_page.html",
        ward=ward,
        key=key,
        pin=trust.ward_pin(public_key(seed), signing_public_key(seed)),
        created=ward.created_at,
        qr_svg=qr.svg_inline(scale=4, omitsize=True, title="QR"),
    )
    # Created here, readable by its owner only; a file or link put there meanwhile fails.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(page)


@ward_cli.command("add-group")
@click.option("--ward", "ward_code", required=True)
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["to_dan_pho", "ban"]), default=None)
def add_group(ward_code: str, name: str, kind: str | None):
    """Add a residential group (tổ dân phố or bản) to a ward."""
    ward = _ward_or_fail(ward_code)
    try:
        wards.add_group(None, ward, name=name, kind=kind)
    except wards.WardError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"group added to {ward.code}: {name}")


@ward_cli.command("certify")
@click.option("--ward", "ward_code", required=True)
@click.option("--recovery-key-stdin", is_flag=True, help="Read the recovery key from stdin.")
def certify_ward(ward_code: str, recovery_key_stdin: bool):
    """Pin a ward's recovery key on this server and sign its desks' keys, with the key.

    For a ward made before keys were signed, or with an offline key whose first use has
    not come yet. The recovery key proves the ward's public key; a desk key whose
    signature is there but wrong is never re-signed.
    """
    ward = _ward_or_fail(ward_code)
    seed = _read_recovery_key(recovery_key_stdin)
    try:
        signed = trust.certify_ward(ward, seed)
    except trust.KeyMismatch as mismatch:
        _refuse_mismatch(mismatch)
    db.session.commit()
    click.echo(f"ward {ward.code} pinned as {trust.pinned(ward)}; {signed} desk key(s) signed")


def _refuse_mismatch(mismatch: "trust.KeyMismatch") -> None:
    """Undo, audit the refused seal, and stop with its reason."""
    db.session.rollback()
    trust.record_mismatch(mismatch)
    db.session.commit()
    _fail(f"refused: {mismatch} (recorded in the audit trail)")


def _read_recovery_key(from_stdin: bool) -> bytes:
    # Never from the environment: it would linger in shell history, /proc and CI logs.
    text = sys.stdin.readline() if from_stdin else click.prompt("Recovery key", hide_input=True)
    try:
        return parse_recovery_key(text)
    except ValueError as error:
        _fail(str(error))


@click.group("desk", cls=AppGroup)
def desk_cli():
    """Seats at the ward's desks (police, officer, chairman, and the partners')."""


@desk_cli.command("grant")
@click.option("--ward", "ward_code", required=True)
@click.option(
    "--desk", "--kind", "kind", required=True, type=click.Choice([*DESK_KINDS, *PARTNER_KINDS])
)
@click.option("--username", required=True)
@click.option(
    "--key-code",
    required=True,
    help="The code of the member's key, read out by him from his own account page.",
)
@click.option("--recovery-key-stdin", is_flag=True, help="Read the recovery key from stdin.")
def grant_desk(ward_code, kind, username, key_code, recovery_key_stdin):
    """Seat a user at a desk with the ward's recovery key (typed at the prompt, or stdin),
    once the code of his key, read out by him, matches."""
    ward = _ward_or_fail(ward_code)
    member = _user_or_fail(username, ward)
    recovery_seed = _read_recovery_key(recovery_key_stdin)
    desk = ward.desk(kind)
    try:
        wards.seat_by_recovery(None, desk, member, recovery_seed, checked_code=key_code)
    except trust.KeyMismatch as mismatch:
        _refuse_mismatch(mismatch)
    except wards.WardError as error:
        db.session.rollback()
        wards.record_refused_grant(None, desk, member)
        db.session.commit()
        _fail(str(error))
    db.session.commit()
    click.echo(f"{member.username} now sits at the {kind} desk of {ward.code}")


def _user_or_fail(username: str, ward: Ward) -> User:
    user = db.session.scalar(
        select(User).where(User.username == accounts.normalise_username(username))
    )
    if user is None or user.ward_id != ward.id:
        _fail(f"no user {username!r} in {ward.code}")
    return user


@click.group("user", cls=AppGroup)
def user_cli():
    """Create user accounts."""


@user_cli.command("create")
@click.option("--ward", "ward_code", required=True, help="The ward's code.")
@click.option("--username", required=True)
@click.option("--name", "display_name", default="", help="Full name shown in the app.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["reporter", "police", "officer", "chairman", "admin", "partner"]),
)
@click.option("--group", "group_names", multiple=True, help="Group led (reporters); repeatable.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(ward_code, username, display_name, role, group_names, password_stdin):
    """Create an account; the password comes from INCIDENTS_PASSWORD, stdin, or a prompt."""
    ward = _ward_or_fail(ward_code)
    by_name = {group.name: group for group in ward.groups}
    unknown = [name for name in group_names if name not in by_name]
    if unknown:
        _fail(f"no such group in {ward.code}: {', '.join(unknown)}")
    try:
        user = accounts.create_user(
            None,
            ward=ward,
            username=username,
            display_name=display_name,
            role=role,
            password=_read_password(password_stdin),
            params=argon2_params(),
            groups=[by_name[name] for name in group_names],
            lifetime=current_app.config["ACTIVATION_CODE_LIFETIME"],
        )
    except accounts.AccountError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"user {user.username} ({user.role}) created in {ward.code}; {_first_use(user)}")


def _first_use(user: User) -> str:
    expires = format_datetime(user.activation_expires_at)
    return f"the password works once, until {expires} ward time, to choose his own"


@user_cli.command("restore")
@click.option("--ward", "ward_code", required=True)
@click.option("--username", required=True)
@click.option("--recovery-key-stdin", is_flag=True, help="Read the recovery key from stdin.")
def restore_user(ward_code, username, recovery_key_stdin):
    """Give a member who forgot his password a new one (INCIDENTS_PASSWORD), keeping his key.

    Needs the ward's recovery key (typed at the prompt, or stdin's first line).
    """
    ward = _ward_or_fail(ward_code)
    user = _user_or_fail(username, ward)
    recovery_seed = _read_recovery_key(recovery_key_stdin)
    try:
        accounts.restore_with_recovery_key(
            None, user, recovery_seed, _read_password(False), argon2_params()
        )
    except trust.KeyMismatch as mismatch:
        _refuse_mismatch(mismatch)
    except accounts.AccountError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"{user.username} restored: the new password opens the same key")


@user_cli.command("reset")
@click.option("--ward", "ward_code", required=True)
@click.option("--username", required=True)
def reset_user(ward_code, username):
    """A temporary password (INCIDENTS_PASSWORD) and no key, when no recovery key is at hand.

    The member loses his seats (to be granted again) and the reports he filed.
    """
    ward = _ward_or_fail(ward_code)
    user = _user_or_fail(username, ward)
    password = _read_password(False)
    try:
        accounts.check_password_rules(password, user.username)
        lost = accounts.reset_password(None, user, argon2_params())
        accounts.give_first_password(
            user, password, argon2_params(), current_app.config["ACTIVATION_CODE_LIFETIME"]
        )
    except accounts.AccountError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(
        f"{user.username} has a temporary password and no key: {_first_use(user)}, which "
        f"makes a new key; {lost} desk seats must be granted again, and the reports he "
        "filed can no longer be shown to him"
    )


@user_cli.command("password")
@click.option("--ward", "ward_code", required=True)
@click.option("--username", required=True)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read current, then new, from stdin.")
def change_user_password(ward_code, username, from_stdin):
    """Change one's own password: the key is re-wrapped, nothing else changes."""
    user = _user_or_fail(username, _ward_or_fail(ward_code))
    if from_stdin:
        current, new = sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")
    else:
        current = click.prompt("Current password", hide_input=True)
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.change_password(user, current, new, argon2_params())
        end_sessions_of(user.id)
    except accounts.AccountError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"password of {user.username} changed; his sessions ended")


@click.group("case", cls=AppGroup)
def case_cli():
    """Cases, as one of their readers."""


@case_cli.command("route")
@click.option("--ward", "ward_code", required=True)
@click.option("--reference", required=True, help="e.g. QT-2026-0007")
@click.option("--desk", "kind", required=True, type=click.Choice(["police", "officer", "chairman"]))
@click.option("--username", required=True, help="A member who can read the case.")
@click.option("--password-stdin", is_flag=True, help="Read his password from stdin.")
def route_case(ward_code, reference, kind, username, password_stdin):
    """Send a case to one more desk: a reader's key opens it and seals it to that desk."""
    ward = _ward_or_fail(ward_code)
    user = _user_or_fail(username, ward)
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else click.prompt("Password", hide_input=True)
    )
    case = db.session.scalar(
        select(Case).where(Case.reference == reference.strip().upper(), Case.ward_id == ward.id)
    )
    if case is None or not access.can(user, "case.route", case):
        _fail(f"{user.username} cannot route {reference} (no such case, or not his to read)")
    if not verify_password(password, user.password_hash):
        _fail("the password is not correct")
    keyring = MemberKeyring(user, accounts.unlock_personal_key(user, password))
    try:
        cases.route_to_desk(user, case, ward.desk(kind), keyring)
    except (cases.CaseError, DecryptionError) as error:
        _fail(f"not routed: {type(error).__name__}")
    db.session.commit()
    click.echo(f"{case.reference} now also goes to the {kind} desk")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Seed the demo ward and one account per role (development only), then list them."""
    if not current_app.config.get("ALLOW_DEMO_SEED"):
        raise click.ClickException("seed-demo is for development only; refused here")
    if db.session.scalar(select(Ward.id).limit(1)) is None:
        code, name = DEMO_WARD
        ward, _ = wards.create_ward(None, code=code, name=name, recovery_seed=DEMO_RECOVERY_SEED)
        groups = [wards.add_group(None, ward, name=group) for group in DEMO_GROUPS]
        for role, username, display_name, password, group_indexes in DEMO_ACCOUNTS:
            user = accounts.create_user(
                None,
                ward=ward,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                params=argon2_params(),
                groups=[groups[i] for i in group_indexes],
                chosen_by_owner=True,  # development only: the demo passwords are public
            )
            if role in DEMO_DESKS:
                desk = ward.desk(DEMO_DESKS[role])
                code = key_fingerprint(user.public_key)  # the demo's own account: no one to ask
                wards.seat_by_recovery(None, desk, user, DEMO_RECOVERY_SEED, checked_code=code)
            if access.needs_second_factor(user):
                # Enrolled with a code from a minute ago, so that the current one still works.
                then = time.time() - 60
                first_code = code_at(DEMO_TOTP_SECRET, step_at(then))
                personal = accounts.unlock_personal_key(user, password)
                factors.enrol(user, personal, DEMO_TOTP_SECRET, first_code, then)
        # Marks the database for good (the audit trail is append-only): production refuses it.
        record("demo.seed", ward_id=ward.id)
        db.session.commit()
        click.echo(f"seeded the demo ward {name} ({code})")
    elif db.session.scalar(select(User.id).where(User.username == DEMO_ACCOUNTS[0][1])) is None:
        click.echo("the database already holds a ward that is not the demo: nothing seeded")
        return
    for role, username, _name, password, _groups in DEMO_ACCOUNTS:
        click.echo(f"demo account: {role} {username} {password}")
    demo_ward = wards.ward_by_code(DEMO_WARD[0])
    if demo_ward.recovery_public_key != public_key(DEMO_RECOVERY_SEED):
        click.echo(
            "this demo database predates end-to-end keys: restore each account with "
            "'flask --app wsgi user restore' and the recovery key 'flask db upgrade' printed, "
            "or delete instance/incidents.sqlite3 and run 'make run' again"
        )
        return
    if trust.certify_ward(demo_ward, DEMO_RECOVERY_SEED):
        db.session.commit()  # a demo database made before desk keys were signed
    click.echo(f"demo recovery key: {format_recovery_key(DEMO_RECOVERY_SEED)}")
    click.echo(
        f"demo authenticator key of the staff accounts: {secret_text(DEMO_TOTP_SECRET)} "
        "(add it to an authenticator app, or run 'flask --app wsgi demo-code')"
    )


def demo_traces() -> list[str]:
    """What in the database comes from seed-demo: its mark, its accounts, its recovery key."""
    traces = []
    if db.session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "demo.seed").limit(1)):
        traces.append("the demo was seeded into it")
    usernames = [username for _role, username, *_rest in DEMO_ACCOUNTS]
    if db.session.scalar(select(User.id).where(User.username.in_(usernames)).limit(1)):
        traces.append("it holds a demo account")
    demo_key = public_key(DEMO_RECOVERY_SEED)
    if db.session.scalar(select(Ward.id).where(Ward.recovery_public_key == demo_key).limit(1)):
        traces.append("a ward has the demo recovery key")
    return traces


@click.command("demo-code")
@with_appcontext
def demo_code():
    """The code the demo staff accounts' authenticator shows now (development only)."""
    if not current_app.config.get("ALLOW_DEMO_SEED"):
        raise click.ClickException("demo-code is for development only; refused here")
    click.echo(code_at(DEMO_TOTP_SECRET, step_at(time.time())))


@case_cli.command("escalate")
def escalate_cases():
    """Escalate the legal clocks run out on open cases to the chairman (run from cron)."""
    escalated = clocks.escalate_overdue()
    db.session.commit()
    click.echo(f"{len(escalated)} overdue clocks escalated")


@click.group("sessions", cls=AppGroup)
def sessions_cli():
    """Server-side sessions."""


@sessions_cli.command("purge")
def purge_sessions():
    """Delete the sessions past their timeouts and the drafts past theirs (run from cron)."""
    config = current_app.config
    count = purge_expired(config["SESSION_IDLE_TIMEOUT"], config["PERMANENT_SESSION_LIFETIME"])
    expired_drafts = drafts.purge_expired(config["DRAFT_LIFETIME"])
    db.session.commit()
    click.echo(f"{count} expired sessions deleted, {expired_drafts} expired drafts deleted")


@click.group("audit", cls=AppGroup)
def audit_cli():
    """The audit trail: verify its chain, sign checkpoints of its head."""


@audit_cli.command("keygen")
@click.option("--private-out", type=click.Path(dir_okay=False), required=True)
@click.option("--public-out", type=click.File("wb"), required=True)
def audit_keygen(private_out, public_out):
    """Make the Ed25519 key that signs checkpoints; keep the private file off the database."""
    private, public = new_signing_key()
    descriptor = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private)
    public_out.write(public)
    click.echo(f"signing key written to {private_out} (keep it off this database's backups)")


@audit_cli.command("checkpoint")
@click.option("--key", "key_file", type=click.File("rb"), required=True, help="Private key.")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def audit_checkpoint(key_file, out):
    """Write a signed checkpoint of the chain's head to a file the ward keeps elsewhere.

    It signs what the verifier finds, and refuses a chain that does not verify.
    """
    entries = stream_chain()
    try:
        verdict = verify_chain(entries)
    finally:
        entries.close()
    if not verdict.ok or (verdict.last_seq, verdict.last_hash) != chain_head():
        _fail(f"the audit chain does not verify (entry {verdict.bad_seq}): no checkpoint")
    seq, digest = verdict.last_seq, verdict.last_hash
    at = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        text = sign(Checkpoint(seq, digest, at), key_file.read())
    except ValueError as error:
        _fail(str(error))
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    # The trail itself remembers that a checkpoint was taken, for the periodic report.
    record("audit.checkpoint", detail=f"{seq}:{digest.hex()[:16]}")
    db.session.commit()
    click.echo(f"checkpoint of entry {seq} written to {out}; fingerprint {digest.hex()[:16]}")


@audit_cli.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.File("r"))
@click.option("--public-key", "public_file", type=click.File("rb"))
def audit_verify(checkpoint_file, public_file):
    """Check the whole chain (exit 0 when intact); with a checkpoint, its tail too."""
    checkpoint = None
    if checkpoint_file is not None:
        if public_file is None:
            raise click.ClickException("--checkpoint needs --public-key, the signer's key")
        try:
            checkpoint = load_verified(checkpoint_file.read(), public_file.read())
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    entries = stream_chain()
    try:
        verdict = verify_chain(entries)
    finally:
        entries.close()
    if not verdict.ok:
        click.echo(f"audit chain BROKEN at entry {verdict.bad_seq}: {verdict.reason}")
        sys.exit(1)
    seq, digest = chain_head()
    if (seq, digest) != (verdict.last_seq, verdict.last_hash):
        click.echo(f"audit chain BROKEN: it ends at entry {verdict.last_seq}, its head says {seq}")
        sys.exit(1)
    if checkpoint is not None:
        if verdict.last_seq < checkpoint.seq:
            click.echo(
                f"audit chain BROKEN: it ends at entry {verdict.last_seq}, but the checkpoint "
                f"of {checkpoint.at} saw entry {checkpoint.seq}: its tail was cut off"
            )
            sys.exit(2)
        if _hash_at(checkpoint.seq) != checkpoint.hash:
            click.echo(f"audit chain BROKEN: entry {checkpoint.seq} differs from the checkpoint")
            sys.exit(2)
    click.echo(f"audit chain intact: {verdict.count} entries, head {verdict.last_hash.hex()[:16]}")


def _hash_at(seq: int) -> bytes | None:
    value = db.session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))
    return bytes(value) if value is not None else None


@click.group("notices", cls=AppGroup)
def notices_cli():
    """Notices: the e-mail outbox."""


@notices_cli.command("send")
def send_notices():
    """E-mail the notices waiting in the outbox (run from cron, e.g. every minute).

    Safe to run often and in overlapping runs: each message goes once. A failure leaves
    the notice waiting, to be tried again later; the log names only notice ids.
    """
    try:
        settings = mail.MailSettings.from_config(current_app.config)
    except mail.MailConfigError as error:
        _fail(str(error))
    if not settings.enabled:
        click.echo(f"mail is off (MAIL_SERVER is empty): {mail.pending_count()} notices wait")
        return
    outcome = mail.send_pending(settings, current_app.url_map)
    click.echo(
        f"{outcome.sent} sent, {outcome.failed} failed (to be tried again), "
        f"{outcome.given_up} given up, {outcome.dropped} no longer wanted; "
        f"{mail.pending_count()} waiting"
    )


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI; audit entries from them say 'cli'."""

    commands = (ward_cli, desk_cli, user_cli, case_cli, sessions_cli, recovery_cli, audit_cli)
    commands += (notices_cli,)
    for command in (*commands, seed_demo, demo_code):
        app.cli.add_command(command)
    client_address.set("cli")
