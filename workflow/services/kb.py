"""The policy manual: answers loaded from YAML, found by words, and given in the customer's language.

Chinese has no spaces between words, so it is cut into words with jieba, after
traditional characters are folded to simplified ones (zhconv), so a zh-TW
question finds the same answer. Answers are ranked with BM25 over keywords,
titles and answer text, plus a bonus for the most specific keyword the question
wholly contains.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow.adapters.cache import cache_folder, keep
from workflow.config import Config, Labels
from workflow.domain.errors import ConfigError, NotFound, checked_limit
from workflow.domain.vocabulary import checked_language

if TYPE_CHECKING:
    from workflow.bootstrap import Redress

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
# A keyword says more than a title, which says more than the answer's text.
_FIELD_WEIGHTS = {"keywords": 3.0, "title": 2.0, "answer": 1.0}
_K1, _B = 1.2, 0.5  # BM25's saturation and length normalisation; entries differ little in length
# Words that carry no intent; negations (not, no, 没, 未, 不) are kept on purpose.
_STOPWORDS = frozenset(
    "a an the i me my mine we our you your it its is are was were be been am do does did has have had "
    "to of in on at for from with and or but this that these those there their they them he she his her "
    "still yet just so please can could would should will get got any some about up out as by if".split()
) | frozenset(
    "的 了 吗 呢 啊 吧 呀 我 我的 我们 你 您 你们 他 她 它 是 在 还 也 都 就 和 与 跟 请 请问 一下 "
    "这个 那个 怎么 怎么办 能 要 想".split()
)
_SUFFIXES = ("ing", "ed", "es", "s", "e")
_INDEX_FORMAT = 1  # bump when what ChineseWords remembers on disk changes shape


def _stem(word: str) -> str:
    """A light English stem (arrived, arrives, arrive -> arriv) so forms of one word meet."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@cache
def _libraries() -> tuple[Any, Any]:
    """zhconv and jieba, imported on the first search.

    Both import pkg_resources when it is installed, which alone takes about 0.3 s,
    and read their data files with plain open() when it is not (as wherever
    setuptools is absent); so it is hidden from them while they are imported.
    """
    hide = "pkg_resources" not in sys.modules
    if hide:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # makes its import fail at once
    try:
        import jieba
        import zhconv
    finally:
        if hide:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" chatter on stderr
    return zhconv, jieba


def normalized(text: str) -> str:
    """Lower case, simplified characters, "n't" spelled out."""
    zhconv, _ = _libraries()
    return str(zhconv.convert(text.lower().replace("n't", " not").replace("'", ""), "zh-cn"))


def words(text: str, cut: Callable[[str], list[str]]) -> list[str]:
    """The words of `text` that carry meaning: Chinese runs split by `cut`, English lightly stemmed."""
    text = normalized(text)
    found = [_stem(w) for w in _LATIN_WORD.findall(text) if w not in _STOPWORDS]
    for run in _CJK_RUN.findall(text):
        found += [w for w in cut(run) if w not in _STOPWORDS]
    return found


class ChineseWords:
    """Cuts Chinese into words with jieba, quickly.

    jieba's own dictionary takes most of a second to load. The manual's runs of
    Chinese are cut with it once and remembered on disk (keyed by the text and
    jieba's version) with the frequencies of the words found; a question is cut
    with a dictionary of those words alone, which loads in milliseconds. Words a
    question has beyond the manual's could never match anyway.
    """

    def __init__(self, runs: list[str]) -> None:
        _, jieba = _libraries()
        key = hashlib.sha256(json.dumps([_INDEX_FORMAT, jieba.__version__, runs]).encode()).hexdigest()[:16]
        path = cache_folder() / f"policy-manual-{key}.json"
        try:
            remembered = json.loads(path.read_text(encoding="utf-8"))
            self._runs: dict[str, list[str]] = remembered["runs"]
            frequencies: dict[str, int] = remembered["frequencies"]
        except (OSError, ValueError, KeyError, TypeError):  # none yet, or not ours: cut afresh
            remembered = self._cut_with_full_dictionary(runs)
            keep(path, json.dumps(remembered, ensure_ascii=False))
            self._runs, frequencies = remembered["runs"], remembered["frequencies"]
        self._tokenizer = jieba.Tokenizer() if frequencies else None  # a manual with no Chinese has no words
        if self._tokenizer is not None:
            lines = "\n".join(f"{word} {freq}" for word, freq in frequencies.items())
            self._tokenizer.FREQ, self._tokenizer.total = jieba.Tokenizer.gen_pfdict(io.BytesIO(lines.encode()))
            self._tokenizer.initialized = True

    @staticmethod
    def _cut_with_full_dictionary(runs: list[str]) -> dict[str, Any]:
        _, jieba = _libraries()
        cuts = {run: jieba.lcut_for_search(run) for run in runs}
        found = {word for cut in cuts.values() for word in cut}
        frequencies = {word: jieba.dt.FREQ.get(word) or jieba.suggest_freq(word) for word in sorted(found)}
        return {"runs": cuts, "frequencies": frequencies}

    def cut(self, run: str) -> list[str]:
        """The words of one run of Chinese, as jieba's full dictionary would cut it for the manual's own text."""
        known = self._runs.get(run)
        if known is not None:
            return known
        return self._tokenizer.lcut_for_search(run) if self._tokenizer is not None else []


