"""A first password someone else chose, still unused, expires like an activation code.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

Reviewed by hand. Since this version a password typed at the command line for someone else
(flask user create, flask user reset) works once and for ACTIVATION_CODE_LIFETIME (72 hours).
The accounts made so before still wait with theirs, and it would never expire: they get 72
hours from the upgrade. (A password in the form of an activation code, 16 letters and
digits, is then compared as one; such an account needs a new one from the operator.)
Only accounts that still need their own password and hold a password are touched; an
account without one (activation code pending, or none yet) keeps what it has. The
downgrade leaves the dates: the earlier code honours them too, as an activation code's.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LIFETIME = timedelta(hours=72)  # config.Config.ACTIVATION_CODE_LIFETIME when written
NO_PASSWORD = "!"  # noqa: S105 (accounts.service.NO_PASSWORD: no password at all)


def upgrade():
    users = sa.table(
        "users",
        sa.column("needs_own_password", sa.Boolean),
        sa.column("activation_expires_at", sa.DateTime(timezone=True)),
        sa.column("password_hash", sa.String),
    )
    op.execute(
        users.update()
        .where(
            users.c.needs_own_password.is_(True),
            users.c.activation_expires_at.is_(None),
            users.c.password_hash != NO_PASSWORD,
        )
        .values(activation_expires_at=datetime.now(UTC) + LIFETIME)
    )


def downgrade():
    pass
