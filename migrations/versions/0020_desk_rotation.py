"""Desk key renewal: when a member left, and the desk's MAC of each member's key.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08

Reviewed by hand. Adds desks.rotation_due_since (empty: no desk waits for renewal) and
desk_members.key_binding (empty on existing seats: nothing vouches for their keys yet, so a
renewal drops those seats, to be granted again with the typed key code; a seat granted from
now on carries it). Downgrade drops both columns.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("desks") as batch:
        batch.add_column(sa.Column("rotation_due_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("desk_members") as batch:
        batch.add_column(sa.Column("key_binding", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("desk_members") as batch:
        batch.drop_column("key_binding")
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("rotation_due_since")
