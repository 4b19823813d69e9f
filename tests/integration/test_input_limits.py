"""Text, money and ids are checked in the services before the database sees them, alike on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.conftest import file_one
from workflow.config import LimitsConfig
from workflow.domain.errors import InvalidInput
from workflow.read.queries import complaint_detail, customer_detail, history
from workflow.services import lifecycle as svc
from workflow.services import supervision, surveys
from workflow.services.compensation import add_step, complete_step, remove_step
from workflow.services.people import add_user


def _snapshot(app, number: str) -> tuple:
    return history(app, number)["events"], complaint_detail(app, number), customer_detail(app, "13800138000")


def test_a_nul_character_in_any_text_is_refused_in_one_line_and_nothing_is_written(app):
    number = file_one(app)
    before = _snapshot(app, number)
    attempts = {
        "summary": lambda: file_one(app, summary="bad\x00text"),
        "name": lambda: file_one(app, phone="13900000000", name="王\x00芳"),
        "email": lambda: file_one(app, phone="13900000000", email="a\x00@b.cn"),
        "order reference": lambda: file_one(app, order_ref="SO\x001"),
        "note": lambda: svc.add_note(app, "amy", number, "note\x00"),
        "owner": lambda: svc.route(app, "amy", number, "物流部\x00"),
        "reason": lambda: svc.change_severity(app, "amy", number, "high", "why\x00"),
        "message": lambda: svc.close(app, "amy", number, "bye\x00"),
        "display name": lambda: add_user(app, "boss", "newbie", "agent", "New\x00bie"),
    }
    for field, attempt in attempts.items():
        with pytest.raises(InvalidInput, match=f"^{field} contains a NUL character"):
            attempt()
    assert _snapshot(app, number) == before


def test_the_configured_limits_apply_to_summaries_notes_and_reasons(app):
    app.config = app.config.model_copy(update={"limits": LimitsConfig(summary=10, note=20, reason=5)})
    number = file_one(app, summary="x" * 10)
    before = _snapshot(app, number)
    with pytest.raises(InvalidInput, match="^summary is 11 characters long; at most 10 are allowed$"):
        file_one(app, summary="x" * 11)
    with pytest.raises(InvalidInput, match="^note is 21 characters long; at most 20"):
        svc.add_note(app, "amy", number, "n" * 21)
    with pytest.raises(InvalidInput, match="^reason is 6 characters long; at most 5"):
        svc.change_severity(app, "amy", number, "high", "r" * 6)
    with pytest.raises(InvalidInput, match="^reason is 6 characters long; at most 5"):
        supervision.acknowledge(app, "sup", number, "r" * 6)
    with pytest.raises(InvalidInput, match="^comment is 21 characters long; at most 20"):
        surveys.record(app, "amy", number, 5, "c" * 21)
    with pytest.raises(InvalidInput, match="^reason is 6 characters long; at most 5"):
        add_step(app, "amy", number, "voucher", amount="10", reason="r" * 6)
    assert _snapshot(app, number) == before
    step = add_step(app, "amy", number, "voucher", amount="10", reason="r" * 5)
    with pytest.raises(InvalidInput, match="^reason is 6 characters long; at most 5"):
        remove_step(app, "amy", step.id, "r" * 6)
    with pytest.raises(InvalidInput, match="^note is 21 characters long; at most 20"):
        complete_step(app, "amy", step.id, "n" * 21)
    svc.add_note(app, "amy", number, "n" * 20)  # at the limit is allowed


def test_text_at_its_column_limit_is_stored_and_one_more_character_is_refused(app):
    number = file_one(app, phone="13900000000", name="名" * 128, order_ref="S" * 64,
                      email="a" * 248 + "@b.com")
    detail = complaint_detail(app, number)
    assert len(detail["customer"]["name"]) == 128 and len(detail["customer"]["email"]) == 254
    assert len(detail["order_ref"]) == 64
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    svc.start(app, "amy", number)
    with pytest.raises(InvalidInput, match="^owner is 129 characters long; at most 128"):
        svc.route(app, "amy", number, "部" * 129)


def test_an_owner_not_configured_is_refused_unless_the_config_allows_free_text(app):
    number = file_one(app)
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    with pytest.raises(InvalidInput, match="^owner '物流布' is not a configured owner; owners: 物流部, 财务部"):
        svc.route(app, "amy", number, "物流布")
    app.config = app.config.model_copy(update={"owners_free_text": True})
    svc.route(app, "amy", number, "物流布")
    assert complaint_detail(app, number)["owner"] == "物流布"


def test_money_has_one_range_that_fits_its_column(app):
    number = file_one(app)
    for amount in ("1E+400", "NaN", "inf", "21474836.48", "10000000.01", "0", "0.001"):
        with pytest.raises(InvalidInput, match=re.escape(f"amount '{amount}' is not allowed")):
            add_step(app, "boss", number, "refund", amount=amount, reason="x")
    step = add_step(app, "boss", number, "refund", amount="10000000", reason="the most one step may carry")
    assert step.to_state  # stored on PostgreSQL's 32-bit column as on SQLite


def test_text_that_was_not_utf8_is_refused_and_an_impossible_user_name_is_not_found(app):
    from workflow.domain.errors import NotFound

    number = file_one(app)
    before = _snapshot(app, number)
    with pytest.raises(InvalidInput, match="^summary is not valid UTF-8 text$"):
        file_one(app, summary="bad \udcff byte")
    with pytest.raises(NotFound, match="^no user 'bo\udcffss'"):
        svc.add_note(app, "bo\udcffss", number, "hello")
    with pytest.raises(NotFound, match="^no user 'bo\udcffss'"):
        svc.assign(app, "boss", number, "bo\udcffss")
    assert _snapshot(app, number) == before
