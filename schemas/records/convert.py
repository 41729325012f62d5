"""Conversion between frozen dataclass records and the dicts fastavro reads and writes.

Why generic: the records mirror their .avsc field for field, so one type-directed converter keeps
every record in step with its schema instead of hand-writing a to/from pair per class. The
converters are compiled once per class from its type hints, so a conversion is a few calls.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

T = TypeVar("T")
Convert = Callable[[Any], Any]


def utc_now() -> datetime:
    """Now, in whole milliseconds as timestamp-millis keeps it, so records round-trip equal."""
    return whole_millis(datetime.now(UTC))


def whole_millis(moment: datetime) -> datetime:
    """``moment`` truncated to the millisecond, the one clock rule of every record."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_avro(record: Any) -> dict[str, Any]:
    """The Avro datum for a record dataclass (enums as their symbols, tuples as lists)."""
    record_type: Any = type(record)  # Any: mypy misses that classes are Hashable for cache()
    return cast(dict[str, Any], _writer(record_type)(record))


def from_avro(cls: type[T], datum: Mapping[str, Any]) -> T:
    """Build ``cls`` from a datum read with ``cls``'s schema (the reader schema)."""
    record_type: Any = cls
    return cast(T, _reader(record_type)(datum))


def _hints(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _optional(inner: Convert | None) -> Convert | None:
    if inner is None:
        return None
    return lambda v: None if v is None else inner(v)


@cache
def _reader(cls: Any) -> Convert:
    fields = [(name, _read_as(hint)) for name, hint in _hints(cls).items()]

    def read(datum: Mapping[str, Any]) -> Any:
        return cls(**{n: datum[n] if c is None else c(datum[n]) for n, c in fields if n in datum})

    return read


def _read_as(hint: Any) -> Convert | None:
    """How to turn a value fastavro read into ``hint``; None when it already is one."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = (a for a in get_args(hint) if a is not type(None))
        return _optional(_read_as(inner))
    if origin is tuple:
        item = _read_as(get_args(hint)[0])
        return tuple if item is None else lambda v: tuple(map(item, v))
    if origin in (dict, Mapping):
        value = _read_as(get_args(hint)[1])
        return None if value is None else lambda v: {k: value(x) for k, x in v.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _reader(hint)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_reader(hint)
    if hint is float:
        return float
    if hint is datetime:
        return _moment
    return None


def _enum_reader(cls: type[Enum]) -> Convert:
    """``cls(value)``, by a dict lookup first: calling an enum class costs more than the rest
    of a record's conversion (2% of a storm's worker CPU, two enums per error)."""
    members = {member.value: member for member in cls}

    def read(value: Any) -> Any:
        try:
            return members[value]
        except KeyError:  # not a member: the class says why (or finds it, by _missing_)
            return cls(value)

    return read


_EPOCH = datetime.fromtimestamp(0, UTC)


def _moment(value: datetime | int) -> datetime:
    """A timestamp-millis value as read: a datetime, or the raw milliseconds of a field default
    (fastavro, like our resolver, does not pass a reader's default through its logical type)."""
    return value if isinstance(value, datetime) else _EPOCH + timedelta(milliseconds=value)


@cache
def _writer(cls: Any) -> Convert:
    fields = [(name, _write_as(hint)) for name, hint in _hints(cls).items()]

    def write(record: Any) -> dict[str, Any]:
        values = [(n, c, getattr(record, n)) for n, c in fields]
        return {n: v if c is None else c(v) for n, c, v in values}

    return write


def _write_as(hint: Any) -> Convert | None:
    """How to turn a record's ``hint``-typed value into what fastavro writes; None: as it is."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = (a for a in get_args(hint) if a is not type(None))
        return _optional(_write_as(inner))
    if origin is tuple:
        item = _write_as(get_args(hint)[0])
        return list if item is None else lambda v: [item(x) for x in v]
    if origin in (dict, Mapping):
        value = _write_as(get_args(hint)[1])
        return dict if value is None else lambda v: {k: value(x) for k, x in v.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _writer(hint)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_value
    return None


def _enum_value(member: Enum) -> Any:
    return member.value
