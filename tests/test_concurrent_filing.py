"""Leaders sending at once against a running server (bench/concurrent_filing.py's burst)."""

from collections import Counter

from bench.concurrent_filing import file_at_once


def test_fifty_leaders_sending_at_once_are_all_filed_numbered_without_a_gap(csrf_app, db):
    """Werkzeug's threaded server (make run's), CSRF on: 50 answers, all the confirmation's
    redirect (no 500), and cases 1..50, each number once."""
    burst = file_at_once(csrf_app, 50)
    assert burst.statuses == Counter({302: 50})
    assert burst.sequences == list(range(1, 51))
