"""`redress serve`: the HTTP API, one endpoint per row of the operations table, every one behind a sign-in.

Each endpoint authenticates the bearer token, then calls `perform`, which checks the role and the token's scope
and runs the use case as the token's user. A domain error becomes its HTTP status with the same one-line message
the command line prints (and its exit code, so a seat signed in to this server exits as a direct one would).
"""

from __future__ import annotations

import inspect
import logging
import os
import typing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Optional

from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline  # the docs page's script and styles served here, not from a CDN
from pydantic import BaseModel, ConfigDict, Field, create_model

from workflow.domain.errors import NotSignedIn, RedressError, TooManyAttempts
from workflow.faces.operations import OPERATIONS, Operation, perform
from workflow.faces.server.guard import Guard
from workflow.faces.server.pages import add_survey_pages
from workflow.faces.wire import to_wire

if TYPE_CHECKING:
    from workflow.bootstrap import Redress
    from workflow.services.signin import Principal

PREFIX = "/api/v1"
_log = logging.getLogger("redress.server")
_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/sign-in, a named token or an API key")


class SignInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


def create_app(redress: Redress) -> FastAPI:
    """The API over one wired Redress (its config, clock and database)."""
    api = FastAPIOffline(title="Redress", version="1", summary="The complaint workflow engine for call centres",
                         docs_url="/docs", redoc_url=None, openapi_url="/openapi.json", lifespan=_lifespan)

    def principal(request: Request,
                  credentials: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)) -> Principal:
        from workflow.services.signin import authenticate

        found = authenticate(redress, credentials.credentials if credentials else None)
        request.state.user = found.name
        return found

    @api.post(f"{PREFIX}/sign-in", tags=["signing in"], summary="Sign in with a name and password; a session token")
    def sign_in(body: SignInBody, request: Request) -> Any:
        from workflow.services.signin import sign_in as signing_in

        signed = signing_in(redress, body.name, body.password)
        request.state.user = signed.name  # only once known: a name typed wrongly may be the password itself
        return to_wire(signed)

    @api.get("/health", tags=["operating"], summary="200 when the database answers, 503 when it does not")
    def health() -> Any:
        """Open to a load balancer, so the reason it gives names no database: the server's log has the detail."""
        from workflow.adapters.db import check_schema
        from workflow.domain.errors import DatabaseUnavailable

        try:
            check_schema(redress.engine, redress.url)
        except DatabaseUnavailable as error:
            _log.error("health: %s", error)
            raise DatabaseUnavailable("the database cannot be used; the server's log says why") from None
        return {"status": "ok"}

    for operation in OPERATIONS:
        api.add_api_route(PREFIX + operation.path, _endpoint(redress, operation, principal),
                          methods=[operation.method], status_code=operation.status, name=operation.name,
                          summary=operation.summary, tags=[_tag(operation)])
    add_survey_pages(api, redress)
    _handle_errors(api, redress)
    _allow_web_forms(api, redress.config.server.cors_origins)
    api.add_middleware(Guard, max_body_bytes=redress.config.server.max_body_bytes)  # outermost: logs every request
    return api


def _allow_web_forms(api: FastAPI, origins: list[str]) -> None:
    """Let pages on `server.cors_origins` call the API from a browser (a web form filing with an intake key)."""
    if not origins:
        return
    from starlette.middleware.cors import CORSMiddleware

    api.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["POST"],
                       allow_headers=["Authorization", "Content-Type", "Idempotency-Key"], max_age=600)


THREADS = 8  # requests served at once per worker; more only contend for one interpreter and one SQLite writer


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    from anyio import to_thread

    to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield


def _tag(operation: Operation) -> str:
    return operation.path.strip("/").split("/")[0]


def _endpoint(redress: Redress, operation: Operation, principal: Any) -> Any:
    """An endpoint whose signature FastAPI reads: path arguments, query arguments (GET) or one body model."""
    arguments = _arguments(operation)
    path_names = operation.path_arguments
    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("who", inspect.Parameter.KEYWORD_ONLY, default=Depends(principal)),
    ]
    for name, (kind, default) in arguments.items():
        if name in path_names:
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                                default=Path()))
        elif operation.method == "GET":
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                                default=Query(default) if default is not ... else Query()))
    body_fields = {name: spec for name, spec in arguments.items()
                   if name not in path_names and operation.method != "GET"}
    body_model = None
    if body_fields:
        body_model = create_model(f"{operation.name.title().replace('_', '')}Body",
                                  __config__=ConfigDict(extra="forbid"), **body_fields)  # type: ignore[call-overload]
        parameters.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model,
                                            default=Body()))
    if operation.name == "file":
        parameters.append(inspect.Parameter(
            "idempotency_key", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
            default=Header(None, max_length=128, description="Send the same key again to get the first answer "
                                                             "instead of filing twice")))

    def endpoint(request: Request, who: Principal, body: Any = None, idempotency_key: str | None = None,
                 **given: Any) -> Any:
        values = dict(given)
        if body is not None:  # the fields as validated (model_dump would turn a dataclass argument into a dict)
            values.update({name: getattr(body, name) for name in body.model_fields_set})
        if idempotency_key is not None:
            from workflow.services.idempotency import once

            status, answer = once(redress, who, idempotency_key, values,
                                  lambda: to_wire(perform(redress, who, operation, values)), operation.status)
            return JSONResponse(answer, status_code=status)
        return JSONResponse(to_wire(perform(redress, who, operation, values)), status_code=operation.status)

    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = operation.name
    return endpoint


