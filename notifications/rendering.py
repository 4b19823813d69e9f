"""Rendering customer messages and staff alerts from Jinja2 templates, in the reader's language.

Templates live in `notifications/templates/<locale>/<name>.<form>`; a deployment
may override any of them from `messages.templates_dir`. Each message has three
forms: `txt` (plain-text email, whose `subject` block is the subject), `html`
(autoescaped) and `sms`. Undefined values refuse to render (StrictUndefined),
and the sandbox keeps an overriding template from reaching into Python.
Customer-written text is only ever a value, never template source, so it
cannot become markup or template code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    pass_context,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from notifications.samples import sample_values
from workflow.config import Config
from workflow.domain.errors import InvalidInput
from workflow.domain.vocabulary import LANGUAGES

BUILT_IN = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAMES = (
    "acknowledgement", "first_response", "apology_letter", "replacement_notice", "refund_notice",
    "voucher", "resolution", "survey", "staff_alert",
)
FORMS = ("txt", "html", "sms")
BABEL_LOCALES = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}
_LOOK_AGAIN_SECONDS = 1.0


class RenderFailed(Exception):
    """A template could not be rendered (a missing value, a syntax error); nothing may be sent."""


@dataclass(frozen=True)
class Rendered:
    locale: str
    subject: str
    text: str
    html: str
    sms: str


class Renderer:
    """One Jinja2 environment per configuration; templates are compiled once and cached by Jinja2."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.zone = ZoneInfo(config.timezone)
        folders = [BUILT_IN]
        if config.messages.templates_dir:
            folders.insert(0, config.resolve_path(config.messages.templates_dir))
        self.folders = folders
        self._looked_at = float("-inf")  # when `_template` last looked at the files

    @cached_property
    def environment(self) -> ImmutableSandboxedEnvironment:
        environment = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in self.folders]),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # `_template` looks at the files once a second instead
        )
        environment.filters["money"] = _money
        environment.filters["datetime"] = self._datetime
        environment.filters["date"] = self._date
        return environment

    def _template(self, name: str) -> Template:
        """`name` compiled. Jinja would look at every template's file (and its layout's) at each render; here the
        files are looked at once a second, and all are compiled again when one changed: an edited template is
        used within a second, and a scheduler firing thousands of alerts does not stat a file for each."""
        now = time.monotonic()
        if now - self._looked_at > _LOOK_AGAIN_SECONDS:
            self._looked_at = now
            cache = self.environment.cache
            if cache is not None and not all(template.is_up_to_date for template in cache.values()):
                cache.clear()
        return self.environment.get_template(name)

    def locale_for(self, language: str | None) -> str:
        """The customer's language when templates exist for it, else the configured default."""
        return language if language in LANGUAGES else self.config.default_language

    def render(self, name: str, language: str | None, values: dict[str, Any],
               forms: tuple[str, ...] = FORMS) -> Rendered:
        """The subject and the asked-for forms of template `name` (others left empty).

        Raises RenderFailed naming the template, locale and problem.
        """
        if name not in TEMPLATE_NAMES:
            raise InvalidInput(f"template '{name}' does not exist; templates: {', '.join(TEMPLATE_NAMES)}")
        locale = self.locale_for(language)
        company = cast(dict[str, str], self.config.messages.company).get(locale, "")
        context = {"locale": locale, "company": company, **values}
        try:
            text_template = self._template(f"{locale}/{name}.txt")
            subject = "".join(text_template.blocks["subject"](text_template.new_context(context))).strip()
            context["subject"] = subject
            text = text_template.render(context).strip() + "\n" if "txt" in forms else ""
            html = self._template(f"{locale}/{name}.html").render(context) if "html" in forms else ""
            sms = (" ".join(self._template(f"{locale}/{name}.sms").render(context).split())
                   if "sms" in forms else "")
        except KeyError:
            raise RenderFailed(f"template {locale}/{name}.txt has no subject block") from None
        except TemplateError as error:
            where = getattr(error, "name", None) or f"{locale}/{name}"
            raise RenderFailed(f"template {where} does not render: {error.message or error}") from None
        return Rendered(locale, subject, text, html, sms)

    @pass_context
    def _datetime(self, context: Any, moment: datetime) -> str:
        from babel.dates import format_date, format_time

        local = moment.astimezone(self.zone)
        babel_locale = BABEL_LOCALES[context["locale"]]
        return f"{format_date(local, 'long', locale=babel_locale)} {format_time(local, 'short', locale=babel_locale)}"

    @pass_context
    def _date(self, context: Any, moment: datetime) -> str:
        from babel.dates import format_date

        return format_date(moment.astimezone(self.zone), "long", locale=BABEL_LOCALES[context["locale"]])


@pass_context
def _money(context: Any, minor_units: int, currency: str) -> str:
    from babel.numbers import format_currency

    return format_currency(Decimal(minor_units) / 100, currency, locale=BABEL_LOCALES[context["locale"]])


def check_all(renderer: Renderer, now: datetime) -> list[str]:
    """Render every template in every locale with sample data; return one line per problem (none: all good)."""
    problems = []
    for locale in LANGUAGES:
        for name in TEMPLATE_NAMES:
            try:
                rendered = renderer.render(name, locale, sample_values(now))
            except RenderFailed as failure:
                problems.append(str(failure))
                continue
            empty = [form for form, text in (("subject", rendered.subject), ("txt", rendered.text),
                                             ("html", rendered.html), ("sms", rendered.sms)) if not text.strip()]
            if empty:
                problems.append(f"template {locale}/{name} renders an empty {', '.join(empty)}")
    return problems