class PolicyAnswer(BaseModel):
    """One entry of the manual, with its title and answer in each language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: str
    keywords: list[str] = []
    title: Labels
    answer: Labels

    def given(self, language: str, fallback: str) -> GivenText:
        """The text in `language`, else in `fallback`, else in English, saying which it is."""
        for lang in (language, fallback, "en"):
            if lang in self.answer:
                return GivenText(lang, self.title.get(lang, self.id), self.answer[lang])  # type: ignore[index]
        raise ConfigError(f"policy answer '{self.id}' has no text in {language}")


@dataclass(frozen=True)
class GivenText:
    """An answer's title and text in one language."""

    language: str
    title: str
    answer: str


@dataclass(frozen=True)
class SearchHit:
    answer: PolicyAnswer
    score: float


@dataclass(frozen=True)
class _Entry:
    """One answer as search sees it: weighted word counts, its length, and its keywords as sets of words."""

    counts: dict[str, float]
    length: float
    keywords: list[frozenset[str]]


def _texts(answer: PolicyAnswer) -> list[str]:
    return [*answer.keywords, *answer.title.values(), *answer.answer.values()]


class PolicyManual:
    """The loaded manual; its search index is built on the first search, once per process."""

    def __init__(self, answers: list[PolicyAnswer]) -> None:
        self.answers = answers
        self._by_id = {a.id: a for a in answers}
        self._entries: list[_Entry] | None = None
        self._idf: dict[str, float] = {}
        self._mean_length = 1.0
        self._chinese_words: list[str] = []
        self._cutter: ChineseWords | None = None

    def words(self, text: str) -> list[str]:
        """The words of `text` as this manual's search sees them."""
        if self._cutter is None:
            texts = [text for answer in self.answers for text in _texts(answer)]
            self._cutter = ChineseWords(sorted({run for text in texts for run in _CJK_RUN.findall(normalized(text))}))
        return words(text, self._cutter.cut)

    def _index(self) -> list[_Entry]:
        if self._entries is None:
            entries = [self._entry(answer) for answer in self.answers]
            seen = Counter(word for entry in entries for word in entry.counts)
            total = len(entries)
            self._idf = {word: math.log(1 + (total - n + 0.5) / (n + 0.5)) for word, n in seen.items()}
            self._mean_length = sum(e.length for e in entries) / total if total else 1.0
            self._chinese_words = [word for word in seen if len(word) > 1 and _CJK_RUN.fullmatch(word)]
            self._entries = entries
        return self._entries

    def _query_words(self, text: str) -> set[str]:
        """The question's words, and every Chinese word of the manual written inside it.

        jieba may cut the same phrase differently in a question and in the manual
        (一直没到 as 一直/没到, 快递没到 as 快递/没/到); finding the manual's words
        inside the question makes the match independent of that cut.
        """
        return set(self.words(text)) | {word for word in self._chinese_words if word in text}

    def _entry(self, answer: PolicyAnswer) -> _Entry:
        fields = {"keywords": answer.keywords, "title": list(answer.title.values()),
                  "answer": list(answer.answer.values())}
        counts: dict[str, float] = {}
        length = 0.0
        for field, texts in fields.items():
            for text in texts:
                found = self.words(text)
                length += _FIELD_WEIGHTS[field] * len(found)
                for word in found:
                    counts[word] = counts.get(word, 0.0) + _FIELD_WEIGHTS[field]
        keywords = [frozenset(kept) for keyword in answer.keywords if (kept := self.words(keyword))]
        return _Entry(counts, length, keywords)

    def get(self, answer_id: str) -> PolicyAnswer:
        try:
            return self._by_id[answer_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id)) or "none"
            raise NotFound(f"no policy answer '{answer_id}'; known answers: {known}") from None

    def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Answers ranked by how well they match `query`; an empty list when nothing matches."""
        checked_limit(limit, most=100)
        entries = self._index()
        text = normalized(query)
        wanted = self._query_words(text)

        def holds(keyword: frozenset[str]) -> bool:
            return all(word in wanted or (_CJK_RUN.fullmatch(word) and word in text) for word in keyword)

        hits = []
        for answer, entry in zip(self.answers, entries, strict=True):
            score = sum(self._bm25(entry, word) for word in wanted)
            # The most specific keyword the question holds whole is the strongest sign of what is asked.
            score += max((sum(self._idf.get(w, 0.0) for w in keyword) for keyword in entry.keywords
                          if holds(keyword)), default=0.0)
            if score > 0:
                hits.append(SearchHit(answer, round(score, 2)))
        hits.sort(key=lambda hit: (-hit.score, hit.answer.id))
        return hits[:limit]

    def _bm25(self, entry: _Entry, word: str) -> float:
        count = entry.counts.get(word, 0.0)
        if not count:
            return 0.0
        norm = _K1 * (1 - _B + _B * entry.length / self._mean_length)
        return self._idf[word] * count * (_K1 + 1) / (count + norm)


def answer_for(app: Redress, policy: PolicyAnswer, language: str | None) -> GivenText:
    """The text a customer who speaks `language` is given: theirs, else the configured default, else English.

    The one rule for every face that shows an answer and for the resolution a complaint records.
    """
    return policy.given(checked_language(language) or app.config.default_language, app.config.default_language)


@dataclass(frozen=True)
class PolicyHit:
    """One answer found for a question, in the language it is to be given in."""

    id: str
    category: str
    score: float
    language: str
    title: str
    answer: str


def policy_answers(app: Redress, text: str, *, language: str | None = None, limit: int = 5) -> list[PolicyHit]:
    """The manual's best answers to `text`, in `language` (else the configured default), best first.

    The one search both faces show, so they rank, limit and translate alike.
    """
    checked_language(language)
    checked_limit(limit, most=100)
    hits = []
    for hit in app.manual.search(text, limit):
        given = answer_for(app, hit.answer, language)
        hits.append(PolicyHit(hit.answer.id, hit.answer.category, hit.score, given.language, given.title,
                              given.answer))
    return hits


@dataclass(frozen=True)
class PolicyTitle:
    """One line of the manual's contents."""

    id: str
    category: str
    language: str
    title: str


