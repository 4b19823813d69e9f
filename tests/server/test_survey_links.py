"""Survey answers by one-click link through the real server: the email's five links, a score recorded once, every
link that must do nothing refused with its own page and status, a low score acting, the comment form, CORS."""

from __future__ import annotations

import base64
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.apiserver import RunningServer, staff_database, start_server, stop_server
from tests.conftest import CONFIG, PINNED
from tests.server.answers import ok

SECRET = "a-test-secret-of-enough-length-0123456789"
LINK = re.compile(r"/survey/([A-Za-z0-9_-]+)")


@pytest.fixture
def linked(sqlite_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose survey emails carry signed links."""
    staff_database(sqlite_url)
    server = start_server(sqlite_url, tmp_path, REDRESS_LINK_SECRET=SECRET)
    yield server
    if server.process.poll() is None:
        stop_server(server)


def closed_complaint(server: RunningServer, **customer: str) -> str:
    """A complaint filed, worked, resolved and closed through the API by amy; its number."""
    amy = server.client("amy")
    filing = {"channel": "phone", "category": "delivery", "summary": "快递十天没到", "name": "王芳",
              "severity": "low", "email": "wf@example.cn", **customer}
    number = ok(amy.post("/complaints", json=filing), 201)["number"]
    for action, body in (("triage", {}), ("assign", {}), ("start", {}), ("respond", {"message": "已联系快递"}),
                         ("resolve", {"resolution": "重新发货"})):
        ok(amy.post(f"/complaints/{number}/{action}", json=body))
    for step in ok(amy.get("/compensation", params={"ref": number})):
        ok(amy.post(f"/compensation/{step['id']}/complete", json={"note": "已办"}))
    ok(amy.post(f"/complaints/{number}/close", json={}))
    return number


def query(server: RunningServer, sql: str, *values: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.db.removeprefix("sqlite:///")) as database:
        return database.execute(sql, values).fetchall()


def survey_mail(server: RunningServer, number: str) -> tuple[str, str]:
    ((text, html),) = query(server, "SELECT m.body, m.body_html FROM message m JOIN complaint c ON c.id = "
                                    "m.complaint_id WHERE c.number = ? AND m.kind = 'survey'", number)
    return text, html


def links(server: RunningServer, number: str) -> dict[int, str]:
    """Score -> token, from the survey email in the outbox."""
    text, html = survey_mail(server, number)
    tokens = LINK.findall(text)
    assert len(tokens) == 5 and set(LINK.findall(html)) == set(tokens), text
    return dict(enumerate(tokens, start=1))


def answers(server: RunningServer, number: str) -> list[tuple[Any, ...]]:
    return query(server, "SELECT s.score, s.via, s.comment, u.name FROM survey_answer s JOIN complaint c ON "
                         "c.id = s.complaint_id JOIN user u ON u.id = s.recorded_by_id WHERE c.number = ?", number)


def events(server: RunningServer, number: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = ok(server.client("amy").get(f"/complaints/{number}/history"))["events"]
    return history


def visit(server: RunningServer, token: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{server.url}/survey/{token}", timeout=30, **kwargs)


def test_a_click_records_the_score_once_and_every_other_link_of_the_complaint_is_refused(linked):
    number = closed_complaint(linked)
    tokens = links(linked, number)
    for ahead in ({"Sec-Purpose": "prefetch;prerender"}, {"Purpose": "prefetch"}, {"X-Purpose": "preview"}):
        assert visit(linked, tokens[1], headers=ahead).status_code == 204  # fetched ahead of a click: no answer
    assert visit(linked, tokens[1], "HEAD").status_code == 405
    assert answers(linked, number) == []
    page = visit(linked, tokens[4])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in page.text and "谢谢您的评分" in page.text and "4 分" in page.text
    assert page.headers["cache-control"] == "no-store" and "<link" not in page.text and "<script" not in page.text
    assert answers(linked, number) == [(4, "link", "", "mailroom")]
    answered = [event for event in events(linked, number) if event["trigger"] == "survey_answered"]
    assert len(answered) == 1 and answered[0]["actor"] == "mailroom"
    assert "survey page" in answered[0]["note"]

    for again in (tokens[4], tokens[5], tokens[1]):
        refused = visit(linked, again)
        assert refused.status_code == 409 and "我们已收到您的评分" in refused.text
    assert answers(linked, number) == [(4, "link", "", "mailroom")]
    assert ok(linked.client("amy").get(f"/complaints/{number}"))["state"] == "closed"
    assert tokens[4] not in linked.log.read_text(encoding="utf-8")  # the access log names the route, not the link


def test_forged_expired_garbage_and_unknown_links_are_refused_with_their_status_and_nothing_written(linked,
                                                                                                    tmp_path):
    from workflow.services.survey_links import LinkClaim, sign

    number = closed_complaint(linked, language="en")
    genuine = links(linked, number)[5]
    raw = bytearray(base64.urlsafe_b64decode(genuine + "=" * (-len(genuine) % 4)))
    rescored, resigned = bytearray(raw), bytearray(raw)
    rescored[5] = 1  # the score byte, signature kept
    resigned[-3] ^= 0x40  # a byte of the signature
    forged = [base64.urlsafe_b64encode(bytes(each)).rstrip(b"=").decode() for each in (rescored, resigned)]
    stranger = sign(b"another-secret-entirely-0123456789", LinkClaim(1, 5, PINNED + timedelta(days=1)))
    nobody = sign(SECRET.encode(), LinkClaim(999_999, 5, PINNED + timedelta(days=1)))
    for token, status in ((forged[0], 403), (forged[1], 403), (stranger, 403), ("not-a-link", 400),
                          ("A" * 35, 400), ("x" * 500, 400), (nobody, 404)):
        page = visit(linked, token)
        assert page.status_code == status, (token, page.status_code)
        assert 'lang="zh-CN"' in page.text  # nothing trusted names the customer: the default language
    assert answers(linked, number) == []

    stop_server(linked)
    (tmp_path / "later").mkdir()
    expired = start_server(linked.db, tmp_path / "later", REDRESS_LINK_SECRET=SECRET,
                           REDRESS_NOW=(PINNED + timedelta(days=15)).isoformat())
    try:
        page = visit(expired, genuine)
        assert page.status_code == 410 and 'lang="en"' in page.text and "This link has expired" in page.text
    finally:
        stop_server(expired)
    assert answers(linked, number) == []


def test_a_low_score_by_link_reopens_the_complaint_and_plans_the_follow_up_call(linked):
    number = closed_complaint(linked)
    page = visit(linked, links(linked, number)[1])
    assert page.status_code == 200 and "很抱歉" in page.text
    shown = ok(linked.client("amy").get(f"/complaints/{number}"))
    assert shown["state"] not in ("closed", "resolved")
    steps = ok(linked.client("amy").get("/compensation", params={"ref": number}))
    assert [(step["kind"], step["source"]) for step in steps if step["kind"] == "follow_up_call"] == [
        ("follow_up_call", "policy")]
    assert "reopen" in [event["trigger"] for event in events(linked, number)]


def test_the_comment_is_taken_once_and_shown_inert(linked):
    number = closed_complaint(linked, language="zh-TW")
    token = links(linked, number)[5]
    page = visit(linked, token)
    assert 'lang="zh-TW"' in page.text and "謝謝您的評分" in page.text
    assert f'action="{token}/comment"' in page.text

    said = "<script>alert('x')</script> 很好"
    thanked = visit(linked, f"{token}/comment", "POST", data={"comment": said})
    assert thanked.status_code == 200 and "謝謝您的意見" in thanked.text
    assert "<script>" not in thanked.text and "&lt;script&gt;" in thanked.text
    assert answers(linked, number) == [(5, "link", said, "mailroom")]
    assert [event["note"] for event in events(linked, number) if event["trigger"] == "survey_commented"] == [
        f"comment on the survey page: {said}"]

    again = visit(linked, f"{token}/comment", "POST", data={"comment": "again"})
    assert again.status_code == 409 and "我們已收到您的意見" in again.text
    empty = closed_complaint(linked)
    first = links(linked, empty)[3]
    assert visit(linked, f"{first}/comment", "POST", data={"comment": "before"}).status_code == 409  # no score yet
    visit(linked, first)
    assert visit(linked, f"{first}/comment", "POST", data={"comment": "  "}).status_code == 422
    assert answers(linked, empty) == [(3, "link", "", "mailroom")]


def test_without_a_secret_the_email_asks_for_a_reply_and_the_server_refuses_links(api_server):
    from workflow.services.survey_links import LinkClaim, sign

    number = closed_complaint(api_server, language="en")
    text, html = survey_mail(api_server, number)
    assert "/survey/" not in text + html and "Reply to this email with your score" in text
    token = sign(SECRET.encode(), LinkClaim(1, 5, PINNED + timedelta(days=1)))
    page = visit(api_server, token)
    assert page.status_code == 503 and "暂时无法通过链接评分" in page.text  # in the default language
    assert answers(api_server, number) == []


def cors_config(folder: Path, origins: list[str]) -> Path:
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["server"]["cors_origins"] = origins
    settings["policy_manual"] = str(CONFIG.parent / settings["policy_manual"])
    written = folder / "config.yaml"
    written.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return written


@pytest.mark.parametrize("origins", [["https://shop.example.cn"], []])
def test_a_web_form_on_a_listed_origin_may_post_a_complaint_from_the_browser(sqlite_url, tmp_path, origins):
    from workflow.bootstrap import bootstrap
    from workflow.domain.clock import Clock
    from workflow.services.signin import create_api_key, local_principal

    staff_database(sqlite_url)
    app = bootstrap(str(CONFIG), sqlite_url, Clock(PINNED))
    key = create_api_key(app, local_principal(app, "boss"), "web-form", "file:web").token
    app.engine.dispose()
    server = start_server(sqlite_url, tmp_path, REDRESS_CONFIG=str(cors_config(tmp_path, origins)))
    try:
        preflight = httpx.options(f"{server.url}/api/v1/complaints", headers={
            "Origin": "https://shop.example.cn", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
        other = httpx.options(f"{server.url}/api/v1/complaints", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"})
        filed = httpx.post(f"{server.url}/api/v1/complaints", headers={
            "Origin": "https://shop.example.cn", "Authorization": f"Bearer {key}", "Idempotency-Key": "form-1"},
            json={"channel": "web", "category": "delivery", "summary": "包裹没到", "email": "wf@example.cn",
                  "name": "王芳"})
    finally:
        stop_server(server)
    assert filed.status_code == 201, filed.text
    if origins:
        assert filed.headers["access-control-allow-origin"] == "https://shop.example.cn"
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example.cn"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.replace(" ", "").split(","))
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    else:
        assert all("access-control-allow-origin" not in answer.headers for answer in (preflight, filed))
        assert preflight.status_code == 405
