"""What the statistics cost at 1,000,000 cases, on SQLite and (when given) PostgreSQL.

For each backend, in one run: a fresh database (a throwaway SQLite file; a scratch
PostgreSQL database created and dropped on the server of TEST_DATABASE_URL or
--postgresql URL), N synthetic cases spread over two years (bulk Core INSERTs of clear
columns only, with their acknowledgement events, measures, services and outcomes), then:

1. the time to build the desks' working tables (stats.service.compute, median of 3)
   against the equivalent raw SQL GROUP BY queries run on the same database (median of
   3). Target: <= 1.5x.
2. the same for the statutory report (stats.statutory.compute: every regime's tables,
   persons counted once through the cases' links, the indicators) against hand-written
   GROUP BY queries of the same counts (without the persons' correction, which only
   ours does). Target: <= 1.5x.
3. the number of SQL statements the statistics page issues (its view and template,
   rendered in a request context with the officer signed in: the statutory report and
   the working tables) at 1,000 cases and at N. Target: equal.

    nice .venv/bin/python bench/stats.py [N] [--postgresql URL]
"""

import argparse
import os
import random
import statistics as stats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_login import login_user  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import PASSWORD  # noqa: E402
from incidents.accounts.service import create_user  # noqa: E402
from incidents.cases.models import (  # noqa: E402
    Case,
    CaseEvent,
    CaseLink,
    PerpetratorOutcome,
    ProtectionMeasure,
    SupportService,
)
from incidents.crypto.keys import key_fingerprint  # noqa: E402
from incidents.extensions import db  # noqa: E402
from incidents.stats import periods, service, statutory, views  # noqa: E402
from incidents.vocab import (  # noqa: E402
    ACTS,
    AGE_BANDS,
    CHILD_ABUSE_ENVIRONMENTS,
    CHILD_ABUSE_FORMS,
    CONTEXT_FLAGS,
    GBV_TYPES,
    HARM_FORMS,
    KINDS,
    PROTECTION_MEASURES,
    RELATIONSHIPS,
    SEXES,
    SUPPORT_SERVICES,
    TRAFFICKING_PURPOSES,
    TRAFFICKING_STATUSES,
    TRAFFICKING_WHEREABOUTS,
    VICTIM_CIRCUMSTANCES,
    codes,
)
from incidents.wards.service import add_group, create_ward, seat_by_recovery  # noqa: E402
from incidents.web import argon2_params  # noqa: E402
from tests.conftest import counted_statements, make_test_app  # noqa: E402

BATCH = 20_000
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)


