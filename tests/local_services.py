"""PostgreSQL and Redis for the suite when this machine runs them, so that `make test` on a
newcomer's machine runs the whole suite rather than half of it skipped.

Unless TEST_DATABASE_URL is already set (CI sets its own), a PostgreSQL server answering
on 127.0.0.1:5432 as user postgres (trust authentication) gets a scratch database of the
suite's own, dropped at the end; likewise TEST_REDIS_URL for a Redis answering on
127.0.0.1:6379. The summary at the end says which were used, and why a backend was not.
"""

import os
import secrets
import socket

import psycopg
from psycopg import sql

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_ADDRESS = ("127.0.0.1", 6379)
REDIS_URL = "redis://127.0.0.1:6379/0"


class LocalServices:
    """What the suite found and made; undone by close()."""

    def __init__(self):
        self.notes: list[str] = []
        self.scratch_database: str | None = None

    def open(self) -> None:
        """Set TEST_DATABASE_URL and TEST_REDIS_URL from this machine's servers, if any."""
        if os.environ.get("TEST_DATABASE_URL"):
            self.notes.append("PostgreSQL: TEST_DATABASE_URL as given")
        else:
            self._scratch_postgresql()
        if os.environ.get("TEST_REDIS_URL"):
            self.notes.append("Redis: TEST_REDIS_URL as given")
        elif _redis_answers():
            os.environ["TEST_REDIS_URL"] = REDIS_URL
            self.notes.append(f"Redis: {REDIS_URL} (this machine's)")
        else:
            self.notes.append(
                "Redis: none answered on 127.0.0.1:6379, so the shared throttle tests were "
                "SKIPPED (set TEST_REDIS_URL, or start redis-server)"
            )

    def _scratch_postgresql(self) -> None:
        name = f"incidents_test_{secrets.token_hex(4)}"
        try:
            with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
            self.notes.append(
                f"PostgreSQL: none usable on 127.0.0.1:5432 ({reason}), so every PostgreSQL "
                "test was SKIPPED (set TEST_DATABASE_URL, or start PostgreSQL with trust "
                "authentication for user postgres)"
            )
            return
        self.scratch_database = name
        os.environ["TEST_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        self.notes.append(f"PostgreSQL: scratch database {name} on 127.0.0.1:5432 (dropped)")

    def close(self) -> None:
        """Drop the scratch database, if one was made."""
        if self.scratch_database is None:
            return
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.scratch_database)
                )
            )
        os.environ.pop("TEST_DATABASE_URL", None)
        self.scratch_database = None


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS_ADDRESS, timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False
