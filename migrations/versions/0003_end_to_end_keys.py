"""End-to-end keys: desks, personal key pairs, case keys sealed to desks and reporters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Reviewed by hand. The Foundation wrapped every case key under one server key. This
revision gives every existing case a NEW data key (its fields and notes re-encrypted,
key_version + 1), seals it with HPKE to the desks the case is routed to, and drops the
server-wrapped keys: afterwards the server key opens nothing, not even an old backup's
copy of a current ciphertext. It reads the Foundation's SERVER_KEY (the environment, else
the instance folder's server_key file, which it then deletes) and checks that the key
opens every case before it changes anything.

Existing wards get a recovery key, printed here once and stored nowhere. Existing users
get no key pair: each makes his own by choosing his own password at his next sign-in; the
officer or the chairman then seats the staff with the recovery key. Reports filed before
the upgrade cannot be read back by their leaders (no key of theirs existed).

downgrade() restores the Foundation's tables but cannot re-wrap case keys under a server
key: cases stay unreadable afterwards.
"""

import base64
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.crypto.fields import new_data_key, open_text, seal_text
from incidents.crypto.keys import format_recovery_key, new_seed, public_key, seal_to

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DESK_KINDS = ("police", "officer", "chairman")


def _server_key_file() -> Path | None:
    try:
        from flask import current_app
    except ImportError:
        return None
    try:
        return Path(current_app.instance_path) / "server_key"
    except RuntimeError:
        return None


def _server_key() -> bytes | None:
    encoded = os.environ.get("SERVER_KEY")
    path = _server_key_file()
    if not encoded and path is not None and path.exists():
        encoded = path.read_text().strip()
    return base64.b64decode(encoded) if encoded else None


def _foundation_data_keys(bind) -> dict[str, bytes]:
    """Every existing case's data key, opened with the server key, before any change."""
    cases = bind.execute(sa.text("SELECT id, key_version FROM cases")).all()
    if not cases:
        return {}
    server_key = _server_key()
    if server_key is None:
        raise RuntimeError(
            "cases exist: set SERVER_KEY (the Foundation's) so they can be re-sealed"
        )
    keys = {}
    for case_id, version in cases:
        wrapped = bind.execute(
            sa.text(
                "SELECT wrapped FROM case_keys "
                "WHERE case_id = :case AND holder = 'server' AND key_version = :version"
            ),
            {"case": case_id, "version": version},
        ).scalar_one()
        keys[case_id] = _unwrap_foundation_key(server_key, wrapped, case_id, version)
    return keys


def _unwrap_foundation_key(server_key: bytes, wrapped: bytes, case_id: str, version: int) -> bytes:
    # The Foundation's format (incidents.crypto.keywrap, now removed): 0x01 || nonce || ct.
    context = f"incidents/case-key/server-aesgcm-v1|{case_id}|{version}".encode()
    return AESGCM(server_key).decrypt(wrapped[1:13], wrapped[13:], context)


