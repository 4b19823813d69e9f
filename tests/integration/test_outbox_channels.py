"""The channel registry: every channel `type` config.yaml accepts has a kind, and an unknown one is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from notifications.channels import CHANNEL_KINDS, Channel, channel_for
from tests.conftest import CONFIG
from tests.e2e.test_cli import redress
from workflow.config import AlertsConfig, Config, MailConfig, MessagesConfig


def channel_models(annotation: Any) -> set[type[BaseModel]]:
    """Every config model reachable from `annotation` that is told apart from the others by its `type`."""
    found: set[type[BaseModel]] = set()
    for inner in get_args(annotation):
        found |= channel_models(inner)
    if get_origin(annotation) is None and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if "type" in annotation.model_fields:
            found.add(annotation)
        for field in annotation.model_fields.values():
            found |= channel_models(field.annotation)
    return found


def type_of(model: type[BaseModel]) -> str:
    [name] = get_args(model.model_fields["type"].annotation)
    return name


def test_the_registry_has_a_kind_for_every_channel_type_the_config_accepts():
    models = channel_models(Config) - channel_models(MailConfig)  # mailboxes are read from, not sent through
    assert {type_of(model) for model in models} == set(CHANNEL_KINDS)
    # The alerts accept every kind; customer email and SMS a subset of them.
    assert {type_of(model) for model in channel_models(AlertsConfig)} == set(CHANNEL_KINDS)
    assert {type_of(model) for model in channel_models(MessagesConfig)} <= set(CHANNEL_KINDS)
    for model in models:
        settings = model.model_validate({"type": type_of(model), "url": "https://gateway.example.com/send"}
                                        if type_of(model) == "webhook" else {"type": type_of(model)})
        kind = channel_for(settings)
        assert issubclass(kind, Channel) and kind.type == type_of(model)


def test_only_email_may_have_reached_its_receiver_without_a_way_to_drop_a_repeat():
    assert sorted(name for name, kind in CHANNEL_KINDS.items() if not kind.resends_safely) == ["email"]
    assert sorted(name for name, kind in CHANNEL_KINDS.items() if kind.takes_mail) == ["email", "folder"]


def test_a_second_kind_for_a_type_already_served_is_refused():
    kinds_before = dict(CHANNEL_KINDS)
    with pytest.raises(TypeError, match="channel type 'email' already has a kind: EmailKind"):
        class AnotherEmail(Channel, kind="email"):
            def send(self, settings: Any, message: Any) -> None:
                raise AssertionError("never registered, never used")
    assert CHANNEL_KINDS == kinds_before


def _config_with(tmp_path: Path, change: dict[str, Any]) -> Path:
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for key, value in change.items():
        settings[key] = settings.get(key, {}) | value
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, where, allowed", [
    ({"alerts": {"channels": [{"type": "pager"}]}}, "alerts.channels[0]", sorted(CHANNEL_KINDS)),
    ({"messages": {"email": {"type": "sms"}}}, "messages.email", ["email", "folder"]),
])
def test_an_unknown_channel_type_is_one_line_naming_the_allowed_kinds(tmp_path, change, where, allowed):
    config = _config_with(tmp_path, change)
    result = redress("outbox", "list", db=f"sqlite:///{tmp_path / 'redress.db'}", config=config, check=False)
    assert result.returncode == 8 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {config}: {where}: ")
    assert "does not match any of the expected tags" in line
    assert sorted(name.strip(" '") for name in line.rpartition(": ")[2].split(",")) == allowed


@pytest.mark.parametrize("change, message", [
    ({"alerts": {"channels": [{"type": "log", "level": 1}]}},
     "alerts.channels[0].log.level: unknown key; allowed keys here: type"),
    ({"alerts": {"channels": [{"type": "webhook", "url": "https://chat.example.com", "urlx": 1}]}},
     "alerts.channels[0].webhook.urlx: unknown key; allowed keys here: type, url, timeout_seconds"),
    ({"messages": {"email": {"type": "folder", "pathx": "mail"}}},
     "messages.email.folder.pathx: unknown key; allowed keys here: type, path, sender"),
    ({"messages": {"email": {"type": "email", "hostname": "smtp.example.com"}}},
     "messages.email.email.hostname: unknown key; allowed keys here: type, host, port, starttls, ssl, username, "
     "password_env, sender, timeout_seconds"),
])
def test_an_unknown_key_in_a_channel_is_one_line_naming_the_keys_of_its_kind(tmp_path, change, message):
    config = _config_with(tmp_path, change)
    result = redress("outbox", "list", db=f"sqlite:///{tmp_path / 'redress.db'}", config=config, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (8, "", f"error: {config}: {message}\n")
