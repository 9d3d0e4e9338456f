"""Many group leaders pressing "send" at the same moment, against a running server.

Serves the app the way `make run` does (Werkzeug's threaded server, one process) on a
fresh database (a new SQLite file by default; a PostgreSQL database with --database-url),
signs N leaders in over HTTP (each with his own cookies, CSRF on), opens the report form
for each, then sends all N reports at once from N threads. Prints the answers by status,
the filings per second of the burst, and checks what the ward's database holds: N cases,
numbered 1..N without a gap or a duplicate. Exits with status 1 when an answer is not the
redirect to the confirmation, or the numbers are wrong.

    .venv/bin/python bench/concurrent_filing.py [N] [--database-url URL]
"""

import argparse
import http.cookiejar
import logging
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import MetaData, select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bench.common import PASSWORD  # noqa: E402
from incidents.accounts.service import create_user  # noqa: E402
from incidents.cases.models import Case  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.wards.service import add_group, create_ward  # noqa: E402
from incidents.web import argon2_params  # noqa: E402
from tests.conftest import make_test_app, report_form  # noqa: E402

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_SUBMISSION = re.compile(r'name="submission_token" type="hidden" value="([^"]+)"')


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Burst:
    """What one burst of filings gave: the answers' statuses, its duration, the numbers."""

    statuses: Counter
    seconds: float
    sequences: list[int]

    @property
    def all_filed(self) -> bool:
        """Every answer the confirmation's redirect, and numbers 1..N once each."""
        count = sum(self.statuses.values())
        return self.statuses == Counter({302: count}) and self.sequences == list(
            range(1, count + 1)
        )


class Browser:
    """One leader's phone: its own cookies, no automatic redirects."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects
        )

    def request(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = None if form is None else urllib.parse.urlencode(form, doseq=True).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=120) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _ward_with_leaders(app, count: int) -> list[tuple[str, int]]:
    """A ward with one group and count leaders; their (username, group id)."""
    with app.app_context():
        ward, _recovery = create_ward(None, code="CF", name="Phường Thử Nghiệm")
        group = add_group(None, ward, name="Tổ dân phố số 1")
        leaders = [
            create_user(
                None,
                ward=ward,
                username=f"leader{number}",
                display_name="Tổ trưởng",
                role="reporter",
                password=PASSWORD,
                params=argon2_params(),
                groups=[group],
                chosen_by_owner=True,
            )
            for number in range(count)
        ]
        db.session.commit()
        return [(leader.username, group.id) for leader in leaders]


def file_at_once(app, count: int) -> Burst:
    """Serve app, sign count leaders in, send their reports at once; what came of it."""
    leaders = _ward_with_leaders(app, count)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        ready = []
        for username, group_id in leaders:
            phone = Browser(base)
            _status, page = phone.request("/login")
            status, _page = phone.request(
                "/login",
                {
                    "csrf_token": _CSRF.search(page).group(1),
                    "username": username,
                    "password": PASSWORD,
                },
            )
            assert status == 302, f"sign-in failed: {status}"
            _status, page = phone.request("/report/new")
            form = report_form(group_id, immediate_danger="yes")
            form["csrf_token"] = _CSRF.search(page).group(1)
            form["submission_token"] = _SUBMISSION.search(page).group(1)
            form["action"] = "send"
            ready.append((phone, form))
        start = threading.Barrier(count + 1)
        statuses: Counter = Counter()
        lock = threading.Lock()

        def send(phone, form):
            start.wait()
            status, _page = phone.request("/report/new", form)
            with lock:
                statuses[status] += 1

        senders = [threading.Thread(target=send, args=pair) for pair in ready]
        for sender in senders:
            sender.start()
        start.wait()
        began = time.perf_counter()
        for sender in senders:
            sender.join()
        seconds = time.perf_counter() - began
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    with app.app_context():
        sequences = sorted(db.session.scalars(select(Case.sequence)).all())
        db.session.remove()
    return Burst(statuses=statuses, seconds=seconds, sequences=sequences)


def _fresh_schema(app) -> None:
    with app.app_context():
        leftovers = MetaData()
        leftovers.reflect(db.engine)
        leftovers.drop_all(db.engine)
        upgrade()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=50)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    arguments = parser.parse_args()
    logging.disable(logging.INFO)  # the migrations' and the server's request log
    folder = Path(tempfile.mkdtemp(prefix="bench-concurrent-"))
    url = arguments.database_url or f"sqlite:///{folder}/bench.sqlite3"
    app = make_test_app(url, str(folder / "instance"), WTF_CSRF_ENABLED=True)
    try:
        _fresh_schema(app)
        burst = file_at_once(app, arguments.count)
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    backend = url.split(":", 1)[0]
    print(f"{arguments.count} leaders sending at once, Werkzeug's threaded server, {backend}")
    print("answers: " + ", ".join(f"{n} x {s}" for s, n in sorted(burst.statuses.items())))
    print(f"burst: {burst.seconds:.2f} s, {arguments.count / burst.seconds:.1f} filings per s")
    gaps = sorted(set(range(1, arguments.count + 1)) - set(burst.sequences))
    print(f"cases stored: {len(burst.sequences)}; numbers missing: {gaps or 'none'}")
    print("OK" if burst.all_filed else "FAILED: not every report was filed once, in order")
    return 0 if burst.all_filed else 1


if __name__ == "__main__":
    sys.exit(main())
