"""The possible-duplicate hint: a blind index of each case's victim, a sealed key per ward.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Reviewed by hand. Every existing ward gets a random index key, sealed with HPKE to each of
its desks' public keys (desks.index_sealed_key): the migration sees each key once and
keeps nothing but the sealed copies, so the server cannot compute an index afterwards (see
incidents.cases.duplicates). cases.victim_index holds each case's index SEALED under the
case's own key (AES-256-GCM, field "victim_index"): no two rows hold a value that compares
equal, so it has no database index (there is nothing to look up by). It starts empty: the
server cannot compute it, only a desk member's keys can, so each existing case is indexed
at its next status change or when a desk member asks for its possible duplicates.

downgrade() drops the sealed indexes and the sealed keys: the keys are gone for good, and
a later upgrade makes new ones (the indexes are recomputed as cases are worked on).
"""

import sqlalchemy as sa
from alembic import op

from incidents.crypto.blind_index import index_key_info, new_index_key
from incidents.crypto.keys import seal_to

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _seal_index_keys():
    desks = sa.table(
        "desks",
        sa.column("id", sa.Integer),
        sa.column("ward_id", sa.Integer),
        sa.column("public_key", sa.LargeBinary),
        sa.column("index_sealed_key", sa.LargeBinary),
    )
    connection = op.get_bind()
    by_ward: dict[int, list] = {}
    for desk in connection.execute(sa.select(desks.c.id, desks.c.ward_id, desks.c.public_key)):
        by_ward.setdefault(desk.ward_id, []).append(desk)
    for ward_id, ward_desks in by_ward.items():
        index_key = new_index_key()
        for desk in ward_desks:
            sealed = seal_to(bytes(desk.public_key), index_key, index_key_info(ward_id, desk.id))
            connection.execute(
                desks.update().where(desks.c.id == desk.id).values(index_sealed_key=sealed)
            )


def upgrade():
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("index_sealed_key", sa.LargeBinary()))
    # Every desk there is now is a core desk; partner desks (0012) get no index key.
    _seal_index_keys()
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("victim_index", sa.LargeBinary()))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("victim_index")
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.drop_column("index_sealed_key")
