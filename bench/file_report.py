"""Cost of filing one report: the full path against a bare insert of the same clear row.

Files N reports (default 1,000) through the Flask test client — session and user loading,
form validation, classification, routing, AES-GCM sealing of every sensitive field, key
wrapping, routes, timeline, audit, one commit, the redirect. Then stores N copies of the
same clear row (sealed columns empty; no routes, timeline or audit), one commit each, in
three ways:

- through the test client too: the same signed-in POST with the same body, to a route
  this script adds, which inserts the row as an ORM object and redirects (the least any
  web request that stores a report does here);
- as an ORM object, without HTTP (the way this code base writes rows);
- as a Core INSERT, without HTTP (the cheapest way SQLAlchemy has).

Same SQLite file (WAL, synchronous=FULL), same process, one run. Prints medians, 90th
percentiles and the ratio of the full path to each baseline.

    .venv/bin/python bench/file_report.py [N]
"""

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import redirect  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bench.common import PASSWORD, bench_app, form_tokens, percentile, timed  # noqa: E402
from incidents.accounts.service import create_user  # noqa: E402
from incidents.cases.models import SEALED_FIELDS, Case, new_case_id  # noqa: E402
from incidents.crypto.fields import new_data_key, seal_text  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.wards.service import add_group, create_ward  # noqa: E402
from incidents.web import argon2_params  # noqa: E402
from tests.conftest import report_form  # noqa: E402


def main(count: int) -> None:
    folder = tempfile.mkdtemp(prefix="bench-file-report-")

    app = bench_app(folder)
    clear_row: dict = {}
    numbers = iter(range(100_000, 10_000_000))

    def bare_row() -> dict:
        number = next(numbers)
        # a copy of a filed case's clear row, under its own id, number and form token
        return dict(
            clear_row,
            id=new_case_id(),
            sequence=number,
            reference=f"BARE-{number}",
            submission_key=None,
        )

    @app.post("/bench/bare-insert")
    def bare_insert():
        db.session.add(Case(**bare_row()))
        db.session.commit()
        return redirect("/reports")

    with app.app_context():
        upgrade()
        ward, _ = create_ward(None, code="BN", name="Phường Đo Lường")
        group = add_group(None, ward, name="Tổ dân phố số 1")
        leader_id = create_user(
            None,
            ward=ward,
            username="leader",
            display_name="Leader",
            role="reporter",
            password=PASSWORD,
            params=argon2_params(),
            chosen_by_owner=True,
            groups=[group],
        ).id
        db.session.commit()
        group_id = group.id

    client = app.test_client()
    signed_in = client.post("/login", data={"username": "leader", "password": PASSWORD})
    assert signed_in.status_code == 302
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

    tokens = form_tokens(app, leader_id, count)

    def file_one():
        sent = {**form, "submission_token": next(tokens)}
        assert client.post("/report/new", data=sent).status_code == 302

    results = {"full path (HTTP, seal, audit)": timed(count, file_one)}

    with app.app_context():
        template = db.session.execute(select(Case.__table__).limit(1)).mappings().one()
        clear_row.update(
            {name: value for name, value in template.items() if name not in SEALED_FIELDS}
        )

    def bare_over_http():
        assert client.post("/bench/bare-insert", data=form).status_code == 302

    results["bare insert, HTTP + ORM"] = timed(count, bare_over_http)

    with app.app_context():
        statement = insert(Case.__table__)

        def orm_insert():
            db.session.add(Case(**bare_row()))
            db.session.commit()

        def core_insert():
            db.session.execute(statement, bare_row())
            db.session.commit()

        results["bare insert, ORM"] = timed(count, orm_insert)
        results["bare insert, Core"] = timed(count, core_insert)
        db.engine.dispose()

    sealed = {name: form[name] for name in SEALED_FIELDS if form.get(name)}

    def seal_one_report():
        data_key = new_data_key()
        for name, value in sealed.items():
            seal_text(data_key, value, "0" * 32, name, 1)

    results["context: sealing one report"] = timed(count, seal_one_report)

    print(f"reports filed: {count} (SQLite WAL, synchronous=FULL, {folder})")
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, times in results.items():
        print(
            f"{name:32} median {medians[name] * 1000:7.3f} ms"
            f"   p90 {percentile(times, 0.9) * 1000:7.3f} ms"
        )
    full = medians["full path (HTTP, seal, audit)"]
    for name in ("bare insert, HTTP + ORM", "bare insert, ORM", "bare insert, Core"):
        print(f"ratio full / {name + ':':26} {full / medians[name]:5.2f}x   (target <= 3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
