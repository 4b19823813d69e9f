"""The survey page `redress serve` answers a one-click score link with: small, self-contained, in the customer's
language, open to anyone holding a link (the link's signature is the authority, not a sign-in).

`GET /survey/{token}` records the score; `POST /survey/{token}/comment` adds the optional comment once. Only a
GET a person makes records: a HEAD (which a link checker sends) is 405, and a GET marked as a prefetch or preview
(`Sec-Purpose: prefetch`, `Purpose`, `X-Purpose`, `X-Moz`) is 204; neither writes anything. A mail scanner that
opens links just as a person does still records the score of the first one it opens: the price of one click.
Every answer is a page, never JSON, and is not cached, indexed or sent on as a referrer, so the token stays with
the customer. The token is never logged (the access log names the route template, `/survey/{token}`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from workflow.domain.errors import RedressError

if TYPE_CHECKING:
    from workflow.bootstrap import Redress

PAGES = Path(__file__).resolve().parent / "pages"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    # Nothing is loaded from anywhere: the styles are inline and the one form posts back here.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


def add_survey_pages(api: FastAPI, redress: Redress) -> None:
    """The two survey routes, outside the API's prefix and its sign-in, and out of its OpenAPI schema."""

    @api.get("/survey/{token}", include_in_schema=False, response_class=HTMLResponse)
    def survey_link(token: str, request: Request) -> Response:
        from workflow.services.survey_links import LinkRefused
        from workflow.services.surveys import answer_by_link

        if _prefetch(request):
            return Response(status_code=204, headers=HEADERS)
        try:
            answer = answer_by_link(redress, token)
        except (LinkRefused, RedressError) as refused:
            return _refusal(redress, refused, token)
        return page(redress, "answered", answer.language, 200, token=token, score=answer.score, low=answer.low)

    @api.post("/survey/{token}/comment", include_in_schema=False, response_class=HTMLResponse)
    async def survey_comment(token: str, request: Request) -> HTMLResponse:
        from workflow.services.survey_links import LinkRefused
        from workflow.services.surveys import comment_by_link

        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        try:
            answer = await run_in_threadpool(comment_by_link, redress, token, (form.get("comment") or [""])[0])
        except (LinkRefused, RedressError) as refused:
            return _refusal(redress, refused, token)
        return page(redress, "commented", answer.language, 200, token=token, score=answer.score,
                    comment=answer.comment)


def _prefetch(request: Request) -> bool:
    """A browser or mail client fetching ahead of a click (it says so in one of these headers): not an answer."""
    return any(word in request.headers.get(header, "").lower()
               for header in ("sec-purpose", "purpose", "x-purpose", "x-moz") for word in ("prefetch", "preview"))


def page(redress: Redress, name: str, language: str | None, status: int, **values: Any) -> HTMLResponse:
    """Page `name` in `language` (the configured default when None); every value is escaped."""
    locale = redress.renderer.locale_for(language)
    company = redress.config.messages.company.get(locale, "")  # type: ignore[call-overload]
    html = _environment().get_template(f"{locale}/{name}.html").render(
        locale=locale, company=company, longest=redress.config.limits.note, **values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _refusal(redress: Redress, refused: Exception, token: str) -> HTMLResponse:
    """A link that did nothing, said in the customer's language when the complaint is known."""
    from workflow.services.survey_links import LinkRefused

    if isinstance(refused, LinkRefused):
        return page(redress, "refused", refused.language, refused.status, token=token, reason=refused.reason,
                    score=refused.score)
    status = refused.http_status if isinstance(refused, RedressError) else 500
    return page(redress, "refused", None, status, token=token, reason="failed", score=None)


@cache
def _environment() -> Environment:
    """Autoescaped everywhere: the comment shown back is the customer's own text, inert."""
    return Environment(loader=FileSystemLoader(str(PAGES)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)
