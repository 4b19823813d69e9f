"""Mail in: the messages taken from mailboxes, customers' attachments, bounced addresses, complaints that follow
a closed one, and how a survey answer came.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mailbox_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_inbound_mailbox_key', 'inbound_message', ['mailbox', 'mailbox_key'], unique=True)
    op.create_index('ix_inbound_message_id', 'inbound_message', ['message_id'], unique=False)
    op.create_index('ix_inbound_sender_taken', 'inbound_message', ['sender', 'taken_at'], unique=False)
    op.create_index(op.f('ix_inbound_message_complaint_id'), 'inbound_message', ['complaint_id'], unique=False)
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=127), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_attachment_complaint_id'), 'attachment', ['complaint_id'], unique=False)
    op.add_column('customer', sa.Column('email_bounced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('customer', sa.Column('email_bounce', sa.Text(), nullable=True))
    # Plain columns added in place (ALTER TABLE ... ADD COLUMN): rebuilding `complaint` or `customer` on SQLite
    # would drop tables the others' foreign keys point at, which a database holding complaints refuses.
    op.add_column('complaint', sa.Column('follows_id', sa.Integer(), nullable=True))
    op.add_column('survey_answer', sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                             server_default='call'))


def downgrade() -> None:
    # Dropped in place (SQLite 3.35 and later drop a plain column), for the reason given above.
    op.drop_column('survey_answer', 'via')
    op.drop_column('complaint', 'follows_id')
    op.drop_column('customer', 'email_bounce')
    op.drop_column('customer', 'email_bounced_at')
    op.drop_index(op.f('ix_attachment_complaint_id'), table_name='attachment')
    op.drop_table('attachment')
    op.drop_index(op.f('ix_inbound_message_complaint_id'), table_name='inbound_message')
    op.drop_index('ix_inbound_sender_taken', table_name='inbound_message')
    op.drop_index('ix_inbound_message_id', table_name='inbound_message')
    op.drop_index('ix_inbound_mailbox_key', table_name='inbound_message')
    op.drop_table('inbound_message')
