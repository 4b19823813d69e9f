"""What every request passes through: a size limit on its body, and one JSON line in the access log.

The log line names the user, the route (the template the router matched, `/api/v1/customers/{ref}`, never the
path as sent, its query string or a header: no token, password or customer's phone is written), the status and
the duration.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

_access = logging.getLogger("redress.access")

Scope = dict[str, Any]


class BodyTooLarge(Exception):
    """Raised into the app when a body streamed without a length passes the limit."""


class Guard:
    """Pure ASGI middleware: cheaper per request than Starlette's BaseHTTPMiddleware, and it sees the stream."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        answered = {"status": 500, "started": False}
        received = 0
        too_large = False

        async def counted_receive() -> Any:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def noted_send(message: Any) -> None:
            if too_large:  # the app's answer to a body it could not finish reading: the 413 goes instead
                return
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                answered["started"] = True
            await send(message)

        try:
            if _declared_length(scope) > self.max_body_bytes:
                too_large = True
            else:
                await self.app(scope, counted_receive, noted_send)
        except BodyTooLarge:
            pass  # FastAPI may catch it while reading the body (and answer 400, which noted_send drops) or not
        finally:
            if too_large and not answered["started"]:
                answered["status"] = 413
                await _too_large(send, self.max_body_bytes)
            _access.info(json.dumps({
                "user": state.get("user"),
                "method": scope.get("method"),
                "route": getattr(scope.get("route"), "path", None),  # the matched template; None when none matched
                "status": answered["status"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }, ensure_ascii=False, separators=(",", ":")))


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"error": f"the request body is larger than {limit} bytes", "kind": "InvalidInput",
                       "exit_code": 7}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
