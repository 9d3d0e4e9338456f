"""Questions to the reporter, and their answers, sealed under the case key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Reviewed by hand. A new table only: nothing existing changes. Its clear columns hold ids
and times; the question and the answer are AES-GCM ciphertexts bound to their row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("question", sa.LargeBinary(), nullable=False),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asked_by_id"], ["users.id"], name=op.f("fk_case_questions_asked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_questions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_case_questions_closed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_questions")),
    )
    with op.batch_alter_table("case_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_questions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_questions_closed_at"), ["closed_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("case_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_questions_closed_at"))
        batch_op.drop_index(batch_op.f("ix_case_questions_case_id"))
    op.drop_table("case_questions")
