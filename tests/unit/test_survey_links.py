"""Survey link tokens: what a genuine token says comes back, any change to it is refused, and it expires."""

from __future__ import annotations

import base64
from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CONFIG, PINNED, file_one
from workflow.config import load_config
from workflow.services import lifecycle
from workflow.services.survey_links import LinkClaim, LinkRefused, link_for, links_for, read, sign
from workflow.services.surveys import answer_by_link

SECRET = b"unit-test-secret-0123456789abcdef"
CLAIM = LinkClaim(42, 4, PINNED + timedelta(days=14))


def raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@given(complaint_id=st.integers(1, 2**31 - 1), score=st.integers(1, 5), days=st.integers(1, 365))
def test_a_genuine_token_says_what_it_was_signed_with_in_a_short_url_safe_word(complaint_id, score, days):
    claim = LinkClaim(complaint_id, score, PINNED + timedelta(days=days))
    token = sign(SECRET, claim)
    assert read(SECRET, token) == claim
    assert len(token) == 35 and token.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize("where", range(1, 26))  # every byte but the version: id, score, expiry, signature
def test_a_token_changed_anywhere_is_forged(where):
    changed = raw(sign(SECRET, CLAIM))
    changed[where] ^= 0x01
    with pytest.raises(LinkRefused) as refused:
        read(SECRET, encoded(bytes(changed)))
    assert (refused.value.reason, refused.value.status) == ("forged", 403)


def test_another_secrets_token_is_forged_and_garbage_is_malformed():
    with pytest.raises(LinkRefused, match="forged"):
        read(SECRET, sign(b"another-secret-0123456789abcdef", CLAIM))
    for garbage in ("", "not a token", "C-20261120-0001", "A" * 35, sign(SECRET, CLAIM)[:-2], "x" * 65, "é" * 35):
        with pytest.raises(LinkRefused) as refused:
            read(SECRET, garbage)
        assert (refused.value.reason, refused.value.status) == ("malformed", 400), garbage


def config_app(monkeypatch, secret: str | None) -> SimpleNamespace:
    if secret is None:
        monkeypatch.delenv("REDRESS_LINK_SECRET", raising=False)
    else:
        monkeypatch.setenv("REDRESS_LINK_SECRET", secret)
    return SimpleNamespace(config=load_config(CONFIG))


def test_links_need_a_secret_long_enough_to_be_safe(monkeypatch):
    assert link_for(config_app(monkeypatch, None), 7, 5, PINNED) is None
    assert links_for(config_app(monkeypatch, "short"), 7, PINNED) is None
    five = links_for(config_app(monkeypatch, SECRET.decode()), 7, PINNED)
    assert five is not None and sorted(five) == [1, 2, 3, 4, 5]
    for score, link in five.items():
        assert link.startswith("http://127.0.0.1:8480/survey/")
        claim = read(SECRET, link.rsplit("/", 1)[1])
        assert (claim.complaint_id, claim.score, claim.expires_at) == (7, score, PINNED + timedelta(days=14))


def test_an_expired_link_records_nothing_and_is_refused_in_the_customers_language(sqlite_app, monkeypatch):
    from workflow.read.queries import complaint_detail

    monkeypatch.setenv("REDRESS_LINK_SECRET", SECRET.decode())
    number = file_one(sqlite_app, language="en")
    for step in (lifecycle.triage, lifecycle.assign, lifecycle.start):
        step(sqlite_app, "amy", number)
    lifecycle.resolve(sqlite_app, "amy", number, "sent a new cup")
    complaint_id = complaint_detail(sqlite_app, number)["id"]
    token = sign(SECRET, LinkClaim(complaint_id, 5, PINNED + timedelta(days=1)))
    sqlite_app.clock.pin(PINNED + timedelta(days=1))
    with pytest.raises(LinkRefused) as refused:
        answer_by_link(sqlite_app, token)
    assert (refused.value.reason, refused.value.status, refused.value.language) == ("expired", 410, "en")
    assert complaint_detail(sqlite_app, number)["state"] == "resolved"

    sqlite_app.clock.pin(PINNED + timedelta(hours=23))
    assert answer_by_link(sqlite_app, token).score == 5


def test_every_answer_goes_through_one_core_that_keeps_how_it_came(sqlite_app):
    from sqlalchemy import select

    from workflow.adapters.models import SURVEYS
    from workflow.adapters.records import load_complaint
    from workflow.domain.errors import InvalidInput
    from workflow.services.people import system_user
    from workflow.services.surveys import record, record_answer

    numbers = []
    for _ in range(2):
        numbers.append(file_one(sqlite_app))
        for step in (lifecycle.triage, lifecycle.assign, lifecycle.start):
            step(sqlite_app, "amy", numbers[-1])
        lifecycle.resolve(sqlite_app, "amy", numbers[-1], "sent a new cup")
    assert record(sqlite_app, "amy", numbers[0], 5, "快递很快").follow_up == ""
    with sqlite_app.uow() as uow:
        complaint = load_complaint(uow.session, numbers[1])
        mailroom = system_user(sqlite_app, uow.session, "mailroom", "Customer replies")
        assert record_answer(sqlite_app, uow.session, complaint, mailroom, 4, "还行", via="email").score == 4
        with pytest.raises(InvalidInput, match="already has a survey answer"):
            record_answer(sqlite_app, uow.session, load_complaint(uow.session, numbers[1]), mailroom, 5, "",
                          via="sms")
        uow.commit()
    with sqlite_app.uow(write=False) as uow:
        kept = uow.session.execute(select(SURVEYS.c.score, SURVEYS.c.via, SURVEYS.c.comment)
                                   .order_by(SURVEYS.c.id)).all()
    assert [tuple(row) for row in kept] == [(5, "call", "快递很快"), (4, "email", "还行")]
