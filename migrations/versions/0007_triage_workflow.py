"""The triage workflow: a version per case, a handler, merges, sealed reasons, legal clocks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Reviewed by hand. cases.version starts at 1 (optimistic locking); handler_id and
merged_into_id start empty; case_events.body holds the reason a person typed for a step,
sealed under the case key (none for the steps before). case_deadlines holds the legal
clocks: the open cases filed before get the clocks their facts start, counted from when
they were received, with the default durations (a ward's own settings apply from the next
clock on), the chairman's met if he already took a step on the case; a closed case gets
none.
"""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHILD_AGE_BANDS = ("under_16", "16_17")
WARD_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _five_working_days(moment):
    local = moment.astimezone(WARD_ZONE)
    days = 5
    while days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            days -= 1
    return local.astimezone(UTC)


def _backfill_clocks():
    cases = sa.table(
        "cases",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("kinds", sa.JSON),
        sa.column("victim_age_band", sa.String),
        sa.column("child_serious_risk", sa.Boolean),
        sa.column("received_at", sa.DateTime(timezone=True)),
    )
    deadlines = sa.table(
        "case_deadlines",
        sa.column("case_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("met_at", sa.DateTime(timezone=True)),
    )
    events = sa.table(
        "case_events",
        sa.column("case_id", sa.String),
        sa.column("actor_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("role", sa.String))
    connection = op.get_bind()
    # A chairman who already took a step on a case was informed then: his clock is met.
    chairman_steps = dict(
        connection.execute(
            sa.select(events.c.case_id, sa.func.min(events.c.at))
            .join(users, users.c.id == events.c.actor_id)
            .where(users.c.role == "chairman", events.c.kind == "status")
            .group_by(events.c.case_id)
        ).all()
    )
    rows = []
    for case in connection.execute(sa.select(cases).where(cases.c.status != "closed")):
        received = case.received_at
        received = received.replace(tzinfo=UTC) if received.tzinfo is None else received
        due = {"chairman_informed": received + timedelta(hours=1)}
        if case.victim_age_band in CHILD_AGE_BANDS:
            if case.child_serious_risk:
                due["child_emergency"] = received + timedelta(hours=12)
            due["child_plan"] = _five_working_days(received)
        if "trafficking" in (case.kinds or []):
            due["trafficking_verification"] = received + timedelta(days=3)
        rows += [
            {
                "case_id": case.id,
                "kind": kind,
                "started_at": received,
                "due_at": at,
                "met_at": chairman_steps.get(case.id) if kind == "chairman_informed" else None,
            }
            for kind, at in due.items()
        ]
    if rows:
        connection.execute(deadlines.insert(), rows)


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handler_id", sa.Integer()))
        batch_op.add_column(sa.Column("merged_into_id", sa.String(length=32)))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_handler_id_users"), "users", ["handler_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_merged_into_id_cases"), "cases", ["merged_into_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_cases_handler_id"), ["handler_id"], unique=False)
    # The default only fills the rows already there: the application sets the version.
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.LargeBinary()))
    op.create_table(
        "case_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True)),
        sa.Column("met_by_id", sa.Integer()),
        sa.Column("escalated_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_deadlines_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["met_by_id"], ["users.id"], name=op.f("fk_case_deadlines_met_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_deadlines")),
        sa.UniqueConstraint(
            "case_id", "kind", "started_at", name=op.f("uq_case_deadlines_case_id")
        ),
    )
    with op.batch_alter_table("case_deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_deadlines_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_deadlines_due_at"), ["due_at"], unique=False)
    _backfill_clocks()


def downgrade():
    with op.batch_alter_table("case_deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_deadlines_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_deadlines_case_id"))
    op.drop_table("case_deadlines")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("body")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_handler_id"))
        batch_op.drop_constraint(batch_op.f("fk_cases_merged_into_id_cases"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_cases_handler_id_users"), type_="foreignkey")
        batch_op.drop_column("version")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("handler_id")