def upgrade():
    # First open every case with the server key: if one fails, nothing has changed yet.
    old_keys = _foundation_data_keys(op.get_bind())
    op.create_table(
        "desks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("recovery_sealed_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["wards.id"], name=op.f("fk_desks_ward_id_wards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desks")),
        sa.UniqueConstraint("ward_id", "kind", name=op.f("uq_desks_ward_id")),
    )
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desks_ward_id"), ["ward_id"], unique=False)
    op.create_table(
        "desk_members",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_desk_members_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["users.id"], name=op.f("fk_desk_members_granted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_desk_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "user_id", name=op.f("pk_desk_members")),
    )
    with op.batch_alter_table("desk_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_members_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovery_public_key", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("key_salt", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("key_params", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("password_wrapped_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("recovery_sealed_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("needs_own_password", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reporter_sealed_key", sa.LargeBinary(), nullable=True))
    # The Foundation's routes name a desk kind; the new ones a desk, with its sealed key.
    # Read them, then replace the table (a rename would keep its constraint names).
    bind = op.get_bind()
    foundation_routes = sa.Table("case_routes", sa.MetaData(), autoload_with=bind)
    old_routes = bind.execute(
        sa.select(
            foundation_routes.c.case_id, foundation_routes.c.desk, foundation_routes.c.routed_at
        )
    ).all()
    with op.batch_alter_table("case_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_routes_desk"))
    op.drop_table("case_routes")
    op.create_table(
        "case_routes",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_routes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_case_routes_desk_id_desks")
        ),
        sa.PrimaryKeyConstraint("case_id", "desk_id", name=op.f("pk_case_routes")),
    )

    _reseal_existing_data(old_routes, old_keys)

    op.drop_table("case_keys")
    with op.batch_alter_table("case_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_routes_desk_id"), ["desk_id"], unique=False)
    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.alter_column("recovery_public_key", nullable=False)
    path = _server_key_file()
    if old_keys or (path is not None and path.exists()):
        if path is not None and path.exists():
            path.unlink()
        print(
            "The Foundation's SERVER_KEY opens nothing any more: destroy every copy of it, "
            "and the backups taken before this upgrade (they hold the old ciphertexts)."
        )


def _reseal_existing_data(old_routes, old_keys: dict[str, bytes]):
    bind = op.get_bind()
    meta = sa.MetaData()
    wards, desks, cases, notes, new_routes = (
        sa.Table(name, meta, autoload_with=bind)
        for name in ("wards", "desks", "cases", "case_notes", "case_routes")
    )
    desk_public: dict[tuple[int, str], tuple[int, bytes]] = {}
    for ward in bind.execute(sa.select(wards.c.id, wards.c.code)).all():
        recovery = new_seed()
        recovery_public = public_key(recovery)
        bind.execute(
            wards.update().where(wards.c.id == ward.id).values(recovery_public_key=recovery_public)
        )
        print(f"RECOVERY KEY of ward {ward.code} (shown once): {format_recovery_key(recovery)}")
        for kind in DESK_KINDS:
            seed = new_seed()
            desk_id = bind.execute(
                desks.insert().values(
                    ward_id=ward.id, kind=kind, public_key=public_key(seed),
                    recovery_sealed_key=b"",
                ).returning(desks.c.id)
            ).scalar_one()
            bind.execute(
                desks.update().where(desks.c.id == desk_id).values(
                    recovery_sealed_key=seal_to(
                        recovery_public, seed, f"incidents/desk-key/v1|{desk_id}|recovery:{ward.id}"
                    )
                )
            )
            desk_public[(ward.id, kind)] = (desk_id, public_key(seed))

    sealed_fields = [
        column.name for column in cases.columns
        if isinstance(column.type, sa.LargeBinary) and column.name != "reporter_sealed_key"
    ]
    for case in bind.execute(sa.select(cases)).mappings().all():
        old_key, old_version = old_keys[case["id"]], case["key_version"]
        new_key, version = new_data_key(), old_version + 1

        def rekey(sealed, field):
            if sealed is None:
                return None
            text = open_text(old_key, sealed, case["id"], field, old_version)
            return seal_text(new_key, text, case["id"], field, version)

        bind.execute(
            cases.update().where(cases.c.id == case["id"]).values(
                key_version=version,
                **{field: rekey(case[field], field) for field in sealed_fields},
            )
        )
        for note in bind.execute(
            sa.select(notes.c.id, notes.c.body).where(notes.c.case_id == case["id"])
        ).all():
            bind.execute(
                notes.update().where(notes.c.id == note.id)
                .values(body=rekey(note.body, f"note:{note.id}"))
            )
        for route in (route for route in old_routes if route.case_id == case["id"]):
            desk_id, desk_key = desk_public[(case["ward_id"], route.desk)]
            bind.execute(
                new_routes.insert().values(
                    case_id=case["id"], desk_id=desk_id, routed_at=route.routed_at,
                    sealed_key=seal_to(
                        desk_key, new_key,
                        f"incidents/case-key/v1|{case['id']}|{version}|desk:{desk_id}",
                    ),
                )
            )


def downgrade():
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_keys_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "holder", "key_version", name=op.f("pk_case_keys")),
    )
    bind = op.get_bind()
    meta = sa.MetaData()
    routes_table, desks = (sa.Table(name, meta, autoload_with=bind) for name in ("case_routes", "desks"))
    routes = bind.execute(
        sa.select(routes_table.c.case_id, desks.c.kind, routes_table.c.routed_at).join(
            desks, desks.c.id == routes_table.c.desk_id
        )
    ).all()
    with op.batch_alter_table("case_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_routes_desk_id"))
    op.drop_table("case_routes")
    foundation_routes = op.create_table(
        "case_routes",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("desk", sa.String(length=16), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_routes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "desk", name=op.f("pk_case_routes")),
    )
    if routes:
        op.bulk_insert(
            foundation_routes,
            [{"case_id": r.case_id, "desk": r.kind, "routed_at": r.routed_at} for r in routes],
        )
    with op.batch_alter_table("case_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_routes_desk"), ["desk"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("reporter_sealed_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in (
            "needs_own_password", "recovery_sealed_key", "password_wrapped_key", "key_params",
            "key_salt", "public_key",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.drop_column("recovery_public_key")
    with op.batch_alter_table("desk_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_members_user_id"))
    op.drop_table("desk_members")
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desks_ward_id"))
    op.drop_table("desks")
