"""Initial schema: wards, groups, users, cases (clear and sealed columns), audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Reviewed by hand: sealed columns are LargeBinary (ciphertext only), every constraint is
named by the naming convention so later batch migrations work on SQLite, and downgrade()
drops the tables in reverse dependency order.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wards')),
    sa.UniqueConstraint('code', name=op.f('uq_wards_code'))
    )
    op.create_table('residential_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], name=op.f('fk_residential_groups_ward_id_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residential_groups')),
    sa.UniqueConstraint('ward_id', 'name', name=op.f('uq_residential_groups_ward_id'))
    )
    with op.batch_alter_table('residential_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_residential_groups_ward_id'), ['ward_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], name=op.f('fk_users_ward_id_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_ward_id'), ['ward_id'], unique=False)

    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('harm_forms', sa.JSON(), nullable=False),
    sa.Column('acts', sa.JSON(), nullable=False),
    sa.Column('gbv_type', sa.String(length=32), nullable=False),
    sa.Column('context_flags', sa.JSON(), nullable=False),
    sa.Column('immediate_danger', sa.Boolean(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('close_reason', sa.String(length=32), nullable=True),
    sa.Column('victim_sex', sa.String(length=16), nullable=False),
    sa.Column('victim_age_band', sa.String(length=16), nullable=False),
    sa.Column('victim_circumstances', sa.JSON(), nullable=False),
    sa.Column('perpetrator_relationship', sa.String(length=32), nullable=False),
    sa.Column('perpetrator_sex', sa.String(length=16), nullable=False),
    sa.Column('perpetrator_age_band', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('consent_referral', sa.Boolean(), nullable=False),
    sa.Column('consent_statistics', sa.Boolean(), nullable=False),
    sa.Column('legal_ground', sa.String(length=32), nullable=True),
    sa.Column('incident_date', sa.Date(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('routing_reason', sa.String(length=32), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('victim_name', sa.LargeBinary(), nullable=True),
    sa.Column('victim_birth_year', sa.LargeBinary(), nullable=True),
    sa.Column('victim_address', sa.LargeBinary(), nullable=True),
    sa.Column('victim_phone', sa.LargeBinary(), nullable=True),
    sa.Column('narrative', sa.LargeBinary(), nullable=True),
    sa.Column('perpetrator_name', sa.LargeBinary(), nullable=True),
    sa.Column('perpetrator_details', sa.LargeBinary(), nullable=True),
    sa.Column('reporter_contact', sa.LargeBinary(), nullable=True),
    sa.Column('witnesses', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['residential_groups.id'], name=op.f('fk_cases_group_id_residential_groups')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_cases_reporter_id_users')),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], name=op.f('fk_cases_ward_id_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('reference', name=op.f('uq_cases_reference')),
    sa.UniqueConstraint('ward_id', 'year', 'sequence', name=op.f('uq_cases_ward_id'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_ward_id'), ['ward_id'], unique=False)

    op.create_table('leader_groups',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['residential_groups.id'], name=op.f('fk_leader_groups_group_id_residential_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_leader_groups_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id', name=op.f('pk_leader_groups'))
    )
    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_events_actor_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)

    op.create_table('case_keys',
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=32), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=32), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_keys_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'holder', 'key_version', name=op.f('pk_case_keys'))
    )
    op.create_table('case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_notes_author_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)

    op.create_table('case_routes',
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('desk', sa.String(length=16), nullable=False),
    sa.Column('routed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_routes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'desk', name=op.f('pk_case_routes'))
    )
    with op.batch_alter_table('case_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_routes_desk'), ['desk'], unique=False)



def downgrade():
    with op.batch_alter_table('case_routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_routes_desk'))

    op.drop_table('case_routes')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    op.drop_table('case_keys')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    op.drop_table('leader_groups')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_ward_id'))
        batch_op.drop_index(batch_op.f('ix_cases_status'))
        batch_op.drop_index(batch_op.f('ix_cases_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_cases_received_at'))
        batch_op.drop_index(batch_op.f('ix_cases_group_id'))

    op.drop_table('cases')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_action'))

    op.drop_table('audit_entries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_ward_id'))

    op.drop_table('users')
    with op.batch_alter_table('residential_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residential_groups_ward_id'))

    op.drop_table('residential_groups')
    op.drop_table('wards')
