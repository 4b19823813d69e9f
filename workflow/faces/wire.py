"""Answers on the wire: a use case's result as JSON, and the JSON rebuilt into the same result on a seat.

The server sends what a use case returned; a seat signed in to it rebuilds the same dataclass, so the command
line and the terminal app format an answer the same way whether it came from the database or the server.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def to_wire(value: Any) -> Any:
    """JSON-ready: dataclasses as objects, tuples as lists, times as ISO text, money as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_wire(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def named_type(name: str) -> Any:
    """The class `module:Class` names."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def from_wire(kind: Any, data: Any) -> Any:
    """`data` rebuilt as `kind`: a dataclass (fields rebuilt by their annotations), a list or tuple of them."""
    if data is None:
        return None
    if dataclasses.is_dataclass(kind) and isinstance(data, dict):
        hints = typing.get_type_hints(kind)
        values = {field.name: from_wire(hints.get(field.name, Any), data[field.name])
                  for field in dataclasses.fields(kind) if field.name in data}
        return kind(**values)  # type: ignore[operator]
    origin = typing.get_origin(kind)
    arguments = typing.get_args(kind)
    if origin in (list, tuple) and isinstance(data, list):
        item = arguments[0] if arguments else Any
        rebuilt = [from_wire(item, element) for element in data]
        return tuple(rebuilt) if origin is tuple else rebuilt
    if origin in (typing.Union, types.UnionType):
        for option in arguments:
            if dataclasses.is_dataclass(option) and isinstance(data, dict):
                return from_wire(option, data)
    return data
