"""The policy manual: loading, and search in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.config import load_config
from workflow.domain.errors import ConfigError, NotFound
from workflow.services.kb import PolicyManual, load_manual, tokens

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


@pytest.fixture(scope="module")
def manual() -> PolicyManual:
    return load_manual(load_config(CONFIG))


def test_chinese_is_indexed_as_bigrams_and_latin_as_words():
    assert tokens("退款多久 Refund") == {"退款", "款多", "多久", "refund"}


@pytest.mark.parametrize(
    "query,expected",
    [
        ("退款多久到账", "refund-timeline"),
        ("快递一直没到", "delivery-delay"),
        ("收到的杯子摔坏了", "damaged-on-arrival"),
        ("衣服尺码不合适想换货", "exchange-size"),
        ("七天无理由退货", "return-7day"),
        ("吹風機壞了要維修", "warranty-period"),
        ("my parcel arrived broken", "damaged-on-arrival"),
        ("how long until I get my refund", "refund-timeline"),
    ],
)
def test_search_finds_the_right_answer_first(manual, query, expected):
    hits = manual.search(query)
    assert hits, query
    assert hits[0].answer.id == expected


def test_search_with_nothing_in_common_finds_nothing(manual):
    assert manual.search("xyzzy") == []
    assert manual.search("   ") == []


def test_starter_manual_covers_the_promised_topics_in_every_language(manual):
    categories = {answer.category for answer in manual.answers}
    assert {"return", "refund", "delivery", "damaged", "warranty"} <= categories
    for answer in manual.answers:
        assert set(answer.answer) == {"zh-CN", "zh-TW", "en"}, answer.id


def test_answer_text_falls_back_to_the_default_language(manual):
    answer = manual.get("refund-timeline")
    title, text = answer.text("zh-TW", "zh-CN")
    assert "到帳" in text


def test_unknown_answer_lists_the_known_ones(manual):
    with pytest.raises(NotFound, match="known answers: .*refund-timeline"):
        manual.get("nope")


def test_a_manual_entry_with_an_unknown_category_is_refused(tmp_path):
    config = load_config(CONFIG)
    bad = tmp_path / "manual.yaml"
    bad.write_text("- {id: x, category: pets, title: {en: X}, answer: {en: Y}}\n", encoding="utf-8")
    moved = config.model_copy(update={"policy_manual": str(bad)})
    with pytest.raises(ConfigError, match=r"\[0\]\.category: 'pets' is not a category; allowed: delivery"):
        load_manual(moved)
