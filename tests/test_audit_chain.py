"""The audit trail's hash chain (SECURITY.md property 20): tamper evidence, append-only."""

import threading

import pytest
from conftest import audit_triggers_suspended
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from incidents.audit.models import AuditEntry, AuditHead
from incidents.audit.service import record


@pytest.fixture()
def cli(app, db):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture()
def chain(db, make_user, file_report, client, login_as):
    """A real trail: accounts made, a sign-in, a report filed and read."""
    leader, officer = make_user("reporter"), make_user("officer")
    case_id = file_report(leader)
    login_as(officer)
    client.get(f"/cases/{case_id}")
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert len(entries) >= 8
    return entries


def _tamper(db, statement):
    with db.engine.begin() as connection, audit_triggers_suspended(connection):
        connection.execute(statement)


def test_an_intact_chain_verifies(chain, cli):
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"{len(chain)} entries" in result.output


def test_an_edited_entry_is_named(db, chain, cli):
    victim = chain[3]
    _tamper(db, update(AuditEntry).where(AuditEntry.id == victim.id).values(detail="tampered"))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"entry {victim.seq}" in result.output and "changed" in result.output


def test_a_deleted_entry_is_caught(db, chain, cli):
    _tamper(db, delete(AuditEntry).where(AuditEntry.id == chain[2].id))
    result = cli("audit", "verify")
    assert result.exit_code == 1 and f"entry {chain[3].seq}" in result.output


def test_reordered_entries_are_caught(db, chain, cli):
    first, second = chain[1], chain[2]
    _tamper(db, update(AuditEntry).where(AuditEntry.id == first.id).values(seq=-1))
    _tamper(db, update(AuditEntry).where(AuditEntry.id == second.id).values(seq=first.seq))
    _tamper(db, update(AuditEntry).where(AuditEntry.id == first.id).values(seq=second.seq))
    assert cli("audit", "verify").exit_code == 1


def test_a_truncated_tail_is_caught_against_a_checkpoint(db, chain, cli, tmp_path):
    private, public = tmp_path / "signing.pem", tmp_path / "signing.pub"
    assert (
        cli("audit", "keygen", "--private-out", str(private), "--public-out", str(public)).exit_code
        == 0
    )
    checkpoint = tmp_path / "checkpoint.json"
    made = cli("audit", "checkpoint", "--key", str(private), "--out", str(checkpoint))
    assert made.exit_code == 0, made.output
    check = ("audit", "verify", "--checkpoint", str(checkpoint), "--public-key", str(public))
    assert cli(*check).exit_code == 0
    # The insider cuts off the last two entries and moves the head back to match.
    kept = chain[-3]
    _tamper(db, delete(AuditEntry).where(AuditEntry.seq > kept.seq))
    _tamper(db, update(AuditHead).values(seq=kept.seq, hash=kept.hash))
    assert cli("audit", "verify").exit_code == 0  # the chain alone looks whole...
    result = cli(*check)
    assert result.exit_code == 2 and "cut off" in result.output  # ...the checkpoint knows


def test_a_forged_checkpoint_is_refused(db, chain, cli, tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for name in (ours, theirs):
        cli("audit", "keygen", "--private-out", f"{name}.pem", "--public-out", f"{name}.pub")
    cli("audit", "checkpoint", "--key", f"{theirs}.pem", "--out", str(tmp_path / "cp.json"))
    result = cli(
        "audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), "--public-key", f"{ours}.pub"
    )
    assert result.exit_code != 0 and "signature" in result.output


def test_the_application_cannot_update_or_delete_an_entry(db, chain):
    for statement in (
        update(AuditEntry).where(AuditEntry.id == chain[0].id).values(detail="rewritten"),
        delete(AuditEntry).where(AuditEntry.id == chain[0].id),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("TRUNCATE audit_entries CASCADE"))
        db.session.rollback()
    assert db.session.get(AuditEntry, chain[0].id).detail == chain[0].detail


def test_concurrent_appends_never_fork_the_chain(app, db, cli):
    def append(number):
        with app.app_context():
            for _ in range(5):
                record("test.append", detail=f"thread {number}")
                db.session.commit()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "30 entries" in result.output


def test_the_statistics_page_shows_the_latest_checkpoint(
    db, chain, cli, client, make_user, login_as, tmp_path
):
    login_as(make_user("officer"))
    assert "Chưa có" in client.get("/stats/").get_data(as_text=True)  # none taken yet
    cli("audit", "keygen", "--private-out", str(tmp_path / "k.pem"),
        "--public-out", str(tmp_path / "k.pub"))  # fmt: skip
    made = cli(
        "audit", "checkpoint", "--key", str(tmp_path / "k.pem"), "--out", str(tmp_path / "c")
    )
    fingerprint = made.output.rsplit("fingerprint ", 1)[1].strip()
    assert fingerprint in client.get("/stats/").get_data(as_text=True)
    assert cli("audit", "verify").exit_code == 0  # the checkpoint's own entry is chained too


def test_replacing_an_entry_or_moving_the_head_back_is_refused(db, chain):
    victim = chain[2]
    if db.engine.dialect.name == "sqlite":
        replace = text(
            "INSERT OR REPLACE INTO audit_entries (id, seq, at, action, prev_hash, hash) "
            "VALUES (:id, :seq, :at, 'logout', :prev, :hash)"
        )
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(
                replace,
                {"id": victim.id, "seq": victim.seq, "at": victim.at,
                 "prev": victim.prev_hash, "hash": victim.hash},
            )  # fmt: skip
        db.session.rollback()
    for values in ({"seq": victim.seq}, {"seq": chain[-1].seq + 5}):
        with pytest.raises(DBAPIError, match="only moves forward"):
            db.session.execute(update(AuditHead).values(**values))
        db.session.rollback()
    with pytest.raises(DBAPIError, match="only moves forward"):
        db.session.execute(delete(AuditHead))
    db.session.rollback()
    assert db.session.get(AuditEntry, victim.id).action == victim.action


def test_no_checkpoint_is_signed_for_a_broken_chain(db, chain, cli, tmp_path):
    cli("audit", "keygen", "--private-out", str(tmp_path / "k.pem"),
        "--public-out", str(tmp_path / "k.pub"))  # fmt: skip
    _tamper(db, update(AuditEntry).where(AuditEntry.id == chain[1].id).values(detail="x"))
    result = cli(
        "audit", "checkpoint", "--key", str(tmp_path / "k.pem"), "--out", str(tmp_path / "c")
    )
    assert result.exit_code != 0 and "does not verify" in result.output
    assert not (tmp_path / "c").exists()
