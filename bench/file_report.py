"""Cost of filing one report: the full HTTP path against a bare insert of the same clear row.

Files N reports (default 1,000) through the Flask test client — session and user
loading, form validation, classification, routing, AES-GCM sealing of every sensitive
field, key wrapping, routes, timeline, audit, one commit, the redirect. Then inserts N
copies of the same clear row (sealed columns empty; no routes, timeline or audit) into
the cases table, one commit each, twice: as an ORM object, the way this code base writes
rows, and as a Core INSERT, the cheapest way SQLAlchemy has. Same SQLite file (WAL,
synchronous=FULL), same process. Prints medians, 90th percentiles and the ratios.

    .venv/bin/python bench/file_report.py [N]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from config import TestingConfig  # noqa: E402
from incidents import create_app  # noqa: E402
from incidents.accounts.service import create_user  # noqa: E402
from incidents.cases.models import SEALED_FIELDS, Case, new_case_id  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.wards.service import add_group, create_ward  # noqa: E402
from incidents.web import argon2_params  # noqa: E402
from tests.conftest import report_form  # noqa: E402

PASSWORD = "benchmark password 2026"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main(count: int) -> None:
    folder = tempfile.mkdtemp(prefix="bench-file-report-")

    class BenchConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder}/bench.sqlite3"
        ENVIRONMENT_KEYS = {}

    app = create_app(BenchConfig, instance_path=folder)
    with app.app_context():
        upgrade()
        ward = create_ward(None, code="BN", name="Phường Đo Lường")
        group = add_group(None, ward, name="Tổ dân phố số 1")
        leader = create_user(
            None,
            ward=ward,
            username="leader",
            display_name="Leader",
            role="reporter",
            password=PASSWORD,
            params=argon2_params(),
            groups=[group],
        )
        db.session.commit()
        group_id, leader_id, ward_id = group.id, leader.id, ward.id

    client = app.test_client()
    assert (
        client.post("/login", data={"username": "leader", "password": PASSWORD}).status_code == 302
    )
    form = report_form(
        group_id,
        victim_name="Nguyễn Thị Lan",
        victim_address="Số 5, Bản 2",
        victim_phone="0912 345 678",
        perpetrator_name="Trần Văn B",
        perpetrator_details="Hay uống rượu, có dao.",
        reporter_contact="0987 654 321",
        witnesses="Hàng xóm bên cạnh.",
        narrative="Người chồng đánh vợ nhiều lần trong tháng, lần gần nhất tối qua. " * 4,
    )

    full = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post("/report/new", data=form)
        full.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code

    with app.app_context():
        template = db.session.execute(select(Case.__table__).limit(1)).mappings().one()
        clear_row = {
            column.name: template[column.name]
            for column in Case.__table__.columns
            if column.name not in SEALED_FIELDS
        }

        def bare_rows(offset):
            for number in range(count):
                yield dict(
                    clear_row,
                    id=new_case_id(),
                    sequence=offset + number,
                    reference=f"BARE-{offset + number}",
                    ward_id=ward_id,
                    reporter_id=leader_id,
                )

        orm_bare = []
        for row in bare_rows(100_000):
            started = time.perf_counter()
            db.session.add(Case(**row))
            db.session.commit()
            orm_bare.append(time.perf_counter() - started)
        core_bare = []
        statement = insert(Case.__table__)
        for row in bare_rows(200_000):
            started = time.perf_counter()
            db.session.execute(statement, row)
            db.session.commit()
            core_bare.append(time.perf_counter() - started)
        db.engine.dispose()

    print(f"reports filed: {count} (SQLite WAL, synchronous=FULL, {folder})")
    medians = {}
    for name, times in (
        ("full path (HTTP, seal, audit)", full),
        ("bare insert, ORM", orm_bare),
        ("bare insert, Core", core_bare),
    ):
        medians[name] = statistics.median(times)
        print(
            f"{name:30} median {medians[name] * 1000:7.3f} ms"
            f"   p90 {percentile(times, 0.9) * 1000:7.3f} ms"
        )
    full_median = medians["full path (HTTP, seal, audit)"]
    for name in ("bare insert, ORM", "bare insert, Core"):
        print(f"ratio full / {name}: {full_median / medians[name]:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
