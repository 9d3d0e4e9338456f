"""What the possible-duplicate check costs a desk member, for a ward of N cases.

The check (incidents.cases.duplicates.look_for_duplicates, the case page's button) opens,
in the member's request, the case key (HPKE) and the sealed victim index (AES-GCM) of
every other case of the ward he can read, and compares. This files N reports (default 200,
then 1,000 in all) through the service on a throwaway SQLite file, indexes each with the
officer's keys as his first status change would, then times the check on one case: the
median of R runs (default 5), each rolled back (the check stores nothing but its audit
entry). Every 50th report is of the same victim, so the check finds N/50 - 1 matches.

    .venv/bin/python bench/duplicates.py [N ...] [--runs R]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from bench.common import PASSWORD, bench_app  # noqa: E402
from incidents.accounts.service import create_user, unlock_personal_key  # noqa: E402
from incidents.cases import duplicates, service  # noqa: E402
from incidents.cases.keys import MemberKeyring  # noqa: E402
from incidents.cases.models import Case  # noqa: E402
from incidents.crypto.keys import key_fingerprint  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.wards.service import add_group, create_ward, seat_by_recovery  # noqa: E402
from incidents.web import argon2_params  # noqa: E402
from tests.conftest import report_data  # noqa: E402

SAME_VICTIM = ("Nguyễn Thị Lan", "1990")


def _victim(number: int) -> tuple[str, str]:
    if number % 50 == 0:
        return SAME_VICTIM
    return f"Trần Thị Số {number}", str(1950 + number % 60)


def main(totals: list[int], runs: int) -> None:
    folder = tempfile.mkdtemp(prefix="bench-duplicates-")
    app = bench_app(folder, LOG_TO_INSTANCE=False)
    with app.app_context():
        upgrade()
        ward, recovery = create_ward(None, code="BD", name="Phường Đo Trùng Lặp")
        group = add_group(None, ward, name="Tổ dân phố số 1")
        users = {}
        for role in ("reporter", "officer"):
            users[role] = create_user(
                None,
                ward=ward,
                username=role,
                display_name=role,
                role=role,
                password=PASSWORD,
                params=argon2_params(),
                chosen_by_owner=True,
                groups=[group] if role == "reporter" else [],
            )
        desk = ward.desk("officer")
        seat_by_recovery(
            None,
            desk,
            users["officer"],
            recovery,
            checked_code=key_fingerprint(users["officer"].public_key),
        )
        db.session.commit()
        leader, officer = users["reporter"], users["officer"]
        seed = unlock_personal_key(officer, PASSWORD)

        filed: list[str] = []
        print(f"{'cases':>6} {'compared':>9} {'matches':>8} {'check (s), median':>18}")
        for total in sorted(totals):
            keyring = MemberKeyring(officer, seed)
            for number in range(len(filed), total):
                name, year = _victim(number)
                sealed = {"victim_name": name, "victim_birth_year": year}
                case = service.file_report(leader, report_data(group.id, sealed=sealed))
                duplicates.index_case(officer, case, keyring)
                filed.append(case.id)
                if number % 100 == 99:
                    db.session.commit()
            db.session.commit()
            times = []
            for _ in range(runs):
                case = db.session.get(Case, filed[0])  # the first of the same victim
                keyring = MemberKeyring(officer, seed)  # a request's keyring: nothing cached
                started = time.perf_counter()
                found = duplicates.look_for_duplicates(officer, case, keyring)
                times.append(time.perf_counter() - started)
                db.session.rollback()
            print(
                f"{total:>6} {found.compared:>9} {len(found.matches):>8} "
                f"{statistics.median(times):>18.3f}"
            )
        db.engine.dispose()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    runs = 5
    if "--runs" in arguments:
        at = arguments.index("--runs")
        runs = int(arguments[at + 1])
        del arguments[at : at + 2]
    main([int(value) for value in arguments] or [200, 1000], runs)
