"""Clock checkpoints on complaints, set-aside deadlines, and leases on messages being sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 22:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The business time a clock has run up to a checkpoint, so no computation walks from the clock's start.
    op.add_column('complaint', sa.Column('sla_clock_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('complaint', sa.Column('sla_clock_minutes', sa.Float(), nullable=False, server_default='0'))
    # Existing clocks: the checkpoint is the start, where the clock had run minus the time spent paused.
    op.execute("UPDATE complaint SET sla_clock_at = sla_started_at, sla_clock_minutes = -sla_paused_minutes "
               "WHERE sla_started_at IS NOT NULL")
    # A deadline whose firing failed: retried at retry_at, set aside for good after the last try.
    op.add_column('deadline', sa.Column('fire_attempts', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('deadline', sa.Column('fire_error', sa.Text(), nullable=True))
    op.add_column('deadline', sa.Column('retry_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('deadline', sa.Column('set_aside_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # A message being sent belongs to its sender while the lease lasts; the sender renews it.
    op.add_column('message', sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('message_attempt',
                  sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('message_attempt', 'sender')
    op.drop_column('message', 'lease_until')
    for column in ('set_aside_at', 'retry_at', 'fire_error', 'fire_attempts'):
        op.drop_column('deadline', column)
    op.drop_column('complaint', 'sla_clock_minutes')
    op.drop_column('complaint', 'sla_clock_at')
