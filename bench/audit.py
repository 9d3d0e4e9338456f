"""What the audit chain costs, measured in one run.

1. Appends: N audit entries through incidents.audit.service.record(), one commit each
   (the head row locked, the entry hashed and chained), against a bare INSERT of the
   same row into a copy of the table (no head, no hash), one commit each. Target: the
   chain keeps >= 50 % of the bare rate.
2. Verifying: a chain of 1,000,000 entries (built in a child process) is verified by the
   same code as 'flask audit verify', streamed from the database, against reading the
   same rows and hashing the same stored bytes with hashlib alone. Target: <= 3x. The
   verifier's peak memory is printed after 100,000 entries and after all of them: it
   stays flat.

    .venv/bin/python bench/audit.py [APPENDS] [CHAIN_LENGTH]
"""

import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, Table, insert, select  # noqa: E402

from bench.common import bench_app  # noqa: E402
from incidents.audit.chain import GENESIS, entry_hash, verify  # noqa: E402
from incidents.audit.models import AuditEntry, AuditHead  # noqa: E402
from incidents.audit.service import record, stream_chain  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.timeutil import utcnow  # noqa: E402
from tests.conftest import audit_triggers_suspended  # noqa: E402


def make_app(folder: str):
    return bench_app(folder, LOG_TO_INSTANCE=False)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def appends(folder: str, count: int) -> None:
    app = make_app(folder)
    with app.app_context():
        upgrade()
        # The same columns without the chain's head, triggers or foreign keys.
        bare_table = Table(
            "bare_entries",
            MetaData(),
            Column("id", Integer, primary_key=True),
            *(Column(c.name, c.type) for c in AuditEntry.__table__.columns if c.name != "id"),
        )
        bare_table.create(db.engine)
        started = time.perf_counter()
        for number in range(count):
            record("bench.append", target=f"case-{number}", detail="bench")
            db.session.commit()
        chained = count / (time.perf_counter() - started)
        row = {
            "at": utcnow(), "ward_id": 1, "action": "bench.append", "actor_id": None,
            "actor_role": None,
            "target": "case-0", "client_address": None, "detail": "bench",
            "prev_hash": GENESIS, "hash": GENESIS,
        }  # fmt: skip
        statement = insert(bare_table)
        started = time.perf_counter()
        for number in range(count):
            db.session.execute(statement, {**row, "seq": number + 1, "target": f"case-{number}"})
            db.session.commit()
        bare = count / (time.perf_counter() - started)
        db.engine.dispose()
    print(f"appends: {count}, one commit each (SQLite WAL, synchronous=FULL)")
    print(f"  chained record()   {chained:9.0f} entries/s")
    print(f"  bare insert        {bare:9.0f} rows/s")
    print(f"  chained / bare     {chained / bare:9.0%}   (target >= 50 %)")


def build_chain(folder: str, length: int) -> None:
    """Child process: a database with a valid chain of `length` entries."""
    app = make_app(folder)
    with app.app_context():
        upgrade()
        table = AuditEntry.__table__
        previous, batch = GENESIS, []
        moment = utcnow()
        # Written in bulk, not appended one by one: the append-only triggers step aside.
        with db.engine.begin() as connection, audit_triggers_suspended(connection):
            for seq in range(1, length + 1):
                entry = {
                    "seq": seq, "at": moment, "ward_id": 1, "action": "case.read",
                    "actor_id": None, "actor_role": "officer", "target": f"{seq:032x}",
                    "client_address": "127.0.0.1", "detail": None,
                }  # fmt: skip
                digest = entry_hash(previous, entry)
                batch.append({**entry, "prev_hash": previous, "hash": digest})
                previous = digest
                if len(batch) == 20_000:
                    connection.execute(insert(table), batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)
            connection.execute(AuditHead.__table__.update().values(seq=length, hash=previous))
        db.engine.dispose()


def verify_chain(folder: str, length: int) -> None:
    """Child process: time the verifier and the hashlib baseline, and print peak memory."""
    app = make_app(folder)
    with app.app_context():
        start_rss = peak_rss_mib()
        rss_at_tenth = []

        def watched(entries):
            for number, entry in enumerate(entries, 1):
                if number == length // 10:
                    rss_at_tenth.append(peak_rss_mib())
                yield entry

        started = time.perf_counter()
        verdict = verify(watched(stream_chain()))
        verifying = time.perf_counter() - started
        assert verdict.ok and verdict.count == length, verdict
        end_rss = peak_rss_mib()

        table = AuditEntry.__table__
        columns = [table.c[name] for name in ("seq", "at", "actor_id", "actor_role", "action",
                                               "target", "client_address", "detail",
                                               "prev_hash", "hash")]  # fmt: skip
        started = time.perf_counter()
        connection = db.session.connection().execution_options(stream_results=True)
        digest = hashlib.sha256()
        with connection.execute(select(*columns).order_by(table.c.seq)) as rows:
            for row in rows:
                for value in row:
                    digest.update(value if isinstance(value, bytes) else str(value).encode())
        hashing = time.perf_counter() - started
        db.engine.dispose()
    print(f"verifying a chain of {length:,} entries (streamed from SQLite)")
    print(f"  audit verify       {verifying:8.2f} s")
    print(f"  read + hashlib     {hashing:8.2f} s   (the same rows, the same stored bytes)")
    print(f"  ratio              {verifying / hashing:8.2f}x   (target <= 3x)")
    print(
        f"  peak RSS: {start_rss:.0f} MiB at start, {rss_at_tenth[0]:.0f} MiB after "
        f"{length // 10:,} entries, {end_rss:.0f} MiB after all of them"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("--build", "--verify"):
        folder, length = sys.argv[2], int(sys.argv[3])
        (build_chain if sys.argv[1] == "--build" else verify_chain)(folder, length)
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    length = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    appends(tempfile.mkdtemp(prefix="bench-audit-appends-"), count)
    folder = tempfile.mkdtemp(prefix="bench-audit-chain-")
    for mode in ("--build", "--verify"):
        # Our own script with our own arguments (a fresh process per phase: honest RSS).
        subprocess.run([sys.executable, __file__, mode, folder, str(length)], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