def insert_cases(ward_id, group_ids, reporter_id, count, *, seed=2026, first_sequence=1):
    """Insert count synthetic cases (clear columns only) and their rows; commit."""
    rng = random.Random(seed * 10_000_019 + first_sequence)
    kinds, harms = codes(KINDS), codes(HARM_FORMS)
    measures, services = codes(PROTECTION_MEASURES), codes(SUPPORT_SERVICES)
    statuses = ("new", "acknowledged", "in_progress", "waiting_info", "closed", "reopened")
    reasons = ("resolved", "unfounded", "criminal_procedure")
    cases, events, applied, received, outcomes, links = [], [], [], [], [], []
    previous = None

    def flush():
        for model, rows in (
            (Case, cases),
            (CaseLink, links),
            (CaseEvent, events),
            (ProtectionMeasure, applied),
            (SupportService, received),
            (PerpetratorOutcome, outcomes),
        ):
            if rows:
                db.session.execute(insert(model), rows)
                rows.clear()
        db.session.commit()

    for number in range(first_sequence, first_sequence + count):
        case_id = uuid.UUID(int=rng.getrandbits(128)).hex
        received_at = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        status = rng.choice(statuses)
        kind = rng.sample(kinds, rng.choice((1, 1, 2)))
        cases.append(
            dict(
                id=case_id,
                ward_id=ward_id,
                group_id=rng.choice(group_ids),
                reporter_id=reporter_id,
                year=received_at.year,
                sequence=number,
                reference=f"BN-{number:07d}",
                kinds=kind,
                harm_forms=rng.sample(harms, rng.choice((0, 1, 1, 2))),
                acts=rng.sample(codes(ACTS), rng.choice((0, 1, 2))),
                gbv_type=rng.choice(codes(GBV_TYPES)),
                context_flags=rng.sample(codes(CONTEXT_FLAGS), rng.choice((0, 0, 1))),
                verification=rng.choice(("verified",) * 8 + ("unfounded", "pending")),
                child_abuse_forms=rng.sample(codes(CHILD_ABUSE_FORMS), rng.choice((0, 1))),
                child_abuse_environments=rng.sample(codes(CHILD_ABUSE_ENVIRONMENTS), 1),
                trafficking_status=rng.choice(codes(TRAFFICKING_STATUSES)),
                trafficking_whereabouts=rng.choice(codes(TRAFFICKING_WHEREABOUTS)),
                trafficking_purposes=rng.sample(codes(TRAFFICKING_PURPOSES), 1),
                immediate_danger=False,
                urgency="normal",
                status=status,
                close_reason=rng.choice(reasons) if status == "closed" else None,
                victim_sex=rng.choice(codes(SEXES)),
                victim_age_band=rng.choice(codes(AGE_BANDS)),
                victim_circumstances=rng.sample(codes(VICTIM_CIRCUMSTANCES), rng.choice((0, 0, 1))),
                trafficking_indicators=[],
                perpetrator_relationship=rng.choice(codes(RELATIONSHIPS)),
                perpetrator_sex=rng.choice(codes(SEXES)),
                perpetrator_age_band=rng.choice(codes(AGE_BANDS)),
                channel="phone",
                source="victim",
                receiving_point="group_leader",
                consent="agreed",
                consent_statistics=rng.random() < 0.9,
                signs_of_crime=False,
                incident_date=received_at.date(),
                received_at=received_at,
                routing_reason="other_violence",
                key_version=1,
                version=1,
            )
        )
        # One case in fifty is a desk's "the same victim, the same man" as the one before.
        if previous and rng.random() < 0.02:
            for link in ("same_victim", "same_perpetrator"):
                links.append(
                    dict(case_id=case_id, other_case_id=previous, kind=link, linked_at=received_at)
                )
        previous = case_id
        if status != "new":
            at = received_at + timedelta(minutes=rng.randrange(3 * 24 * 60))
            events.append(
                dict(
                    case_id=case_id,
                    at=at,
                    kind="status",
                    detail={"from": "new", "to": "acknowledged"},
                )
            )
        if rng.random() < 0.2:
            applied.append(
                dict(
                    case_id=case_id,
                    measure=rng.choice(measures),
                    applied_on=received_at.date(),
                    recorded_by_id=reporter_id,
                    recorded_at=received_at,
                )
            )
        if rng.random() < 0.4:
            received.append(
                dict(
                    case_id=case_id,
                    service=rng.choice(services),
                    received_on=received_at.date(),
                    recorded_by_id=reporter_id,
                    recorded_at=received_at,
                )
            )
        if rng.random() < 0.3:
            outcomes.append(
                dict(
                    case_id=case_id,
                    counselled=rng.random() < 0.6,
                    prosecuted=rng.random() < 0.2,
                    recorded_by_id=reporter_id,
                    recorded_at=received_at,
                    version=1,
                )
            )
        if len(cases) >= BATCH:
            flush()
    flush()


