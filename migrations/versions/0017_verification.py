"""Verification: the ward's own record of each case, with the reporter's kept apart.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Reviewed by hand. The desks now verify each report (cases.verification: pending, verified,
unfounded) and correct its coded facts with a history; cases.reported keeps the coded
facts as the reporter gave them, never changed. New facts: trafficking status, whereabouts
and purposes; the forms and environments of abuse of a child; the perpetrator's birth
year (sealed) and his blind index (sealed, like the victim's); the time a case was handed
to criminal procedure. case_links holds the links desk members make between cases.

Existing rows: every case is "pending" (none was verified), but a case closed as unfounded
(the police's or the chairman's finding) is "unfounded"; cases.reported is its coded facts
as they are now (the codes the reporter gave). Relationships get their direction
where the row tells it (a spouse who is a man is the victim's husband, a woman her wife;
"cohabiting" is the partner); the rest keep their undirected code, shown as "to be
verified" until a desk verifies the case. Age bands likewise: a perpetrator of 0-11 is
"under 12", of 61 and over "60 and over"; "under 16", "18 to 59", "12 to 17" and "41 to
60" stay, to be verified. A case closed as "handed to criminal procedure" gets the time of
that closing as criminal_procedure_at (it stays closed: a desk may reopen it). Downgrade
drops the new columns and the table and gives the undirected codes back (husband and wife
are "spouse", the partner "cohabiting", father and mother, son and daughter "parent_child",
and so on); a fine band goes back to the coarse one that holds it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

CODED_FACTS = (
    "kinds",
    "harm_forms",
    "acts",
    "gbv_type",
    "immediate_danger",
    "signs_of_crime",
    "victim_sex",
    "victim_age_band",
    "victim_circumstances",
    "perpetrator_relationship",
    "perpetrator_sex",
    "perpetrator_age_band",
    "trafficking_indicators",
    "trafficking_status",
    "trafficking_whereabouts",
    "trafficking_purposes",
    "child_abuse_forms",
    "child_abuse_environments",
    "child_serious_risk",
    "child_caregiver",
)
NEW_FACTS = {
    "trafficking_status": None,
    "trafficking_whereabouts": None,
    "trafficking_purposes": [],
    "child_abuse_forms": [],
    "child_abuse_environments": [],
}
PERPETRATOR_BANDS_UP = {"0_11": "under_12", "61_plus": "60_plus"}
RELATIONSHIPS_DOWN = {
    "husband": "spouse",
    "wife": "spouse",
    "cohabiting_partner": "cohabiting",
    "father": "parent_child",
    "mother": "parent_child",
    "stepfather": "parent_child",
    "stepmother": "parent_child",
    "son": "parent_child",
    "daughter": "parent_child",
    "child_in_law": "other_family",
    "parent_in_law": "other_family",
    "grandparent": "grandparent_grandchild",
    "grandchild": "grandparent_grandchild",
    "sibling_in_law": "other_family",
    "adoptive_parent": "adoptive",
    "adopted_child": "adoptive",
}
VICTIM_BANDS_DOWN = {
    "under_12": "under_16",
    "12_13": "under_16",
    "14_15": "under_16",
    "18_25": "18_59",
    "26_40": "18_59",
    "41_59": "18_59",
}
PERPETRATOR_BANDS_DOWN = {
    "under_12": "0_11",
    "12_13": "12_17",
    "14_15": "12_17",
    "16_17": "12_17",
    "41_59": "41_60",
    "60_plus": "61_plus",
    "under_16": "12_17",
    "18_59": "26_40",
}

_LISTS = {
    "kinds",
    "harm_forms",
    "acts",
    "victim_circumstances",
    "trafficking_indicators",
    "trafficking_purposes",
    "child_abuse_forms",
    "child_abuse_environments",
}
cases = sa.table(
    "cases",
    sa.column("id", sa.String),
    sa.column("status", sa.String),
    sa.column("close_reason", sa.String),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("reported", sa.JSON),
    sa.column("verification", sa.String),
    sa.column("criminal_procedure_at", sa.DateTime(timezone=True)),
    *(sa.column(name, sa.JSON) if name in _LISTS else sa.column(name) for name in CODED_FACTS),
)
events = sa.table(
    "case_events",
    sa.column("case_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("detail", sa.JSON),
)


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("verification", sa.String(16), nullable=False, server_default="pending")
        )
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reported", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reported_details", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("trafficking_status", sa.String(24), nullable=True))
        batch.add_column(sa.Column("trafficking_whereabouts", sa.String(16), nullable=True))
        for name in ("trafficking_purposes", "child_abuse_forms", "child_abuse_environments"):
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("criminal_procedure_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("perpetrator_index", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("perpetrator_birth_year", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(
            "fk_cases_verified_by_id_users", "users", ["verified_by_id"], ["id"]
        )
        batch.create_index("ix_cases_verification", ["verification"])

    connection = op.get_bind()
    closings = {}
    for case_id, at, detail in connection.execute(
        sa.select(events.c.case_id, events.c.at, events.c.detail).where(events.c.kind == "status")
    ):
        if (detail or {}).get("reason") == "criminal_procedure":
            closings[case_id] = max(at, closings.get(case_id, at))
    skipped = {*NEW_FACTS, "verification"}  # new columns: nothing to read yet
    existing = [column for column in cases.c if column.name not in skipped]
    for row in connection.execute(sa.select(*existing)).mappings().all():
        reported = {name: row[name] for name in CODED_FACTS if name not in NEW_FACTS}
        for name in ("immediate_danger", "signs_of_crime", "child_serious_risk"):
            if reported[name] is not None:  # SQLite gives 0 and 1
                reported[name] = bool(reported[name])
        reported.update(NEW_FACTS)
        values = {"reported": reported}
        values.update({name: value for name, value in NEW_FACTS.items() if value is not None})
        relationship = row["perpetrator_relationship"]
        if relationship == "spouse" and row["perpetrator_sex"] in ("male", "female"):
            values["perpetrator_relationship"] = (
                "husband" if row["perpetrator_sex"] == "male" else "wife"
            )
        elif relationship == "cohabiting":
            values["perpetrator_relationship"] = "cohabiting_partner"
        band = row["perpetrator_age_band"]
        if band in PERPETRATOR_BANDS_UP:
            values["perpetrator_age_band"] = PERPETRATOR_BANDS_UP[band]
        if row["status"] == "closed" and row["close_reason"] == "unfounded":
            values["verification"] = "unfounded"  # the police or the chairman found so
        if row["status"] == "closed" and row["close_reason"] == "criminal_procedure":
            values["criminal_procedure_at"] = closings.get(row["id"], row["received_at"])
        connection.execute(sa.update(cases).where(cases.c.id == row["id"]).values(**values))

    with op.batch_alter_table("cases") as batch:
        batch.alter_column("verification", server_default=None)
        batch.alter_column("reported", existing_type=sa.JSON(), nullable=False)
        for name in ("trafficking_purposes", "child_abuse_forms", "child_abuse_environments"):
            batch.alter_column(name, existing_type=sa.JSON(), nullable=False)

    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("other_case_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_links_case_id_cases", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["other_case_id"],
            ["cases.id"],
            name="fk_case_links_other_case_id_cases",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"], ["users.id"], name="fk_case_links_linked_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_links"),
        sa.UniqueConstraint(
            "case_id", "other_case_id", "kind", name="uq_case_links_case_id"
        ),
    )
    op.create_index("ix_case_links_case_id", "case_links", ["case_id"])
    op.create_index("ix_case_links_other_case_id", "case_links", ["other_case_id"])


def downgrade():
    op.drop_index("ix_case_links_other_case_id", table_name="case_links")
    op.drop_index("ix_case_links_case_id", table_name="case_links")
    op.drop_table("case_links")
    connection = op.get_bind()
    for row in connection.execute(
        sa.select(
            cases.c.id,
            cases.c.perpetrator_relationship,
            cases.c.victim_age_band,
            cases.c.perpetrator_age_band,
        )
    ).all():
        connection.execute(
            sa.update(cases)
            .where(cases.c.id == row.id)
            .values(
                perpetrator_relationship=RELATIONSHIPS_DOWN.get(
                    row.perpetrator_relationship, row.perpetrator_relationship
                ),
                victim_age_band=VICTIM_BANDS_DOWN.get(row.victim_age_band, row.victim_age_band),
                perpetrator_age_band=PERPETRATOR_BANDS_DOWN.get(
                    row.perpetrator_age_band, row.perpetrator_age_band
                ),
            )
        )
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_verification")
        batch.drop_constraint("fk_cases_verified_by_id_users", type_="foreignkey")
        for name in (
            "perpetrator_birth_year",
            "perpetrator_index",
            "criminal_procedure_at",
            "child_abuse_environments",
            "child_abuse_forms",
            "trafficking_purposes",
            "trafficking_whereabouts",
            "trafficking_status",
            "reported_details",
            "reported",
            "verified_by_id",
            "verified_at",
            "verification",
        ):
            batch.drop_column(name)
