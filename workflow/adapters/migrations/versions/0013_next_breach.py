"""Each complaint's next breach, kept on the complaint, and the queue's index by it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:40:00

The queue orders open complaints by their next breach. Counted from the deadlines at every read, that cost
seconds at a million complaints; kept on the complaint (workflow/services/clocks.py keeps it), the first screen
is read off one index. Complaints already in the database get it counted from their deadlines, the same rule
as clocks.NEXT_BREACH. The old queue index (by level, severity and age) ordered nothing the queue still asks.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite adds it in place, without rebuilding a table full of complaints.
    op.add_column('complaint', sa.Column('next_breach_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("""
        UPDATE complaint SET next_breach_at = (
          SELECT MIN(d.due_at) FROM deadline d
          WHERE d.complaint_id = complaint.id AND d.cancelled_at IS NULL
            AND (d.kind = 'resolution' OR (d.kind = 'first_response' AND complaint.first_responded_at IS NULL)))
        WHERE EXISTS (SELECT 1 FROM deadline d WHERE d.complaint_id = complaint.id AND d.cancelled_at IS NULL
                      AND d.kind IN ('resolution', 'first_response'))
    """)
    op.drop_index('ix_complaint_queue', table_name='complaint')
    op.execute("""
        CREATE INDEX ix_complaint_urgency ON complaint (
          is_open, (state = 'resolved'), (next_breach_at IS NULL), next_breach_at, escalation_level DESC,
          severity_rank DESC, created_at)
    """)


def downgrade() -> None:
    op.drop_index('ix_complaint_urgency', table_name='complaint')
    op.create_index('ix_complaint_queue', 'complaint',
                    ['is_open', sa.text('escalation_level DESC'), sa.text('severity_rank DESC'), 'created_at'],
                    unique=False)
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch rebuild of a referenced table would fail.
    op.execute('ALTER TABLE complaint DROP COLUMN next_breach_at')
