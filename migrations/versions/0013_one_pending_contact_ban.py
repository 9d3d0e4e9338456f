"""One contact-ban request waits at a time, also when two are recorded at once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

Reviewed by hand. A partial unique index on case_contact_bans(case_id) over the requests
still waiting (decision IS NULL), on SQLite and PostgreSQL alike. The service already
refused a second waiting request; two sent at the same moment could both pass its check.
Should a database already hold two waiting requests for one case, the upgrade stops and
names the cases: which one stands is the chairman's to say, not a migration's.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEX = "uq_case_contact_bans_pending"
PENDING = sa.text("decision IS NULL")


def upgrade():
    doubled = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT case_id FROM case_contact_bans WHERE decision IS NULL "
                "GROUP BY case_id HAVING COUNT(*) > 1 ORDER BY case_id"
            )
        )
        .scalars()
        .all()
    )
    if doubled:
        raise RuntimeError(
            "these cases have more than one contact-ban request waiting; have the chairman "
            f"decide all but one, then upgrade again: {', '.join(doubled)}"
        )
    op.create_index(
        INDEX,
        "case_contact_bans",
        ["case_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade():
    op.drop_index(INDEX, table_name="case_contact_bans")
