"""The indexes of assignees, closing times and import refs keep only complaints that have one.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:00:00

A complaint is filed open, with no assignee and, unless imported, without a source id: the three columns are
NULL, and every filing still wrote a page of each index to hold its NULL. Partial indexes (WHERE ... IS NOT NULL)
serve every reader the full ones served (an agent's own work, a period's closings, the refs an import was
given: conditions that imply the value is there), and a filing no longer writes them. The import ref stays
unique.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_complaint_assignee_open', table_name='complaint')
    op.create_index('ix_complaint_assignee_open', 'complaint', ['assignee_id', 'is_open'], unique=False,
                    sqlite_where=sa.text('assignee_id IS NOT NULL'),
                    postgresql_where=sa.text('assignee_id IS NOT NULL'))
    op.drop_index('ix_complaint_closed', table_name='complaint')
    op.create_index('ix_complaint_closed', 'complaint', ['closed_at'], unique=False,
                    sqlite_where=sa.text('closed_at IS NOT NULL'), postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.drop_index('ix_complaint_import_ref', table_name='complaint')
    op.create_index('ix_complaint_import_ref', 'complaint', ['import_ref'], unique=True,
                    sqlite_where=sa.text('import_ref IS NOT NULL'),
                    postgresql_where=sa.text('import_ref IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_complaint_import_ref', table_name='complaint')
    op.create_index('ix_complaint_import_ref', 'complaint', ['import_ref'], unique=True)
    op.drop_index('ix_complaint_closed', table_name='complaint')
    op.create_index('ix_complaint_closed', 'complaint', ['closed_at'], unique=False)
    op.drop_index('ix_complaint_assignee_open', table_name='complaint')
    op.create_index('ix_complaint_assignee_open', 'complaint', ['assignee_id', 'is_open'], unique=False)
