"""Values for every template with awkward text on purpose, for `redress templates check` and the tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def sample_values(now: datetime) -> dict[str, Any]:
    """Values for every template, for `redress templates check` and the tests: with awkward text on purpose."""
    return {
        "customer": {"name": "王芳 <Wang Fang>", "has_email": True, "has_phone": True},
        "complaint": {
            "number": "C-20261122-0007", "summary": "快递延误三天 & 包装破损 <b>{{ 7*7 }}</b>",
            "resolution": "补发商品并退还运费", "category": "物流延误", "severity": "高", "state": "resolved",
            "filed_at": now - timedelta(days=2), "closed_at": now,
        },
        "step": {"kind": "refund", "amount_minor": 12850, "currency": "CNY", "due_at": now,
                 "done_at": now, "note": "SF1234567890"},
        "agent_message": "您好，我们已联系快递公司加急处理。",
        "links": {score: f"https://care.example.cn/survey/sample-{score}" for score in range(1, 6)},
        "alert": {"headline": "resolution deadline breached, escalated to supervisor", "level": "supervisor"},
    }