def raw_queries(dialect: str) -> list[str]:
    """The same counts as compute(), hand-written: :ward, :start, :end, :last bound."""
    pg = dialect == "postgresql"
    elements = "json_array_elements_text({}) AS e(value)" if pg else "json_each({}) AS e"
    counted = (
        "c.ward_id = :ward AND c.received_at >= :start AND c.received_at < :end"
        " AND NOT (c.close_reason = 'duplicate' AND c.merged_into_id IS NOT NULL)"
    )
    hours = (
        "extract(epoch from a.at - c.received_at) / 3600.0"
        if pg
        else "(julianday(a.at) - julianday(c.received_at)) * 24.0"
    )
    month = (
        "to_char(timezone('Asia/Ho_Chi_Minh', c.received_at), 'YYYY-MM')"
        if pg
        else "strftime('%Y-%m', c.received_at, '+420 minutes')"
    )
    from_new = "e.detail ->> 'from' = 'new'" if pg else "json_extract(e.detail, '$.from') = 'new'"
    trafficking = (
        f"EXISTS (SELECT 1 FROM {elements.format('c.kinds')} WHERE e.value = 'trafficking')"
        " AND (c.close_reason IS NULL OR c.close_reason != 'unfounded')"
    )
    served = (
        "EXISTS (SELECT 1 FROM case_services s WHERE s.case_id = c.id AND s.received_on <= :last)"
    )
    one = "SELECT {0}, count(*) FROM cases c WHERE " + counted + " GROUP BY {0}"
    return [
        one.format("c.status, c.close_reason"),
        f"SELECT e.value, count(*) FROM cases c JOIN {elements.format('c.kinds')} ON true"
        f" WHERE {counted} GROUP BY e.value",
        f"SELECT e.value, count(*) FROM cases c JOIN {elements.format('c.harm_forms')} ON true"
        f" WHERE {counted} GROUP BY e.value",
        one.format("c.perpetrator_sex"),
        "SELECT m.measure, count(DISTINCT m.case_id) FROM case_measures m"
        f" JOIN cases c ON c.id = m.case_id WHERE {counted} AND m.applied_on <= :last"
        " GROUP BY m.measure",
        one.format("c.victim_sex, c.victim_age_band"),
        one.format("c.group_id"),
        f"SELECT CASE WHEN a.at IS NULL THEN 'not_yet' WHEN {hours} < 1 THEN 'under_1h'"
        f" WHEN {hours} < 12 THEN '1_12h' WHEN {hours} < 24 THEN '12_24h' ELSE 'over_24h'"
        " END AS band, count(*) FROM cases c LEFT JOIN (SELECT e.case_id, min(e.at) AS at"
        f" FROM case_events e WHERE e.kind = 'status' AND {from_new} GROUP BY e.case_id) a"
        f" ON a.case_id = c.id WHERE {counted} GROUP BY band",
        f"SELECT {month} AS month, count(*) FROM cases c WHERE {counted} GROUP BY month",
        f"SELECT sum(CASE WHEN {served} THEN 1 ELSE 0 END),"
        " sum(CASE WHEN o.prosecuted = false THEN 1 ELSE 0 END),"
        " sum(CASE WHEN o.prosecuted = false AND o.counselled = true THEN 1 ELSE 0 END),"
        f" sum(CASE WHEN {trafficking} THEN 1 ELSE 0 END),"
        f" sum(CASE WHEN {trafficking} AND {served} THEN 1 ELSE 0 END)"
        " FROM cases c LEFT JOIN case_perpetrator_outcomes o ON o.case_id = c.id"
        f" WHERE {counted}",
    ]


