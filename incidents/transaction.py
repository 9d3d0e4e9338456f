"""Committing an operation that may lose a race, by running it again."""

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

from incidents.extensions import db

T = TypeVar("T")


def commit_with_retry(operation: Callable[[], T], attempts: int = 6) -> T:
    """Run operation and commit; if a concurrent transaction won a race, roll back and retry.

    Two reports filed at once both read the ward's last case number: the second insert
    meets the unique constraint (PostgreSQL), or SQLite refuses its write because the
    snapshot it read is stale. Either way nothing was stored, so running the whole
    operation again is safe, and the report is filed instead of lost.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = operation()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable")