def _arguments(operation: Operation) -> dict[str, tuple[Any, Any]]:
    """Each argument the use case takes from a caller, with its type and default (... when required)."""
    function = operation.function()
    parameters = list(inspect.signature(function).parameters.values())[1:]
    if operation.actor in ("position", "principal"):
        parameters = parameters[1:]
    found: dict[str, tuple[Any, Any]] = {}
    for parameter in parameters:
        if parameter.name == operation.actor or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if parameter.name == "system":  # an API key's system user is made by create_api_key, never asked for
            continue
        kind = _type_of(function, parameter.annotation, parameter.name in operation.path_arguments)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        if default is ... and operation.method == "GET" and type(None) in typing.get_args(kind):
            default = None  # a query cannot send None: an absent optional argument is None
        found[parameter.name] = (kind, default)
    return found


def _type_of(function: Any, annotation: Any, in_path: bool) -> Any:
    """The argument's type as the use case declares it (a path's `str | int` is text); Any when unreadable."""
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, function.__globals__)  # noqa: S307 - the use case's own annotation
        except Exception:  # noqa: BLE001 - a name only imported for type checking
            return Any
    if in_path and annotation is not int:
        return str
    return annotation


def _handle_errors(api: FastAPI, redress: Redress) -> None:
    @api.exception_handler(RedressError)
    def domain_error(request: Request, error: RedressError) -> JSONResponse:
        return refusal(error)

    @api.exception_handler(RequestValidationError)
    def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": _validation_line(error), "kind": "InvalidInput", "exit_code": 7}, status_code=422)

    @api.exception_handler(Exception)
    def fault(request: Request, error: Exception) -> JSONResponse:
        from workflow.adapters.db import database_fault, refused_statement

        known = refused_statement(error) or database_fault(redress.url, error)
        if known is not None:
            return refusal(known)
        _log.error("unexpected %s on %s", type(error).__name__, getattr(request.scope.get("route"), "path", "?"))
        return JSONResponse({"error": "the server failed; the operator's log names the fault", "kind": "Fault",
                             "exit_code": 1}, status_code=500)


def refusal(error: RedressError) -> JSONResponse:
    """A domain error as the server answers it: its status, its line, its exit code, and what a retry needs."""
    body: dict[str, Any] = {"error": str(error), "kind": type(error).__name__, "exit_code": error.exit_code}
    headers = {}
    current = getattr(error, "current_version", None)
    if current is not None:
        body["current_version"] = current
    if isinstance(error, NotSignedIn):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after_seconds)
    return JSONResponse(body, status_code=error.http_status, headers=headers)


def _validation_line(error: RequestValidationError) -> str:
    """The first mistake in a request, on one line: where, and what is wrong."""
    problems = error.errors()
    if not problems:
        return "the request is malformed"
    first = problems[0]
    location = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        reason = first.get("ctx", {}).get("error", "malformed")
        return f"the body is not valid JSON: {reason} at character {location[-1]}"
    if location == ("body",):
        return ("the request has no body; send a JSON object" if first.get("type") == "missing"
                else "the body must be a JSON object of named fields")
    where = ".".join(str(part) for part in location if part != "body")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.get('msg', 'is not allowed')}{more}"


def from_environment() -> FastAPI:
    """The app for uvicorn's workers: wired from REDRESS_CONFIG and REDRESS_DB, as `redress serve` set them."""
    from workflow.bootstrap import bootstrap

    redress = bootstrap(os.environ.get("REDRESS_CONFIG"), os.environ.get("REDRESS_DB"))
    redress.check()
    _log_to_stderr()
    return create_app(redress)


def _log_to_stderr() -> None:
    """The access log and the server's own faults, one line each on standard error (a service manager keeps it)."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("redress.access", "redress.server"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.setLevel(logging.INFO)
            logger.addHandler(handler)
