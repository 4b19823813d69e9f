"""Suggesting a severity from how strongly the customer feels: pure rules over config."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.config import Config


@dataclass(frozen=True)
class SeveritySuggestion:
    severity: str
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        return "; ".join(self.reasons)


def suggest_severity(
    config: Config,
    *,
    text: str,
    tier: str,
    earlier_contacts_same_order: int,
    recent_complaints: int,
) -> SeveritySuggestion:
    """The strongest phrase sets a floor, then repeat contacts, complaint history and tier add steps."""
    names = config.severity_names
    rank = config.severity_rank(config.default_severity)
    reasons = [f"default {config.default_severity}"]
    lowered = text.lower()
    for phrase in config.intensity.phrases:
        matched = next((w for w in phrase.words if w.lower() in lowered), None)
        if matched is not None and config.severity_rank(phrase.severity) > rank:
            rank = config.severity_rank(phrase.severity)
            reasons.append(f"{phrase.reason} ('{matched}') -> {phrase.severity}")
    highest = len(names) - 1

    def raise_by(steps: int, reason: str) -> None:
        nonlocal rank
        applied = min(steps, highest - rank)
        if applied > 0:
            rank += applied
            reasons.append(f"{reason}: +{applied}")

    repeat = config.intensity.repeat_contact
    if earlier_contacts_same_order:
        raise_by(
            min(earlier_contacts_same_order * repeat.steps_per_contact, repeat.max_steps),
            f"{earlier_contacts_same_order} earlier contact(s) about this order in {repeat.window_days} days",
        )
    history = config.intensity.history
    if recent_complaints >= history.complaints:
        raise_by(history.steps, f"{recent_complaints} complaints in {history.window_days} days")
    raise_by(next(t.severity_bump for t in config.member_tiers if t.name == tier), f"{tier} member")
    return SeveritySuggestion(names[rank], tuple(reasons))
