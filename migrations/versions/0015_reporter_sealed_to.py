"""Which public key each case's reporter copy is sealed to, so a lost one can be resealed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

Reviewed by hand. cases.reporter_sealed_to holds the reporter's public key that the case
key's reporter copy is sealed to. A leader whose key was reset (flask user reset, or the
administrator's reset) has a new key: his copies no longer open, and a desk member may
seal the case key to him again after checking it is him. For existing cases the column is
the reporter's current public key, unless the audit trail shows a key reset of his after
the case was received (or he has no key now): then it stays empty, and the case counts
as sealed to a key he lost. Downgrade drops the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reporter_sealed_to", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE cases SET reporter_sealed_to = "
        "(SELECT users.public_key FROM users WHERE users.id = cases.reporter_id) "
        "WHERE reporter_sealed_key IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM audit_entries WHERE audit_entries.action = 'account.key_reset' "
        "AND audit_entries.target = 'user:' || cases.reporter_id "
        "AND audit_entries.at >= cases.received_at)"
    )


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reporter_sealed_to")
