"""An SMS gateway posts customers' texts to the real server with an API key scoped `inbound`."""

from __future__ import annotations

from tests.apiserver import RunningServer
from tests.server.answers import ok, refused


def test_a_gateway_files_a_text_once_threads_the_next_and_may_do_nothing_else(module_server: RunningServer):
    boss = module_server.client("boss")
    key = ok(boss.post("/api-keys", json={"name": "sms-gateway", "scopes": "inbound"}), 201)["token"]
    gateway = module_server.client(token=key)
    text = {"sender": "+86 139 1111 2222", "text": "快递三天没动了，我要投诉", "message_id": "gw-1"}
    first = ok(gateway.post("/inbound/sms", json=text))
    assert first["outcome"] == "filed" and not first["already"]
    again = ok(gateway.post("/inbound/sms", json=text))
    assert (again["outcome"], again["complaint"], again["already"]) == ("filed", first["complaint"], True)
    more = ok(gateway.post("/inbound/sms", json={**text, "text": "单号 SF555", "message_id": "gw-2"}))
    assert (more["outcome"], more["complaint"]) == ("joined", first["complaint"])

    amy = module_server.client("amy")
    shown = ok(amy.get(f"/complaints/{first['complaint']}"))
    assert shown["channel"] == "sms" and shown["customer"]["phone"] == "+8613911112222"
    assert [entry["text"] for entry in shown["conversation"] if entry["direction"] == "in"][-1] == "单号 SF555"
    refusal = refused(gateway.get(f"/complaints/{first['complaint']}"), 403, "PermissionDenied")
    assert "scoped to inbound" in refusal["error"]
    refused(gateway.post("/inbound/sms", json={**text, "text": " ", "message_id": "gw-3"}), 422, "InvalidInput")
