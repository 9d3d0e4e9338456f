"""Drafts, one case per report form, the questions that apply, a cap on wrong codes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Reviewed by hand. cases.submission_key is the digest of the one-time token of the form
that filed the case (NULL for cases filed before); drafts go with their user. Cases
gain the answers asked only when they apply (trafficking signs, a child's risk and
caregiver): none for the cases filed before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("second_factor_failures", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64)))
        batch_op.add_column(sa.Column("trafficking_indicators", sa.JSON()))
        batch_op.add_column(sa.Column("child_serious_risk", sa.Boolean()))
        batch_op.add_column(sa.Column("child_caregiver", sa.String(length=16)))
    # The cases filed before were asked about no sign of trafficking: an empty list.
    op.execute("UPDATE cases SET trafficking_indicators = '[]'")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("trafficking_indicators", existing_type=sa.JSON(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_cases_submission_key"), ["submission_key"]
        )
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_drafts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_updated_at"), ["updated_at"], unique=False)


def downgrade():
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_updated_at"))
        batch_op.drop_index(batch_op.f("ix_drafts_user_id"))
    op.drop_table("drafts")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_cases_submission_key"), type_="unique")
        batch_op.drop_column("child_caregiver")
        batch_op.drop_column("child_serious_risk")
        batch_op.drop_column("trafficking_indicators")
        batch_op.drop_column("submission_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("second_factor_failures")
