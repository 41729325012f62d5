"""Generic conversion between frozen dataclass records and the dicts fastavro reads and writes.

Why generic: the records mirror their .avsc field for field, so one type-directed converter keeps
every record in step with its schema instead of hand-writing a to/from pair per class.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

T = TypeVar("T")


def utc_now() -> datetime:
    """Now, in whole milliseconds as timestamp-millis keeps it, so records round-trip equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_avro(record: Any) -> dict[str, Any]:
    """The Avro datum for a record dataclass (enums as their symbols, tuples as lists)."""
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return to_avro(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_avro(cls: type[T], datum: Mapping[str, Any]) -> T:
    """Build ``cls`` from a datum read with ``cls``'s schema (the reader schema)."""
    hints = _hints(cast(type, cls))
    return cls(**{name: _typed(hint, datum[name]) for name, hint in hints.items() if name in datum})


@cache
def _hints(cls: type) -> dict[str, Any]:
    init_fields = {f.name for f in dataclasses.fields(cls) if f.init}
    return {k: v for k, v in get_type_hints(cls).items() if k in init_fields}


def _typed(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = (a for a in get_args(hint) if a is not type(None))
        return _typed(inner, value)
    if origin is tuple:
        item = get_args(hint)[0]
        return tuple(_typed(item, v) for v in value)
    if origin in (dict, Mapping):
        item = get_args(hint)[1]
        return {k: _typed(item, v) for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_avro(hint, value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if hint is float and isinstance(value, int):
        return float(value)
    return value
