"""Publications: the figures a ward published or shared, kept as they went out.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Reviewed by hand. A period once published is served again from its stored files, and a
period overlapping it is refused (stats.exports.publish). Existing rows: every period
the audit trail shows exported before (stats.export entries "xlsx", "csv" or "docx" with
their period: the .docx was the suppressed report then) becomes a publication without
files, at the time of its first export and by its first exporter, so that no overlapping
period can be published after it. Downgrade drops the table.
"""

import re
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

EXPORTED = re.compile(r"^(xlsx|csv|docx) (\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def upgrade():
    publications = op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("wards.id"), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(24), nullable=True),
        sa.Column("xlsx", sa.LargeBinary(), nullable=True),
        sa.Column("csv", sa.LargeBinary(), nullable=True),
        sa.UniqueConstraint("ward_id", "first", "last"),
    )
    op.create_index("ix_publications_ward_id", "publications", ["ward_id"])
    entries = op.get_bind().execute(
        sa.text(
            "SELECT ward_id, actor_id, at, detail FROM audit_entries"
            " WHERE action = 'stats.export' AND ward_id IS NOT NULL ORDER BY seq"
        )
    )
    found = {}
    for ward_id, actor_id, at, detail in entries:
        match = EXPORTED.match(detail or "")
        if isinstance(at, str):  # SQLite hands a raw SELECT's timestamps back as text
            at = datetime.fromisoformat(at)
        if match:
            period = (ward_id, date.fromisoformat(match[2]), date.fromisoformat(match[3]))
            found.setdefault(period, (at, actor_id))
    if found:
        op.bulk_insert(
            publications,
            [
                {"ward_id": ward_id, "first": first, "last": last, "published_at": at,
                 "published_by_id": actor_id}
                for (ward_id, first, last), (at, actor_id) in found.items()
            ],
        )  # fmt: skip


def downgrade():
    op.drop_index("ix_publications_ward_id", table_name="publications")
    op.drop_table("publications")
