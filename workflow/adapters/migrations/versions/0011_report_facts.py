"""Report facts on each complaint, the indexes a period's reports read by, and attachments on messages.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00

Complaints already in the database get what their rows and deadlines tell: resolution time from the stopped
clock, breaches from the fired deadlines, the highest level from the current one, manual answers and reopens
from the trail. Their first-response time was never kept, so it stays empty (reports count what was measured).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite adds them in place, without rebuilding a table full of complaints.
    for column in (
        sa.Column('first_response_minutes', sa.Float(), nullable=True),
        sa.Column('resolution_minutes', sa.Float(), nullable=True),
        sa.Column('resolved_at', _WHEN(), nullable=True),
        sa.Column('first_response_breached_at', _WHEN(), nullable=True),
        sa.Column('resolution_breached_at', _WHEN(), nullable=True),
        sa.Column('first_escalated_at', _WHEN(), nullable=True),
        sa.Column('peak_level', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('reopens', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('first_contact', sa.Boolean(), nullable=False, server_default=sa.false()),
    ):
        op.add_column('complaint', column)
    op.create_index('ix_complaint_created', 'complaint', ['created_at'], unique=False)
    op.create_index('ix_complaint_closed', 'complaint', ['closed_at'], unique=False)
    op.create_index('ix_complaint_open_state', 'complaint', ['is_open', 'state', 'escalation_level', 'created_at'],
                    unique=False)
    op.create_index('ix_step_created', 'compensation_step', ['created_at'], unique=False)
    op.create_index(op.f('ix_survey_answer_recorded_at'), 'survey_answer', ['recorded_at'], unique=False)
    op.create_index('ix_message_kind_created', 'message', ['kind', 'created_at'], unique=False)
    op.add_column('message', sa.Column('attachment_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
    op.add_column('message', sa.Column('attachment', sa.LargeBinary(), nullable=True))
    op.execute("""
        UPDATE complaint SET
          resolution_minutes = CASE WHEN state IN ('resolved', 'closed') THEN sla_clock_minutes END,
          resolved_at = CASE WHEN state IN ('resolved', 'closed') THEN COALESCE(closed_at, updated_at) END,
          first_response_breached_at = (SELECT MIN(d.fired_at) FROM deadline d WHERE d.complaint_id = complaint.id
                                        AND d.kind = 'first_response' AND d.fired_at IS NOT NULL),
          resolution_breached_at = (SELECT MIN(d.fired_at) FROM deadline d WHERE d.complaint_id = complaint.id
                                    AND d.kind = 'resolution' AND d.fired_at IS NOT NULL),
          first_escalated_at = (SELECT MIN(e.at) FROM event e WHERE e.complaint_id = complaint.id
                                AND e.trigger IN ('sla_breach', 'escalate', 'step_overdue')),
          peak_level = escalation_level,
          reopens = (SELECT COUNT(*) FROM event e WHERE e.complaint_id = complaint.id AND e.trigger = 'reopen'),
          first_contact = EXISTS (SELECT 1 FROM event e WHERE e.complaint_id = complaint.id
                                  AND e.trigger = 'answer_from_manual')
    """)


def downgrade() -> None:
    op.execute('ALTER TABLE message DROP COLUMN attachment')
    op.execute('ALTER TABLE message DROP COLUMN attachment_name')
    op.drop_index('ix_message_kind_created', table_name='message')
    op.drop_index(op.f('ix_survey_answer_recorded_at'), table_name='survey_answer')
    op.drop_index('ix_step_created', table_name='compensation_step')
    op.drop_index('ix_complaint_open_state', table_name='complaint')
    op.drop_index('ix_complaint_closed', table_name='complaint')
    op.drop_index('ix_complaint_created', table_name='complaint')
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch rebuild of a referenced table would fail.
    for column in ('first_contact', 'reopens', 'peak_level', 'first_escalated_at', 'resolution_breached_at',
                   'first_response_breached_at', 'resolved_at', 'resolution_minutes', 'first_response_minutes'):
        op.execute(f'ALTER TABLE complaint DROP COLUMN {column}')