def raw_statutory_queries(dialect: str) -> list[str]:
    """The statutory report's counts, hand-written: :ward, :start, :end, :last bound."""
    pg = dialect == "postgresql"
    elements = "json_array_elements_text({}) AS e(value)" if pg else "json_each({}) AS e"

    def has(column, code):
        return f"EXISTS (SELECT 1 FROM {elements.format(column)} WHERE e.value = '{code}')"

    received = (
        "c.ward_id = :ward AND c.received_at >= :start AND c.received_at < :end"
        " AND NOT (c.close_reason = 'duplicate' AND c.merged_into_id IS NOT NULL)"
    )
    verified = f"{received} AND c.verification = 'verified'"
    regimes = ("domestic_violence", "child_abuse", "trafficking", "gbv_outside_family")
    of = {regime: f"{verified} AND {has('c.kinds', regime)}" for regime in regimes}

    def by(where, *columns):
        listed = ", ".join(columns)
        return f"SELECT {listed}, count(*) FROM cases c WHERE {where} GROUP BY {listed}"

    def each(where, column):
        return (
            f"SELECT e.value, count(*) FROM cases c JOIN {elements.format(column)} ON true"
            f" WHERE {where} GROUP BY e.value"
        )

    def joined(where, table, column, day):
        return (
            f"SELECT x.{column}, count(DISTINCT x.case_id) FROM {table} x JOIN cases c"
            f" ON c.id = x.case_id WHERE {where} AND x.{day} <= :last GROUP BY x.{column}"
        )

    def support(where):
        return [
            joined(where, "case_measures", "measure", "applied_on"),
            joined(where, "case_services", "service", "received_on"),
        ]

    def share(where, counted, met):
        return (
            f"SELECT sum(CASE WHEN {counted} AND {met} THEN 1 ELSE 0 END),"
            f" sum(CASE WHEN {counted} THEN 1 ELSE 0 END) FROM cases c"
            f" LEFT JOIN case_perpetrator_outcomes o ON o.case_id = c.id WHERE {where}"
        )

    served = (
        "EXISTS (SELECT 1 FROM case_services s WHERE s.case_id = c.id AND s.received_on <= :last)"
    )
    violence = f"({has('c.kinds', 'domestic_violence')} OR {has('c.kinds', 'gbv_outside_family')})"
    period = f"SELECT c.id FROM cases c WHERE {received}"
    dv, child, trafficking, gbv = (of[regime] for regime in regimes)
    return [
        "SELECT count(*), sum(CASE WHEN c.verification = 'unfounded' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN c.verification = 'pending' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN c.verification = 'verified' THEN 1 ELSE 0 END), "
        + ", ".join(
            f"sum(CASE WHEN c.verification = 'verified' AND {has('c.kinds', r)} THEN 1 ELSE 0 END)"
            for r in regimes
        )
        + f" FROM cases c WHERE {received}",
        "SELECT l.kind, l.case_id, l.other_case_id FROM case_links l"
        " WHERE l.kind IN ('same_victim', 'same_perpetrator')"
        f" AND l.case_id IN ({period}) AND l.other_case_id IN ({period})",
        by(dv, "c.victim_sex", "c.victim_age_band"),
        each(dv, "c.harm_forms"),
        each(dv, "c.acts"),
        by(dv, "c.perpetrator_relationship"),
        by(dv, "c.perpetrator_sex", "c.perpetrator_age_band"),
        joined(dv, "case_measures", "measure", "applied_on"),
        "SELECT sum(CASE WHEN o.counselled THEN 1 ELSE 0 END),"
        " sum(CASE WHEN o.prosecuted THEN 1 ELSE 0 END) FROM cases c"
        f" JOIN case_perpetrator_outcomes o ON o.case_id = c.id WHERE {dv}",
        *support(dv),
        by(child, "c.victim_sex", "c.victim_age_band"),
        each(child, "c.child_abuse_forms"),
        each(child, "c.child_abuse_environments"),
        *support(child),
        by(trafficking, "c.victim_sex", "c.victim_age_band"),
        by(trafficking, "c.trafficking_status"),
        by(trafficking, "c.trafficking_whereabouts"),
        each(trafficking, "c.trafficking_purposes"),
        *support(trafficking),
        by(gbv, "c.victim_sex", "c.victim_age_band"),
        each(gbv, "c.harm_forms"),
        *support(gbv),
        by(verified, "c.gbv_type"),
        each(verified, "c.context_flags"),
        each(verified, "c.victim_circumstances"),
        share(f"{verified} AND {violence}", "true", served),
        share(
            f"{verified} AND {violence}",
            "o.case_id IS NOT NULL AND NOT coalesce(o.prosecuted, false)",
            "o.counselled",
        ),
        share(
            f"{verified} AND {has('c.kinds', 'trafficking')}"
            " AND c.trafficking_status = 'confirmed_victim'"
            " AND c.trafficking_whereabouts = 'returned'",
            "true",
            served,
        ),
    ]


def page_statements(app, officer_id, period) -> int:
    """SQL statements of the dashboard page for the period (view and template)."""
    with app.test_request_context(
        f"/stats/?first={period.first.isoformat()}&last={period.last.isoformat()}"
    ):
        from incidents.accounts.models import User

        login_user(db.session.get(User, officer_id))
        db.session.expire_all()
        with counted_statements(db.engine) as statements:
            views.dashboard()
        db.session.rollback()
        return len(statements)


def median_time(action, runs=3) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return stats.median(times)


