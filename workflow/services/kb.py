"""The policy manual: answers loaded from YAML and found by text, Chinese included.

Chinese has no spaces between words, so text is indexed as character bigrams
(as Lucene's CJK analyser does) beside ordinary Latin-script words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow.config import Config, Labels
from workflow.domain.errors import ConfigError, InvalidInput, NotFound, checked_limit
from workflow.domain.vocabulary import LANGUAGES

if TYPE_CHECKING:
    from workflow.bootstrap import Redress

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
# Weights: a keyword hit says more than a title hit, which says more than an answer hit.
_WEIGHTS = {"keywords": 3.0, "title": 2.0, "answer": 1.0}


class PolicyAnswer(BaseModel):
    """One entry of the manual, with its title and answer in each language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: str
    keywords: list[str] = []
    title: Labels
    answer: Labels

    def text(self, language: str, fallback: str) -> tuple[str, str]:
        """Title and answer in `language`, else in `fallback`, else in English."""
        for lang in (language, fallback, "en"):
            if lang in self.answer:
                return self.title.get(lang, self.id), self.answer[lang]  # type: ignore[index]
        raise ConfigError(f"policy answer '{self.id}' has no text in {language}")


@dataclass(frozen=True)
class SearchHit:
    answer: PolicyAnswer
    score: float


def tokens(text: str) -> set[str]:
    """Latin words and CJK character bigrams (single characters for one-character runs)."""
    lowered = text.lower()
    found = set(_WORD.findall(lowered))
    for run in _CJK_RUN.findall(lowered):
        if len(run) == 1:
            found.add(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


class PolicyManual:
    """The loaded manual with a small inverted index for search."""

    def __init__(self, answers: list[PolicyAnswer]) -> None:
        self.answers = answers
        self._by_id = {a.id: a for a in answers}
        self._index: list[dict[str, float]] = [self._weigh(a) for a in answers]

    @staticmethod
    def _weigh(answer: PolicyAnswer) -> dict[str, float]:
        weights: dict[str, float] = {}
        fields = {
            "keywords": " ".join(answer.keywords),
            "title": " ".join(answer.title.values()),
            "answer": " ".join(answer.answer.values()),
        }
        for field, text in fields.items():
            for token in tokens(text):
                weights[token] = max(weights.get(token, 0.0), _WEIGHTS[field])
        return weights

    def get(self, answer_id: str) -> PolicyAnswer:
        try:
            return self._by_id[answer_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id)) or "none"
            raise NotFound(f"no policy answer '{answer_id}'; known answers: {known}") from None

    def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Answers ranked by how well they match `query`; an empty list when nothing matches."""
        checked_limit(limit, most=100)
        wanted = tokens(query)
        if not wanted:
            return []
        hits = []
        for answer, weights in zip(self.answers, self._index, strict=True):
            score = sum(weights.get(token, 0.0) for token in wanted)
            # A whole keyword inside the query is a strong signal of intent.
            lowered = query.lower()
            score += sum(2.0 for keyword in answer.keywords if keyword.lower() in lowered)
            if score > 0:
                hits.append(SearchHit(answer, round(score, 2)))
        hits.sort(key=lambda hit: (-hit.score, hit.answer.id))
        return hits[:limit]


@dataclass(frozen=True)
class PolicyHit:
    """One answer found for a question, in the language it is to be given in."""

    id: str
    category: str
    score: float
    title: str
    answer: str


def policy_answers(app: Redress, text: str, *, language: str | None = None, limit: int = 5) -> list[PolicyHit]:
    """The manual's best answers to `text`, in `language` (else the configured default), best first.

    The one search both faces show, so they rank, limit and translate alike.
    """
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"language '{language}' is not allowed; languages: {', '.join(LANGUAGES)}")
    checked_limit(limit, most=100)
    default = app.config.default_language
    hits = []
    for hit in app.manual.search(text, limit):
        title, answer = hit.answer.text(language or default, default)
        hits.append(PolicyHit(hit.answer.id, hit.answer.category, hit.score, title, answer))
    return hits


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
