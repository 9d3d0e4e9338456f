"""The audit trail becomes a hash chain the database will not let anyone rewrite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Reviewed by hand. Entries gain their ward (the actor's, for the existing ones) and are
chained in id order (seq 1, 2, ...); the chain's head gets its own one-row table.
Triggers on SQLite and PostgreSQL make UPDATE and DELETE of audit entries (and TRUNCATE on
PostgreSQL) fail, let an entry in only at the head's position, and let the head only move
forward, one step at a time. They stop the application and its bugs; an owner of the
tables can drop them, so production runs the app under a role that does not own them
(see the README). downgrade() drops them.
"""

import sqlalchemy as sa
from alembic import op

from incidents.audit.chain import GENESIS, entry_hash

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    # INSERT OR REPLACE would delete a row without firing the delete trigger: an entry
    # goes in only new, and only at the position the head has just given out.
    "CREATE TRIGGER audit_entries_only_at_head BEFORE INSERT ON audit_entries "
    "WHEN NEW.seq <> (SELECT seq FROM audit_head WHERE id = 1) "
    "OR EXISTS (SELECT 1 FROM audit_entries WHERE id = NEW.id OR seq = NEW.seq) "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head "
    "WHEN NEW.seq NOT IN (OLD.seq, OLD.seq + 1) OR NEW.id <> OLD.id "
    "BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END",
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END",
)
POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$",
    "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN IF TG_OP = 'DELETE' OR NEW.seq NOT IN (OLD.seq, OLD.seq + 1) "
    "OR NEW.id <> OLD.id THEN RAISE EXCEPTION 'the audit head only moves forward'; END IF; "
    "RETURN NEW; END $$",
    "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()",
)


def upgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ward_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.LargeBinary(length=32), nullable=True))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )

    bind = op.get_bind()
    op.execute(
        "UPDATE audit_entries SET ward_id = "
        "(SELECT ward_id FROM users WHERE users.id = audit_entries.actor_id)"
    )
    entries = sa.Table("audit_entries", sa.MetaData(), autoload_with=bind)
    previous, seq = GENESIS, 0
    for row in bind.execute(sa.select(entries).order_by(entries.c.id)).mappings().all():
        seq += 1
        entry = {**row, "seq": seq}
        digest = entry_hash(previous, entry)
        bind.execute(
            entries.update().where(entries.c.id == row["id"])
            .values(seq=seq, prev_hash=previous, hash=digest)
        )
        previous = digest
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": previous}])

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("seq", nullable=False)
        batch_op.alter_column("prev_hash", nullable=False)
        batch_op.alter_column("hash", nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_seq"), ["seq"])
        batch_op.create_index(batch_op.f("ix_audit_entries_ward_id"), ["ward_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_target"), ["target"], unique=False)
    for statement in SQLITE_TRIGGERS if bind.dialect.name == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "audit_entries_no_update", "audit_entries_no_delete", "audit_entries_only_at_head",
            "audit_head_forward_only", "audit_head_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_head_forward_only()")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_target"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_ward_id"))
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("ward_id")
