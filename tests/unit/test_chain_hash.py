"""The hash of a trail line: the same content hashes alike wherever it was written, and any change shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from workflow.domain.chain import GENESIS, event_content, link_hash

AT = datetime(2026, 11, 20, 2, 0, 0, 123456, tzinfo=UTC)


def line(**changed: object) -> dict[str, str]:
    values: dict = {"number": "C-20261120-0001", "at": AT, "actor": "amy", "trigger": "triage",
                    "from_state": "received", "to_state": "open", "note": "快递十天没到", "data": '{"a": 1}'}
    return event_content(**{**values, **changed})


def test_a_moment_hashes_alike_in_any_zone_and_as_the_database_returns_it():
    shanghai = AT.astimezone(timezone(timedelta(hours=8)))
    naive_utc = AT.replace(tzinfo=None)  # how a database without zones may hand it back
    assert link_hash(GENESIS, line(at=shanghai)) == link_hash(GENESIS, line(at=naive_utc)) == link_hash(
        GENESIS, line())


def test_every_field_and_the_previous_hash_change_the_hash():
    first = link_hash(GENESIS, line())
    changed = [line(number="C-20261120-0002"), line(at=AT + timedelta(microseconds=1)), line(actor="sen"),
               line(trigger="close"), line(from_state="open"), line(to_state="closed"), line(note="快递到了"),
               line(data='{"a": 2}')]
    hashes = {link_hash(GENESIS, content) for content in changed} | {link_hash(first, line())}
    assert len(hashes) == len(changed) + 1 and first not in hashes
    assert len(first) == 64 and int(first, 16) >= 0
