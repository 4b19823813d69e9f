"""An index for the daily money limit: the steps one person asked for since the start of their day.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 06:40:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_step_requested_by_created', 'compensation_step', ['requested_by_id', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_step_requested_by_created', table_name='compensation_step')
