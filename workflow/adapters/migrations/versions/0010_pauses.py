"""Pauses: every wait on the customer, with its reason, its limit and how it ended.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('paused_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('limit_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('ended_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ended_how', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('business_minutes', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_pause_complaint_id'), 'pause', ['complaint_id'], unique=False)
    op.create_index('ix_pause_by_started', 'pause', ['paused_by', 'started_at'], unique=False)
    # Waits already open are kept too, by whoever last moved the complaint into them; they have no limit.
    op.execute("""
        INSERT INTO pause (complaint_id, paused_by, started_at)
        SELECT c.id, COALESCE((SELECT e.actor FROM event e WHERE e.complaint_id = c.id AND e.at = c.sla_paused_at
                               ORDER BY e.id DESC LIMIT 1), 'unknown'), c.sla_paused_at
        FROM complaint c WHERE c.sla_paused_at IS NOT NULL
    """)


def downgrade() -> None:
    op.drop_index('ix_pause_by_started', table_name='pause')
    op.drop_index(op.f('ix_pause_complaint_id'), table_name='pause')
    op.drop_table('pause')
