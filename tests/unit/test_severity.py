"""Suggesting a severity from the customer's intensity."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.config import Config, load_config
from workflow.domain.severity import suggest_severity

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG)


def suggest(config: Config, text: str, tier: str = "registered", same_order: int = 0, recent: int = 0):
    return suggest_severity(
        config, text=text, tier=tier, earlier_contacts_same_order=same_order, recent_complaints=recent
    )


def test_a_calm_question_gets_the_default(config):
    assert suggest(config, "请问什么时候发货").severity == "low"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("再不退款我就找律师起诉你们", "critical"),
        ("I will ask my lawyer to sue you", "critical"),
        ("我要打12315投诉", "high"),
        ("我要向消基會投訴", "high"),
        ("你们就是骗子", "medium"),
        ("This is unacceptable", "medium"),
    ],
)
def test_threats_and_anger_in_chinese_and_english_raise_the_severity(config, text, expected):
    suggestion = suggest(config, text)
    assert suggestion.severity == expected
    assert any(expected in reason for reason in suggestion.reasons)


def test_the_strongest_phrase_wins(config):
    assert suggest(config, "骗子！我要找律师，还要打12315").severity == "critical"


def test_repeat_contacts_about_the_same_order_add_steps_up_to_the_cap(config):
    assert suggest(config, "还没到", same_order=1).severity == "medium"
    assert suggest(config, "还没到", same_order=2).severity == "high"
    assert suggest(config, "还没到", same_order=9).severity == "high"  # max_steps: 2


def test_frequent_complainers_and_gold_members_get_one_step_more(config):
    assert suggest(config, "还没到", recent=3).severity == "medium"
    assert suggest(config, "还没到", tier="gold").severity == "medium"
    assert suggest(config, "还没到", tier="silver").severity == "low"


def test_never_above_the_highest_severity_and_the_reason_does_not_claim_a_step_it_did_not_take(config):
    suggestion = suggest(config, "律师", tier="gold", same_order=2, recent=5)
    assert suggestion.severity == "critical"
    assert not any("gold" in reason for reason in suggestion.reasons)


def test_the_explanation_names_every_reason(config):
    suggestion = suggest(config, "太差了", tier="gold", same_order=1)
    assert "strong anger" in suggestion.explanation
    assert "earlier contact" in suggestion.explanation
    assert suggestion.severity == "critical"
