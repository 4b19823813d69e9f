"""The tamper-evident trail: each event and audit record carries a hash chained to the one before; TRUNCATE refused.

Events chain per complaint (the complaint row keeps the head), audit records in one chain. Existing rows are
chained here, in id order, with the append-only triggers lifted for the backfill and put back after it. On
PostgreSQL a statement trigger refuses TRUNCATE of either table too (row triggers do not fire on TRUNCATE).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 07:00:00
"""
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

from workflow.domain.chain import GENESIS, audit_content, event_content, link_hash

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_BATCH = 1000
_HASH = sqlmodel.sql.sqltypes.AutoString(length=64)
# The tables as this revision knows them, with the datetime type that reads every database's times as UTC.
_complaint = sa.table('complaint', sa.column('id', sa.Integer()), sa.column('number', sa.String()),
                      sa.column('event_head', sa.String()))
_event = sa.table('event', sa.column('id', sa.Integer()), sa.column('complaint_id', sa.Integer()),
                  sa.column('at', sqlmodel.sql.sqltypes.UTCDateTime()), sa.column('actor', sa.String()),
                  sa.column('trigger', sa.String()), sa.column('from_state', sa.String()),
                  sa.column('to_state', sa.String()), sa.column('note', sa.Text()), sa.column('data', sa.Text()),
                  sa.column('hash', sa.String()), sa.column('prev_hash', sa.String()))
_audit = sa.table('audit_record', sa.column('id', sa.Integer()), sa.column('at', sqlmodel.sql.sqltypes.UTCDateTime()),
                  sa.column('actor', sa.String()), sa.column('subject', sa.String()),
                  sa.column('subject_id', sa.Integer()), sa.column('action', sa.String()),
                  sa.column('changes', sa.Text()), sa.column('reason', sa.Text()),
                  sa.column('hash', sa.String()), sa.column('prev_hash', sa.String()))


def upgrade() -> None:
    _append_only(False)
    op.add_column('complaint', sa.Column('event_head', _HASH, nullable=True))
    for table in ('event', 'audit_record'):
        op.add_column(table, sa.Column('hash', _HASH, nullable=True))
        op.add_column(table, sa.Column('prev_hash', _HASH, nullable=True))
    _chain_events()
    _chain_audit_records()
    _append_only(True)
    if _postgresql():
        op.execute(
            "CREATE FUNCTION redress_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only: TRUNCATE is refused', TG_TABLE_NAME; END $$"
        )
        for table in ('event', 'audit_record'):
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION redress_refuse_truncate()")


def downgrade() -> None:
    if _postgresql():
        for table in ('event', 'audit_record'):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS redress_refuse_truncate()")
    _append_only(False)
    for table in ('event', 'audit_record'):
        op.drop_column(table, 'prev_hash')
        op.drop_column(table, 'hash')
    op.drop_column('complaint', 'event_head')
    _append_only(True)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _append_only(on: bool) -> None:
    """Put back, or lift for the backfill, the row triggers 0001 and 0005 made (same names, same messages)."""
    for table, trail, function in (('event', 'the event trail', 'redress_event_append_only'),
                                   ('audit_record', 'the audit record', 'redress_audit_append_only')):
        if not _postgresql():
            for action in ("UPDATE", "DELETE"):
                name = f"{table}_no_{action.lower()}"
                op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{trail} is append-only'); END"
                           if on else f"DROP TRIGGER IF EXISTS {name}")
        elif on:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {function}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


def _chain_events() -> None:
    """Each complaint's events in id order, a batch of complaints at a time; the complaint keeps the last hash."""
    bind = op.get_bind()
    after = 0
    while True:
        complaints = bind.execute(sa.select(_complaint.c.id, _complaint.c.number).where(_complaint.c.id > after)
                                  .order_by(_complaint.c.id).limit(_BATCH)).all()
        if not complaints:
            return
        after = complaints[-1].id
        numbers = {row.id: row.number for row in complaints}
        events = bind.execute(sa.select(_event).where(_event.c.complaint_id.between(complaints[0].id, after))
                              .order_by(_event.c.complaint_id, _event.c.id)).all()
        heads: dict[int, str] = {}
        links: list[dict[str, Any]] = []
        for event in events:
            prev = heads.get(event.complaint_id, GENESIS)
            content = event_content(numbers[event.complaint_id], event.at, event.actor, event.trigger,
                                    event.from_state, event.to_state, event.note, event.data)
            heads[event.complaint_id] = link_hash(prev, content)
            links.append({"row": event.id, "hash": heads[event.complaint_id], "prev": prev})
        _write(_event, links)
        if heads:
            bind.execute(sa.update(_complaint).where(_complaint.c.id == sa.bindparam("row"))
                         .values(event_head=sa.bindparam("head")),
                         [{"row": complaint_id, "head": head} for complaint_id, head in heads.items()])


def _chain_audit_records() -> None:
    """One chain over every audit record, in id order."""
    bind = op.get_bind()
    after, prev = 0, GENESIS
    while True:
        records = bind.execute(sa.select(_audit).where(_audit.c.id > after).order_by(_audit.c.id)
                               .limit(_BATCH)).all()
        if not records:
            return
        after = records[-1].id
        links = []
        for record in records:
            content = audit_content(record.at, record.actor, record.subject, record.subject_id, record.action,
                                    record.changes, record.reason)
            link = link_hash(prev, content)
            links.append({"row": record.id, "hash": link, "prev": prev})
            prev = link
        _write(_audit, links)


def _write(table: Any, links: list[dict[str, Any]]) -> None:
    if links:
        op.get_bind().execute(sa.update(table).where(table.c.id == sa.bindparam("row"))
                              .values(hash=sa.bindparam("hash"), prev_hash=sa.bindparam("prev")), links)
