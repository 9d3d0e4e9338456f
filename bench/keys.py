"""What the end-to-end keys cost, measured in one run.

- sign-in: the whole POST /login with the production Argon2id cost (64 MiB, t=3, p=4),
  which hashes twice (the login check and the key-encryption key) and unwraps the key;
- the case page of a case with 10 encrypted values (9 fields and a note), against the
  same page rendering the same values already in the clear (a route this script adds:
  same lookup, same template, same audit entry and access log, no decryption);
- filing a report sealed to three desks and the reporter, against a bare insert of the
  same clear row over the same HTTP path (see bench/file_report.py for more baselines).

Targets: sign-in under 1 s; case page <= 1.5x; filing <= 3x.

    .venv/bin/python bench/keys.py [N]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import redirect, render_template  # noqa: E402
from flask_login import current_user  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.common import PASSWORD, bench_app, timed  # noqa: E402
from config import ProductionConfig  # noqa: E402
from incidents.accounts.service import create_user  # noqa: E402
from incidents.audit.service import record  # noqa: E402
from incidents.audit.viewer import access_log  # noqa: E402
from incidents.cases.models import SEALED_FIELDS, Case, new_case_id  # noqa: E402
from incidents.cases.service import CaseContent  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.triage.forms import NoteForm, StatusForm  # noqa: E402
from incidents.vocab import CLOSE_REASONS  # noqa: E402
from incidents.wards.service import (  # noqa: E402
    add_group,
    create_ward,
    desk_seed_by_recovery,
    grant_seat,
)
from incidents.web import argon2_params, get_case_or_404  # noqa: E402
from tests.conftest import report_form  # noqa: E402


def main(count: int) -> None:
    folder = tempfile.mkdtemp(prefix="bench-keys-")

    app = bench_app(
        folder,
        ARGON2_MEMORY_KIB=ProductionConfig.ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS=ProductionConfig.ARGON2_ITERATIONS,
        ARGON2_LANES=ProductionConfig.ARGON2_LANES,
    )
    clear_row: dict = {}
    plain_values: dict = {}

    @app.get("/bench/clear-case/<case_id>")
    def clear_case_page(case_id):
        # The case page as it would be with the values in the clear: no decryption.
        case = get_case_or_404(current_user, case_id)
        record("case.read", actor=current_user, target=case.id)
        db.session.commit()
        content = CaseContent(
            fields=dict(plain_values["fields"]),
            notes=[(note, plain_values["note"]) for note in case.notes],
        )
        return render_template(
            "triage/case.html",
            case=case,
            content=content,
            status_form=StatusForm(formdata=None),
            note_form=NoteForm(formdata=None),
            route_form=None,
            access_log=access_log(case),
            close_reasons=CLOSE_REASONS,
        )

    numbers = iter(range(100_000, 10_000_000))

    @app.post("/bench/bare-insert")
    def bare_insert():
        number = next(numbers)
        db.session.add(
            Case(**dict(clear_row, id=new_case_id(), sequence=number, reference=f"B-{number}"))
        )
        db.session.commit()
        return redirect("/reports")

    with app.app_context():
        upgrade()
        ward, recovery = create_ward(None, code="BK", name="Phường Đo Khóa")
        group = add_group(None, ward, name="Tổ dân phố số 1")
        for role, username in (("reporter", "leader"), ("police", "police")):
            user = create_user(
                None,
                ward=ward,
                username=username,
                display_name=username,
                role=role,
                password=PASSWORD,
                params=argon2_params(),
                chosen_by_owner=True,
                groups=[group] if role == "reporter" else [],
            )
            if role == "police":
                desk = ward.desk("police")
                grant_seat(None, desk, user, desk_seed_by_recovery(desk, recovery))
        db.session.commit()
        group_id = group.id

    values = {name: f"{name}: Nguyễn Thị Lan, Bản 2" for name in SEALED_FIELDS}
    values.update(victim_birth_year="1990", victim_phone="0912 345 678")
    form = report_form(group_id, immediate_danger="yes", **values)
    plain_values["fields"] = values
    plain_values["note"] = "Đã gặp nạn nhân, đã liên hệ trạm y tế."

    leader, police = app.test_client(), app.test_client()

    def sign_in(web, username):
        response = web.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302

    sign_in(leader, "leader")
    sign_in_times = []
    for _ in range(max(5, count // 20)):  # each sign-in costs two 64 MiB Argon2id runs
        police.post("/logout")
        started = time.perf_counter()
        sign_in(police, "police")
        sign_in_times.append(time.perf_counter() - started)

    def file_one():
        assert leader.post("/report/new", data=form).status_code == 302

    filing = timed(count, file_one)
    with app.app_context():
        case_id = db.session.scalar(select(Case.id).limit(1))
        template = (
            db.session.execute(select(Case.__table__).where(Case.id == case_id)).mappings().one()
        )
        clear_row.update({k: v for k, v in template.items() if k not in SEALED_FIELDS})
    bare = timed(count, lambda: leader.post("/bench/bare-insert", data=form))
    note = police.post(f"/cases/{case_id}/notes", data={"text": plain_values["note"]})
    assert note.status_code == 302
    page = police.get(f"/cases/{case_id}").get_data(as_text=True)
    assert all(value in page for value in values.values()), "the page shows every value"

    encrypted_page = timed(count, lambda: police.get(f"/cases/{case_id}"))
    clear_page = timed(count, lambda: police.get(f"/bench/clear-case/{case_id}"))

    with app.app_context():
        db.engine.dispose()
    median = statistics.median
    print(f"runs: {count} (sign-ins: {len(sign_in_times)}), SQLite WAL in {folder}")
    print(
        f"sign-in, Argon2id 64 MiB x2 + unwrap   median {median(sign_in_times) * 1000:8.1f} ms"
        "   (target < 1000 ms)"
    )
    print(f"case page, 10 encrypted values         median {median(encrypted_page) * 1000:8.3f} ms")
    print(f"same page, values in the clear         median {median(clear_page) * 1000:8.3f} ms")
    print(
        f"ratio case page / clear page: {median(encrypted_page) / median(clear_page):.2f}x"
        "   (target <= 1.5x)"
    )
    print(f"filing, sealed to 3 desks + reporter   median {median(filing) * 1000:8.3f} ms")
    print(f"bare insert, same HTTP path            median {median(bare) * 1000:8.3f} ms")
    print(f"ratio filing / bare insert: {median(filing) / median(bare):.2f}x   (target <= 3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
