"""What the benchmark scripts share: the app on a fresh SQLite file, timing helpers."""

import time

from incidents.accounts.models import User
from incidents.extensions import db
from incidents.reporting.submission import new_token
from tests.conftest import make_test_app

PASSWORD = "benchmark password 2026"


def bench_app(folder: str, **overrides):
    """A testing app on a new SQLite file (WAL, synchronous=FULL) in folder."""
    return make_test_app(f"sqlite:///{folder}/bench.sqlite3", folder, **overrides)


def timed(count, action) -> list[float]:
    """Durations in seconds of count runs of action."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def percentile(values, fraction):
    """The value below which the given fraction of the sorted values lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def form_tokens(app, user_id: int, count: int):
    """One-time report-form tokens, as count report forms opened by the leader would carry
    (a form files once: each filing of a benchmark needs its own), issued before timing."""
    with app.test_request_context():
        user = db.session.get(User, user_id)
        return iter([new_token(user) for _ in range(count)])