def run(database_url: str, folder: str, count: int) -> None:
    dialect = make_url(database_url).get_backend_name()
    # Each database its own pins: both runs make a ward "BN" with a key of its own.
    pins = os.path.join(folder, f"recovery_key_pins-{dialect}")
    app = make_test_app(database_url, folder, LOG_TO_INSTANCE=False, RECOVERY_KEY_PINS_FILE=pins)
    with app.app_context():
        upgrade()
        ward, recovery = create_ward(None, code="BN", name="Phường Đo Lường")
        groups = [add_group(None, ward, name=f"Tổ dân phố số {n}") for n in range(1, 11)]
        officer = create_user(
            None,
            ward=ward,
            username="officer",
            display_name="Officer",
            role="officer",
            password=PASSWORD,
            params=argon2_params(),
            chosen_by_owner=True,
        )
        # The statistics are for a seated officer only (access.SEATED_ACTIONS).
        desk = ward.desk("officer")
        seat_by_recovery(
            None, desk, officer, recovery, checked_code=key_fingerprint(officer.public_key)
        )
        db.session.commit()
        ward_id, group_ids, officer_id = ward.id, [g.id for g in groups], officer.id
        # The six-month report that ends inside the synthetic span (01/11/2025-30/04/2026).
        period = periods.report_period(app.config["STATS_REPORTS"], "half_year", 2026)
        began = time.perf_counter()
        insert_cases(ward_id, group_ids, officer_id, 1_000)
        small = page_statements(app, officer_id, period)
        insert_cases(ward_id, group_ids, officer_id, count - 1_000, first_sequence=1_001)
        inserted = time.perf_counter() - began
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        large = page_statements(app, officer_id, period)

        def built(compute):
            def build():
                db.session.expire_all()
                compute(officer, period.first, period.last)
                db.session.rollback()

            return median_time(build)

        with app.test_request_context():
            officer = db.session.get(type(officer), officer_id)
            ours = built(service.compute)
            ours_statutory = built(statutory.compute)
        start, end = (
            datetime.combine(period.first, datetime.min.time()) - timedelta(hours=7),
            datetime.combine(period.last + timedelta(days=1), datetime.min.time())
            - timedelta(hours=7),
        )
        params = {
            "ward": ward_id,
            "start": start.replace(tzinfo=UTC) if dialect == "postgresql" else start,
            "end": end.replace(tzinfo=UTC) if dialect == "postgresql" else end,
            "last": period.last,
        }

        def raw(queries):
            def run():
                with db.engine.connect() as connection:
                    for query in queries:
                        connection.execute(text(query), params).all()

            return median_time(run)

        bare = raw(raw_queries(dialect))
        bare_statutory = raw(raw_statutory_queries(dialect))
        links = db.session.scalar(text("SELECT count(*) FROM case_links"))
        counted = db.session.scalar(
            text("SELECT count(*) FROM cases WHERE received_at >= :start AND received_at < :end"),
            params,
        )
    ratio = ours / bare
    print(
        f"[{dialect}] {count:,} cases inserted in {inserted:.1f} s;"
        f" six-month report {period.first:%d/%m/%Y}-{period.last:%d/%m/%Y}"
        f" ({counted:,} cases in the period)"
    )
    print(
        f"[{dialect}] build the tables: {ours * 1000:.0f} ms; raw SQL GROUP BY:"
        f" {bare * 1000:.0f} ms; ratio {ratio:.2f}x (target <= 1.5x)"
        f" {'OK' if ratio <= 1.5 else 'OVER TARGET'}"
    )
    ratio = ours_statutory / bare_statutory
    print(
        f"[{dialect}] statutory report ({links:,} links between cases):"
        f" {ours_statutory * 1000:.0f} ms; raw SQL GROUP BY: {bare_statutory * 1000:.0f} ms;"
        f" ratio {ratio:.2f}x (target <= 1.5x) {'OK' if ratio <= 1.5 else 'OVER TARGET'}"
    )
    print(
        f"[{dialect}] statistics page statements: {small} at 1,000 cases, {large} at {count:,}"
        f" (target: equal) {'OK' if small == large else 'DIFFERENT'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--postgresql", default=os.environ.get("TEST_DATABASE_URL"))
    arguments = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-stats-")
    run(f"sqlite:///{folder}/bench.sqlite3", folder, arguments.count)
    if arguments.postgresql:
        server = make_url(arguments.postgresql)
        scratch = f"bench_stats_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{scratch}"'))
        try:
            run(server.set(database=scratch).render_as_string(False), folder, arguments.count)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{scratch}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
