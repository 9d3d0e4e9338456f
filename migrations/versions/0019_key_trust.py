"""Key trust: the ward's signing key and the desks' signatures (SECURITY.md property 26).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08

Reviewed by hand. Adds wards.signing_public_key and desks.key_signature, both empty on
existing rows: nothing vouches for an existing ward's keys until its recovery key is typed
once (`flask --app wsgi ward certify --ward CODE --recovery-key-stdin`, or seating a member
with the recovery key on the desks page), which derives the signing key, pins the ward on
this server and signs its desks. Until then nothing is sealed to that ward's desks or
recovery key, and a production app refuses to start. Downgrade drops both columns.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wards") as batch:
        batch.add_column(sa.Column("signing_public_key", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("desks") as batch:
        batch.add_column(sa.Column("key_signature", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("key_signature")
    with op.batch_alter_table("wards") as batch:
        batch.drop_column("signing_public_key")
