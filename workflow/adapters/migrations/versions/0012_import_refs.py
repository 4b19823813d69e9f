"""The source system's id of a complaint brought in by `redress import`, unique: a file imports once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:00:00

Complaints filed in Redress have none (NULL, which a unique index does not compare).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite adds it in place, without rebuilding a table full of complaints.
    op.add_column('complaint', sa.Column('import_ref', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True))
    op.create_index('ix_complaint_import_ref', 'complaint', ['import_ref'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_complaint_import_ref', table_name='complaint')
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch rebuild of a referenced table would fail.
    op.execute('ALTER TABLE complaint DROP COLUMN import_ref')
