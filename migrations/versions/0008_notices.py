"""Notices (in the app, and their e-mail outbox) and an optional e-mail address for users.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Reviewed by hand. A notice holds a user, a case's random id and a reason code: nothing
about the case. Its e-mail's state lives on the row (the outbox); the address is read
from users.email when the message is sent, and is never copied. Existing users have no
address: nobody is e-mailed until one is set.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254)))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32)),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.Column("mail_status", sa.String(length=16)),
        sa.Column("mail_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("mail_next_at", sa.DateTime(timezone=True)),
        sa.Column("mail_sent_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notices_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_notices_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notices_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notices_mail_status"), ["mail_status"], unique=False)


def downgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_mail_status"))
        batch_op.drop_index(batch_op.f("ix_notices_case_id"))
        batch_op.drop_index(batch_op.f("ix_notices_user_id"))
    op.drop_table("notices")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
