"""The short, lawful report: consent never blocks it, receiving points, signs of a crime.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Reviewed by hand. Law 13/2022 Art. 20 makes every report reach the ward, with no consent
exception (DOMAIN.md section 3, corrected), so:

- cases.consent (agreed / refused / not_asked) replaces the yes/no consent_referral: a
  report made without asking the victim is valid. Existing rows: yes is "agreed", no
  "refused". consent_statistics may now be empty (nobody asked her).
- cases.legal_ground goes: it was the leader's excuse for reporting without consent,
  which the law never asked of him. Its "signs of a crime" becomes cases.signs_of_crime,
  which routes a report to the police; "danger to life" and "a child victim" are already
  the immediate_danger and victim_age_band columns.
- cases.receiving_point: where the report was received (Art. 19.1). Existing rows were all
  filed by group leaders: "group_leader".
- cases.gbv_type may be empty: the group leader no longer classifies (GBVIMS reserves it
  for the desk that verifies the case). cases.channel may be empty: the leader may not say.

Downgrade restores the columns: "agreed" is yes, anything else no; signs of a crime come
back as legal ground "crime"; an empty GBVIMS type as "non_gbv", an empty channel as
"in_person" and an empty consent to statistics as no (the old columns had no "unknown").
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("consent", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("signs_of_crime", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column(
                "receiving_point", sa.String(32), nullable=False, server_default="group_leader"
            )
        )
    op.execute(
        "UPDATE cases SET consent = CASE WHEN consent_referral THEN 'agreed' ELSE 'refused' END"
    )
    op.execute(
        "UPDATE cases SET signs_of_crime = "
        "CASE WHEN legal_ground = 'crime' THEN true ELSE false END"
    )
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("consent", existing_type=sa.String(16), nullable=False)
        batch.alter_column("signs_of_crime", server_default=None)
        batch.alter_column("receiving_point", server_default=None)
        batch.alter_column("consent_statistics", existing_type=sa.Boolean(), nullable=True)
        batch.alter_column("gbv_type", existing_type=sa.String(32), nullable=True)
        batch.alter_column("channel", existing_type=sa.String(16), nullable=True)
        batch.drop_column("consent_referral")
        batch.drop_column("legal_ground")


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("consent_referral", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("legal_ground", sa.String(32), nullable=True))
    op.execute("UPDATE cases SET consent_referral = (consent = 'agreed')")
    op.execute("UPDATE cases SET legal_ground = 'crime' WHERE signs_of_crime")
    op.execute("UPDATE cases SET gbv_type = 'non_gbv' WHERE gbv_type IS NULL")
    op.execute("UPDATE cases SET channel = 'in_person' WHERE channel IS NULL")
    op.execute("UPDATE cases SET consent_statistics = false WHERE consent_statistics IS NULL")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("consent_referral", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("consent_statistics", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("gbv_type", existing_type=sa.String(32), nullable=False)
        batch.alter_column("channel", existing_type=sa.String(16), nullable=False)
        batch.drop_column("receiving_point")
        batch.drop_column("signs_of_crime")
        batch.drop_column("consent")
