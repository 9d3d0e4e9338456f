"""The case's actions: contact bans, protection measures, support services, outcomes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

Reviewed by hand. Four new tables, all empty at first, holding codes, ids, days and times
in the clear (the statistics count them): case_contact_bans (a request, the chairman's
decision and the ban's period; a refusal's typed reason is sealed in its timeline event,
not here), case_measures and case_services (a code and a day, once per code and day), and
case_perpetrator_outcomes (one row per case, two booleans). The handler already has its
column (cases.handler_id, 0007).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["case_id"], ["cases.id"], name=op.f(f"fk_{table}_case_id_cases"), ondelete="CASCADE"
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))


def upgrade():
    op.create_table(
        "case_contact_bans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("requester", sa.String(length=32), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by_id", sa.Integer()),
        sa.Column("starts_at", sa.DateTime(timezone=True)),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer(), nullable=False),
        _case_fk("case_contact_bans"),
        _user_fk("case_contact_bans", "recorded_by_id"),
        _user_fk("case_contact_bans", "decided_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_contact_bans")),
    )
    with op.batch_alter_table("case_contact_bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_contact_bans_case_id"), ["case_id"])

    for table, code, day in (
        ("case_measures", "measure", "applied_on"),
        ("case_services", "service", "received_on"),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("case_id", sa.String(length=32), nullable=False),
            sa.Column(code, sa.String(length=32), nullable=False),
            sa.Column(day, sa.Date(), nullable=False),
            sa.Column("recorded_by_id", sa.Integer(), nullable=False),
            sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
            _case_fk(table),
            _user_fk(table, "recorded_by_id"),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("case_id", code, day, name=op.f(f"uq_{table}_case_id")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_case_id"), ["case_id"])
            batch_op.create_index(batch_op.f(f"ix_{table}_{code}"), [code])

    op.create_table(
        "case_perpetrator_outcomes",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("counselled", sa.Boolean(), nullable=False),
        sa.Column("prosecuted", sa.Boolean(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _case_fk("case_perpetrator_outcomes"),
        _user_fk("case_perpetrator_outcomes", "recorded_by_id"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_perpetrator_outcomes")),
    )


def downgrade():
    op.drop_table("case_perpetrator_outcomes")
    for table, code in (("case_services", "service"), ("case_measures", "measure")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{code}"))
            batch_op.drop_index(batch_op.f(f"ix_{table}_case_id"))
        op.drop_table(table)
    with op.batch_alter_table("case_contact_bans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_contact_bans_case_id"))
    op.drop_table("case_contact_bans")
