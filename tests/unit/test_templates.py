"""Every template renders in every locale; missing values refuse to render; customer text stays inert."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from notifications.customer import complaint_values
from notifications.rendering import FORMS, TEMPLATE_NAMES, Renderer, RenderFailed, check_all
from notifications.samples import sample_values
from workflow.config import load_config
from workflow.domain.clock import Clock
from workflow.domain.vocabulary import LANGUAGES

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(load_config(CONFIG))


def test_every_template_has_every_form_in_every_locale():
    root = Path(__file__).resolve().parents[2] / "notifications" / "templates"
    missing = [f"{locale}/{name}.{form}" for locale in LANGUAGES for name in TEMPLATE_NAMES for form in FORMS
               if not (root / locale / f"{name}.{form}").is_file()]
    assert missing == []


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_each_template_renders_with_sample_data(renderer, name, locale):
    rendered = renderer.render(name, locale, sample_values(NOW))
    assert rendered.locale == locale
    assert "C-20261122-0007" in rendered.subject
    assert "C-20261122-0007" in rendered.text and "C-20261122-0007" in rendered.html
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>") and f'lang="{locale}"' in rendered.html
    assert "\n" not in rendered.sms and len(rendered.sms) <= 140


def test_the_check_command_logic_finds_nothing_wrong_with_the_shipped_templates(renderer):
    assert check_all(renderer, NOW) == []


def test_a_missing_value_refuses_to_render(renderer):
    values = sample_values(NOW)
    del values["step"]
    with pytest.raises(RenderFailed, match=r"en/refund_notice does not render: 'step' is undefined"):
        renderer.render("refund_notice", "en", values)
    values = sample_values(NOW)
    del values["complaint"]["resolution"]
    with pytest.raises(RenderFailed, match="resolution"):
        renderer.render("apology_letter", "zh-CN", values)


def test_customer_text_never_becomes_markup_or_template_code(renderer):
    values = sample_values(NOW)
    values["complaint"]["summary"] = "{{ 7*7 }} {% raw %}x{% endraw %} <script>alert('x')</script> ${7*7} &amp;"
    values["customer"]["name"] = "<img src=x onerror=alert(1)>{{ config }}"
    rendered = renderer.render("acknowledgement", "en", values)
    assert "49" not in rendered.text and "49" not in rendered.html
    assert "{{ 7*7 }}" in rendered.text and "{% raw %}" in rendered.text  # plain text keeps it verbatim
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in rendered.html
    assert "<img" not in rendered.html and "&lt;img src=x onerror=alert(1)&gt;{{ config }}" in rendered.html
    assert "&amp;amp;" in rendered.html


def test_money_and_dates_are_formatted_for_the_locale(renderer):
    texts = {locale: renderer.render("refund_notice", locale, sample_values(NOW)).text for locale in LANGUAGES}
    assert "¥128.50" in texts["zh-CN"] and "2026年11月20日" in texts["zh-CN"]
    assert "128.50" in texts["zh-TW"] and "2026年11月20日" in texts["zh-TW"]
    assert "CN¥128.50" in texts["en"] and "November 20, 2026 10:00\u202fAM" in texts["en"]  # CLDR's narrow space


def test_an_unknown_language_falls_back_to_the_configured_default(renderer):
    assert renderer.render("survey", "fr", sample_values(NOW)).locale == "zh-CN"
    assert renderer.render("survey", None, sample_values(NOW)).locale == "zh-CN"


def test_a_deployment_overrides_a_template_from_its_own_folder(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "voucher.sms").write_text("ACME: voucher {{ step.amount_minor|money(step.currency) }}\n")
    config = load_config(CONFIG)
    config = config.model_copy(
        update={"messages": config.messages.model_copy(update={"templates_dir": str(tmp_path)})}
    )
    rendered = Renderer(config).render("voucher", "en", sample_values(NOW))
    assert rendered.sms == "ACME: voucher CN¥128.50"
    assert "voucher worth" in rendered.text  # forms not overridden come from the built-in set


def test_an_edited_template_is_used_within_a_second(tmp_path, monkeypatch):
    import notifications.rendering as rendering

    sms = tmp_path / "en" / "voucher.sms"
    sms.parent.mkdir()
    sms.write_text("ACME: voucher\n")
    config = load_config(CONFIG)
    config = config.model_copy(
        update={"messages": config.messages.model_copy(update={"templates_dir": str(tmp_path)})}
    )
    renderer = Renderer(config)
    seconds = [100.0]
    monkeypatch.setattr(rendering.time, "monotonic", lambda: seconds[0])
    assert renderer.render("voucher", "en", sample_values(NOW)).sms == "ACME: voucher"
    sms.write_text("ACME: your voucher\n")
    os.utime(sms, (sms.stat().st_mtime + 5, sms.stat().st_mtime + 5))  # a later edit, whatever the file clock
    seconds[0] += 1.5
    assert renderer.render("voucher", "en", sample_values(NOW)).sms == "ACME: your voucher"


def test_an_overriding_template_cannot_reach_into_python(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "survey.sms").write_text("{{ customer.__class__.__mro__ }}\n")
    config = load_config(CONFIG)
    config = config.model_copy(
        update={"messages": config.messages.model_copy(update={"templates_dir": str(tmp_path)})}
    )
    with pytest.raises(RenderFailed):
        Renderer(config).render("survey", "en", sample_values(NOW))


_MAILBOX = re.compile(r"e-?mail|mailbox|inbox|邮件|邮箱|郵件|信箱|電郵", re.IGNORECASE)
# An invitation to answer by message: only the survey asks for one, and its reply is read as the score; the other
# messages keep the phone as the way to reach an agent. ("Our reply about ..." is no invitation.)
_REPLY = re.compile(r"reply (to|with|and)|reply \d|just reply|回复|回覆|回信", re.IGNORECASE)
_WE_CALL = re.compile(r"call you|致电向您|致電向您")
_CALL_US = re.compile(r"call us|致电|致電")
CUSTOMERS = {"phone-only": ("13800138000", None), "email-only": (None, "wf@example.com"),
             "both": ("13800138000", "wf@example.com")}


@pytest.mark.parametrize("kind", CUSTOMERS)
@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("name", [name for name in TEMPLATE_NAMES if name != "staff_alert"])
def test_no_template_claims_a_mailbox_a_call_or_a_reply_the_customer_does_not_have(renderer, name, locale, kind):
    phone, email = CUSTOMERS[kind]
    app = SimpleNamespace(config=renderer.config, clock=Clock(NOW))
    sample = sample_values(NOW)
    complaint = SimpleNamespace(**sample["complaint"], created_at=NOW)
    customer = SimpleNamespace(name="王芳", phone=phone, email=email)
    values = {**sample, **complaint_values(app, complaint, customer, locale)}
    rendered = renderer.render(name, locale, values)
    for form, text in (("txt", rendered.subject + rendered.text), ("html", rendered.html), ("sms", rendered.sms)):
        where = f"{locale}/{name}.{form} for a {kind} customer"
        if email is None:
            assert not _MAILBOX.search(text), f"{where} mentions a mailbox: {text!r}"
        if phone is None:
            assert not _WE_CALL.search(text), f"{where} promises a call: {text!r}"
        assert name == "survey" or not _REPLY.search(text), f"{where} invites a reply nobody reads: {text!r}"
        if name == "survey":
            assert _CALL_US.search(text), f"{where} gives no way to answer that reaches an agent: {text!r}"
