"""What the server tests share: reading an answer, and the line a direct seat (the command line) gives instead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from workflow.domain.errors import RedressError

FILING = {"channel": "phone", "category": "delivery", "summary": "快递十天没到", "phone": "13800138000",
          "name": "王芳", "order_ref": "SO-1", "severity": "high"}
MISSING = "C-20991231-9999"  # a complaint number that never exists


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, f"{answer.status_code} {answer.text}"
    return answer.json()


def refused(answer: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """A refusal as every seat reads it: the status, one line, the error's kind and its exit code."""
    assert answer.status_code == status, f"{answer.status_code} {answer.text}"
    body: dict[str, Any] = answer.json()
    assert body["kind"] == kind, body
    assert body["error"] and "\n" not in body["error"], body
    assert isinstance(body["exit_code"], int) and body["exit_code"] > 1, body
    return body


def direct_line(seat: Any, operation: str, *args: Any, **kwargs: Any) -> str:
    """The one line a direct seat (the command line on the database) refuses the same call with."""
    with pytest.raises(RedressError) as refusal:
        seat.call(operation, *args, **kwargs)
    return str(refusal.value)
