"""Elder roster, entitlements, payments, assessments, centres, placements, orders, visits,
volunteers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 04:43:18.666039
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('assessments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('barthel', sa.JSON(), nullable=False),
    sa.Column('iadl_dependent', sa.JSON(), nullable=False),
    sa.Column('barthel_score', sa.Integer(), nullable=False),
    sa.Column('iadl_dependent_count', sa.Integer(), nullable=False),
    sa.Column('care_level', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('reassess_on', sa.Date(), nullable=False),
    sa.Column('assessor', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_reassess_on'), ['reassess_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_resident_id'), ['resident_id'], unique=False)

    op.create_table('centres',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_centres'))
    )
    with op.batch_alter_table('centres', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_centres_path'), ['path'], unique=False)

    op.create_table('elders',
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('living_alone', sa.Boolean(), nullable=False),
    sa.Column('empty_nest', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_seen_on', sa.Date(), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('care_level', sa.Integer(), nullable=True),
    sa.Column('registry_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_elders'))
    )
    with op.batch_alter_table('elders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_elders_path'), ['path'], unique=False)
        batch_op.create_index('ix_elders_status_birth_year', ['status', 'birth_year'], unique=False)

    op.create_table('entitlements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('age', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('proposed_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('monthly_amount_fen', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlements')),
    sa.UniqueConstraint('resident_id', 'kind', name='uq_entitlements_resident_kind')
    )
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlements_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_entitlements_status'), ['status'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('assignee_kind', sa.String(length=16), nullable=True),
    sa.Column('assignee_id', sa.String(length=64), nullable=True),
    sa.Column('cancelled_on', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_resident_id'), ['resident_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('entitlement_id', sa.String(length=36), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('entitlement_id', 'month', name='uq_payments_entitlement_month')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_resident_id'), ['resident_id'], unique=False)

    op.create_table('placements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('centre_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('care_level', sa.Integer(), nullable=False),
    sa.Column('vulnerable', sa.Boolean(), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements'))
    )
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.create_index('ix_placements_centre_status', ['centre_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_placements_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_placements_resident_id'), ['resident_id'], unique=False)

    op.create_table('visits',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index('ix_visits_status_window_end', ['status', 'window_end'], unique=False)

    op.create_table('volunteers',
    sa.Column('volunteer_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('volunteer_id', name=op.f('pk_volunteers'))
    )
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteers_path'), ['path'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteers_path'))

    op.drop_table('volunteers')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_status_window_end')
        batch_op.drop_index(batch_op.f('ix_visits_resident_id'))
        batch_op.drop_index(batch_op.f('ix_visits_path'))
        batch_op.drop_index(batch_op.f('ix_visits_order_id'))

    op.drop_table('visits')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placements_resident_id'))
        batch_op.drop_index(batch_op.f('ix_placements_path'))
        batch_op.drop_index('ix_placements_centre_status')

    op.drop_table('placements')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_resident_id'))
        batch_op.drop_index(batch_op.f('ix_payments_path'))

    op.drop_table('payments')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_resident_id'))
        batch_op.drop_index(batch_op.f('ix_orders_path'))

    op.drop_table('orders')
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entitlements_status'))
        batch_op.drop_index(batch_op.f('ix_entitlements_path'))

    op.drop_table('entitlements')
    with op.batch_alter_table('elders', schema=None) as batch_op:
        batch_op.drop_index('ix_elders_status_birth_year')
        batch_op.drop_index(batch_op.f('ix_elders_path'))

    op.drop_table('elders')
    with op.batch_alter_table('centres', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_centres_path'))

    op.drop_table('centres')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_resident_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_reassess_on'))
        batch_op.drop_index(batch_op.f('ix_assessments_path'))

    op.drop_table('assessments')

