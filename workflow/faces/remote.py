"""A seat signed in to a Redress server: the saved sign-in, and each call sent over HTTP.

`redress login` keeps the server's address and the session token in the user's config folder, in a file only
the user may read. A refusal comes back as the domain error it was on the server, so the command prints the same
line and exits with the same code as on a direct seat.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from workflow.domain import errors
from workflow.domain.errors import ConfigError, InvalidInput, RedressError, ServerUnavailable
from workflow.faces.operations import BY_NAME
from workflow.faces.seat import arguments_of
from workflow.faces.wire import from_wire, named_type, to_wire

PREFIX = "/api/v1"
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SavedSignIn:
    server: str
    name: str
    role: str
    token: str
    expires_at: str


def session_file() -> Path:
    """Where this user's sign-in is kept: $XDG_CONFIG_HOME/redress/session.json (~/.config by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "redress" / "session.json"


def saved_sign_in() -> SavedSignIn | None:
    path = session_file()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} may be read by others; run `chmod 600 {path}` or `redress logout`")
    try:
        return SavedSignIn(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{path} is not a saved sign-in ({error}); run `redress login` again") from None


def save_sign_in(saved: SavedSignIn) -> Path:
    """Write the sign-in where only this user may read it, whole or not at all."""
    path = session_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(asdict(saved), file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
    return path


def forget_sign_in() -> bool:
    try:
        session_file().unlink()
    except FileNotFoundError:
        return False
    return True


def checked_server(url: str) -> str:
    """A server address a token may be sent to: https, or http only to this machine."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"server '{url}' is not an address; give e.g. https://redress.example.com or "
                           "http://127.0.0.1:8480")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidInput(f"server '{url}' is plain http on another machine: the token would cross the network "
                           "unencrypted; serve it behind a TLS proxy and give https://")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class Server:
    """HTTP to one Redress server, every answer read the same way."""

    def __init__(self, url: str, token: str | None = None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self._client = httpx.Client(base_url=url + PREFIX, headers=headers, timeout=TIMEOUT_SECONDS)

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> Any:
        import httpx

        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.HTTPError as error:
            raise ServerUnavailable(f"cannot reach the Redress server at {self.url} ({type(error).__name__}: "
                                    f"{error}); is `redress serve` running there?") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success:
            return answer
        raise refusal_of(response.status_code, answer, self.url)


def refusal_of(status: int, answer: Any, url: str) -> RedressError:
    """The domain error a server's refusal stands for, with its line and exit code."""
    if not isinstance(answer, dict) or "error" not in answer:
        return ServerUnavailable(f"the Redress server at {url} answered {status} without a reason")
    kind = getattr(errors, str(answer.get("kind")), None)
    if isinstance(kind, type) and issubclass(kind, RedressError):
        error = kind(answer["error"])
    else:
        error = RedressError(answer["error"])
        error.exit_code = int(answer.get("exit_code", 1))
    return error


def sign_in(server_url: str, name: str, password: str) -> SavedSignIn:
    url = checked_server(server_url)
    answer = Server(url).request("POST", "/sign-in", body={"name": name, "password": password})
    return SavedSignIn(url, answer["name"], answer["role"], answer["token"], answer["expires_at"])


class RemoteSeat:
    """A seat whose every call goes to the server it signed in to."""

    def __init__(self, saved: SavedSignIn) -> None:
        self.saved = saved
        self.server = Server(saved.server, saved.token)
        self._about: Mapping[str, Any] | None = None
        self._skew = timedelta(0)  # the server's clock minus this machine's, so the time shown keeps moving

    @property
    def user(self) -> str:
        return self.saved.name

    @property
    def role(self) -> str:
        return self.saved.role

    def call(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        row = BY_NAME[operation]
        arguments = to_wire(arguments_of(operation, args, kwargs))
        path = row.path.format(**{key: quote(str(arguments.pop(key)), safe="") for key in row.path_arguments})
        if row.method == "GET":
            params = {key: _query_value(value) for key, value in arguments.items() if value is not None}
            answer = self.server.request("GET", path, params=params)
        else:
            answer = self.server.request(row.method, path, body=arguments)
        if row.result is None:
            return answer
        kind = named_type(row.result)
        return [from_wire(kind, item) for item in answer] if row.many else from_wire(kind, answer)

    def about(self) -> Mapping[str, Any]:
        if self._about is None:
            self._about = self.server.request("GET", "/about")
            self._skew = datetime.fromisoformat(self._about["now"]) - datetime.now(UTC)
        return self._about

    @property
    def timezone(self) -> str:
        return str(self.about()["timezone"])

    def now(self) -> datetime:
        self.about()
        return datetime.now(UTC) + self._skew


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
