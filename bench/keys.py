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

from flask import redirect  # noqa: E402
from flask_login import current_user  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from bench.common import PASSWORD, bench_app, form_tokens, timed  # noqa: E402
from config import ProductionConfig  # noqa: E402
from incidents.accounts import factors  # noqa: E402
from incidents.accounts.models import User  # noqa: E402
from incidents.accounts.service import create_user, unlock_personal_key  # noqa: E402
from incidents.audit.service import record  # noqa: E402
from incidents.cases.models import SEALED_FIELDS, Case, new_case_id  # noqa: E402
from incidents.cases.service import CaseContent  # noqa: E402
from incidents.crypto.keys import key_fingerprint  # noqa: E402
from incidents.crypto.totp import code_at, new_secret, step_at  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.triage import views as triage_views  # noqa: E402
from incidents.wards.service import add_group, create_ward, seat_by_recovery  # noqa: E402
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
    totp_secret = new_secret()

    def read_in_the_clear(user, case, keyring):
        # What service.read_case gives, without opening a key or a value: the same read
        # audited, the values as they would be stored in the clear.
        record("case.read", actor=user, target=case.id)
        return CaseContent(
            fields=dict(plain_values["fields"]),
            notes=[(note, plain_values["note"]) for note in case.notes],
        )

    @app.get("/bench/clear-case/<case_id>")
    def clear_case_page(case_id):
        # The real case page (triage.views.render_case) with its one decrypting step
        # replaced: the rest of the page, and its cost, are the app's own.
        case = get_case_or_404(current_user, case_id)
        decrypting = triage_views.service.read_case
        triage_views.service.read_case = read_in_the_clear
        try:
            return triage_views.render_case(case)
        finally:
            triage_views.service.read_case = decrypting

    numbers = iter(range(100_000, 10_000_000))

    @app.post("/bench/bare-insert")
    def bare_insert():
        number = next(numbers)
        db.session.add(
            Case(
                **dict(
                    clear_row,
                    id=new_case_id(),
                    sequence=number,
                    reference=f"B-{number}",
                    submission_key=None,
                )
            )
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
                seat_by_recovery(
                    None, desk, user, recovery, checked_code=key_fingerprint(user.public_key)
                )
                # Staff sign in with an authenticator code too (SECURITY.md property 10).
                now = time.time()
                seed = unlock_personal_key(user, PASSWORD)
                assert factors.enrol(
                    user, seed, totp_secret, code_at(totp_secret, step_at(now)), now
                )
                police_id = user.id
            else:
                leader_id = user.id
        db.session.commit()
        group_id = group.id

    values = {name: f"{name}: Nguyễn Thị Lan, Bản 2" for name in SEALED_FIELDS}
    values.update(
        victim_birth_year="1990", perpetrator_birth_year="1985", victim_phone="0912 345 678"
    )
    form = report_form(group_id, immediate_danger="yes", **values)
    plain_values["fields"] = values
    plain_values["note"] = "Đã gặp nạn nhân, đã liên hệ trạm y tế."

    leader, police = app.test_client(), app.test_client()

    def sign_in(web, username):
        form = {"username": username, "password": PASSWORD}
        if username == "police":
            form["code"] = code_at(totp_secret, step_at(time.time()))
        response = web.post("/login", data=form)
        assert response.status_code == 302 and "/login" not in response.headers["Location"]

    def forget_last_code():
        # One code signs in once (replay rule): the timed sign-ins share one 30 s step.
        with app.app_context():
            db.session.execute(update(User).where(User.id == police_id).values(totp_last_step=None))
            db.session.commit()

    sign_in(leader, "leader")
    sign_in_times = []
    for _ in range(max(5, count // 20)):  # each sign-in costs two 64 MiB Argon2id runs
        police.post("/logout")
        forget_last_code()
        started = time.perf_counter()
        sign_in(police, "police")
        sign_in_times.append(time.perf_counter() - started)

    tokens = form_tokens(app, leader_id, count)

    def file_one():
        sent = {**form, "submission_token": next(tokens)}
        assert leader.post("/report/new", data=sent).status_code == 302

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
    shown = police.get(f"/cases/{case_id}")
    assert shown.status_code == 200, shown.status_code
    page = shown.get_data(as_text=True)
    missing = [name for name, value in values.items() if value not in page]
    assert not missing, f"the page shows every value, not {missing}"

    clear = police.get(f"/bench/clear-case/{case_id}")
    assert clear.status_code == 200 and values["narrative"] in clear.get_data(as_text=True)
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