def policy_titles(app: Redress, *, language: str | None = None) -> list[PolicyTitle]:
    """Every answer's title, in the manual's order, in `language` (else the configured default)."""
    titles = []
    for policy in app.manual.answers:
        given = answer_for(app, policy, language)
        titles.append(PolicyTitle(policy.id, policy.category, given.language, given.title))
    return titles


@dataclass(frozen=True)
class PolicyEntry:
    """One answer of the manual in full: in every language it has, or in the one asked for."""

    id: str
    category: str
    keywords: list[str]
    texts: list[GivenText]


def policy_entry(app: Redress, answer_id: str, *, language: str | None = None) -> PolicyEntry:
    """The answer `answer_id`; in every language it is written in unless `language` is given."""
    checked_language(language)
    policy = app.manual.get(answer_id)
    if language is None:
        texts = [GivenText(lang, policy.title.get(lang, policy.id), text) for lang, text in policy.answer.items()]
    else:
        texts = [answer_for(app, policy, language)]
    return PolicyEntry(policy.id, policy.category, list(policy.keywords), texts)


def load_manual(config: Config) -> PolicyManual:
    """Read and validate the manual named by config.yaml."""
    import yaml

    path = config.resolve_path(config.policy_manual)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the policy manual ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of policy answers")
    answers = []
    for index, item in enumerate(raw):
        try:
            answer = PolicyAnswer.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(p) for p in error["loc"])
            raise ConfigError(f"{path}: [{index}].{key}: {error['msg']}") from None
        if answer.category not in config.category_names:
            raise ConfigError(
                f"{path}: [{index}].category: '{answer.category}' is not a category; "
                f"allowed: {', '.join(config.category_names)}"
            )
        answers.append(answer)
    return PolicyManual(answers)
