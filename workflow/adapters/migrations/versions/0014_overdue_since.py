"""Since when each complaint has been past a deadline, kept on the complaint, and the board's index by it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 07:00:00

The escalation board lists open complaints by level, longest past their first breached deadline first. Counted
from the deadlines at every read, that cost seconds at a million complaints (81,000 on the board); kept on the
complaint when a breach fires (workflow/services/breaches.py), the board's first screen is read off one index.
Complaints already in the database get it counted from their fired breach deadlines, the rule the board used.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite adds it in place, without rebuilding a table full of complaints.
    op.add_column('complaint', sa.Column('overdue_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("""
        UPDATE complaint SET overdue_since = (
          SELECT MIN(d.due_at) FROM deadline d
          WHERE d.complaint_id = complaint.id AND d.kind IN ('first_response', 'resolution')
            AND d.fired_at IS NOT NULL)
        WHERE escalated_at IS NOT NULL
    """)
    op.create_index('ix_complaint_board', 'complaint',
                    ['is_open', sa.text('escalation_level DESC'), 'overdue_since'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_complaint_board', table_name='complaint')
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch rebuild of a referenced table would fail.
    op.execute('ALTER TABLE complaint DROP COLUMN overdue_since')
