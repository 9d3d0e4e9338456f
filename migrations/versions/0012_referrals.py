"""Referrals to partners: the partner desks of every ward, referrals and their answers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

Reviewed by hand. Each existing ward gets its four partner desks (health station, Women's
Union, school, shelter), each with a fresh key pair whose private key is sealed to the
ward's stored recovery public key, exactly as create_ward does: the recovery key seats a
partner desk's first member, and the server keeps no private key. referrals holds a
referral's clear codes and its sealed key and values; referral_answers the partners'
answers with their sealed notes. Downgrade drops both tables and the partner desks with
their seats (the partner accounts stay, seated nowhere).
"""

import sqlalchemy as sa
from alembic import op

from incidents.crypto.keys import new_seed, public_key, seal_to

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PARTNER_KINDS = ("health_station", "womens_union", "school", "shelter")


def _partner_desks():
    bind = op.get_bind()
    meta = sa.MetaData()
    wards = sa.Table("wards", meta, autoload_with=bind)
    desks = sa.Table("desks", meta, autoload_with=bind)
    for ward in bind.execute(sa.select(wards.c.id, wards.c.recovery_public_key)).all():
        present = set(bind.scalars(sa.select(desks.c.kind).where(desks.c.ward_id == ward.id)))
        for kind in PARTNER_KINDS:
            if kind in present:
                continue
            seed = new_seed()
            desk_id = bind.execute(
                desks.insert()
                .values(
                    ward_id=ward.id,
                    kind=kind,
                    public_key=public_key(seed),
                    recovery_sealed_key=b"",
                )
                .returning(desks.c.id)
            ).scalar_one()
            bind.execute(
                desks.update()
                .where(desks.c.id == desk_id)
                .values(
                    recovery_sealed_key=seal_to(
                        bytes(ward.recovery_public_key),
                        seed,
                        f"incidents/desk-key/v1|{desk_id}|recovery:{ward.id}",
                    )
                )
            )


def upgrade():
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("referred_by_id", sa.Integer(), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("consent_by", sa.String(length=16), nullable=True),
        sa.Column("consent_how", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("case_sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("victim_name", sa.LargeBinary(), nullable=True),
        sa.Column("victim_phone", sa.LargeBinary(), nullable=True),
        sa.Column("victim_address", sa.LargeBinary(), nullable=True),
        sa.Column("victim_profile", sa.LargeBinary(), nullable=True),
        sa.Column("kinds", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["desk_id"], ["desks.id"]),
        sa.ForeignKeyConstraint(["referred_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_desk_id"), ["desk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_state"), ["state"], unique=False)
    op.create_table(
        "referral_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_answers_referral_id"), ["referral_id"], unique=False
        )
    _partner_desks()


def downgrade():
    with op.batch_alter_table("referral_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_answers_referral_id"))
    op.drop_table("referral_answers")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_state"))
        batch_op.drop_index(batch_op.f("ix_referrals_desk_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_case_id"))
    op.drop_table("referrals")
    bind = op.get_bind()
    meta = sa.MetaData()
    desks = sa.Table("desks", meta, autoload_with=bind)
    members = sa.Table("desk_members", meta, autoload_with=bind)
    partner_desks = sa.select(desks.c.id).where(desks.c.kind.in_(PARTNER_KINDS))
    bind.execute(members.delete().where(members.c.desk_id.in_(partner_desks)))
    bind.execute(desks.delete().where(desks.c.kind.in_(PARTNER_KINDS)))
