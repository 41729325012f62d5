"""Rules every shipped schema follows, and the typed records mirroring them field for field."""

import dataclasses
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, cast, get_type_hints

import pytest

from schemas.catalog import SchemaName, SchemaVersion, catalog
from schemas.codec.safety import zero_width_arrays
from schemas.records import (
    ClusterStatus,
    ErrorType,
    EventType,
    HealthReport,
    HealthStatus,
    RecoveryEvent,
    RecoveryResult,
    RecoveryState,
    Severity,
    Silence,
    TMCError,
)

ALL_VERSIONS = [
    pytest.param(v, id=f"{v.family.value}-v{v.version}")
    for family in catalog().families.values()
    for v in family.versions
]
PY_ENUMS: dict[str, type[StrEnum]] = {
    "io.kcp.tmc.ErrorType": ErrorType,
    "io.kcp.tmc.Severity": Severity,
    "io.kcp.tmc.RecoveryState": RecoveryState,
    "io.kcp.tmc.EventType": EventType,
    "io.kcp.tmc.HealthStatus": HealthStatus,
}


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every named or complex type definition inside a parsed schema."""
    if isinstance(node, list):
        for branch in node:
            yield from _nodes(branch)
    elif isinstance(node, dict):
        yield node
        for field in node.get("fields", []):
            yield from _nodes(field["type"])
        for key in ("items", "values"):
            if key in node:
                yield from _nodes(node[key])


def _record_fields(version: SchemaVersion) -> Iterator[tuple[str, dict[str, Any]]]:
    for node in _nodes(version.parsed):
        for field in node.get("fields", []):
            yield node["name"], field


def test_every_family_has_a_folder_and_every_version_loads() -> None:
    assert set(catalog().families) == set(SchemaName)
    versions: list[SchemaVersion] = [cast(SchemaVersion, p.values[0]) for p in ALL_VERSIONS]
    assert all(catalog().by_fingerprint[v.fingerprint] is v for v in versions)
    assert set(map(id, catalog().by_fingerprint.values())) == set(map(id, versions))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_names_live_in_the_tmc_namespace(version: SchemaVersion) -> None:
    assert version.full_name.startswith("io.kcp.tmc.")
    assert all(n["name"].startswith("io.kcp.tmc.") for n in _nodes(version.parsed) if "name" in n)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_every_enum_has_a_default_symbol_an_old_reader_falls_back_to(
    version: SchemaVersion,
) -> None:
    enums = [n for n in _nodes(version.parsed) if n["type"] == "enum"]
    assert enums
    for enum in enums:
        assert enum.get("default") == "UNKNOWN", enum["name"]
        assert "UNKNOWN" in enum["symbols"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_times_are_timestamp_millis(version: SchemaVersion) -> None:
    time_names = ("timestamp", "_time", "_at")
    time_fields = [f for _, f in _record_fields(version) if f["name"].endswith(time_names)]
    assert time_fields
    for field in time_fields:
        branches = field["type"] if isinstance(field["type"], list) else [field["type"]]
        logical = [b.get("logicalType") for b in branches if isinstance(b, dict)]
        assert logical == ["timestamp-millis"], field["name"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_shipped_schemas_are_safe_to_decode_untrusted_bytes_with(version: SchemaVersion) -> None:
    assert zero_width_arrays(version.parsed) == []


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_python_enums_spell_the_avro_symbols(version: SchemaVersion) -> None:
    """Exactly in a family's latest version (what is written); an older version's symbols are
    the first ones of the Python enum, since a version only ever appends symbols."""
    latest = catalog().families[version.family].latest is version
    for node in _nodes(version.parsed):
        if node["type"] == "enum":
            values = [e.value for e in PY_ENUMS[node["name"]]]
            assert values[: len(node["symbols"])] == node["symbols"]
            assert not latest or values == node["symbols"]


def _tmc_error_inside(version: SchemaVersion) -> dict[str, Any]:
    raw = json.loads(version.text)
    return next(f["type"] for f in raw["fields"] if f["name"] == "error")


def test_the_error_inside_a_recovery_result_is_a_shipped_tmc_error_version() -> None:
    shipped = [json.loads(v.text) for v in catalog().families[SchemaName.TMC_ERROR].versions]
    for version in catalog().families[SchemaName.RECOVERY_RESULT].versions:
        assert _tmc_error_inside(version) in shipped


def test_the_latest_recovery_result_carries_the_latest_tmc_error() -> None:
    """So a result keeps every field of its error, the custom type (v3) included."""
    latest = catalog().families[SchemaName.TMC_ERROR].latest
    assert _tmc_error_inside(catalog().families[SchemaName.RECOVERY_RESULT].latest) == json.loads(
        latest.text
    )


def _check_mirrors(cls: type, record: dict[str, Any], named: dict[str, Any]) -> None:
    hints = get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    assert fields == {f["name"] for f in record["fields"]}, cls.__name__
    for field in record["fields"]:
        _check_nested(hints[field["name"]], field["type"], named)


def _check_nested(hint: Any, avro_type: Any, named: dict[str, Any]) -> None:
    for arg in getattr(hint, "__args__", ()):
        _check_nested(arg, avro_type, named)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        record = _find_record(avro_type, named)
        _check_mirrors(hint, record, named)


def _find_record(avro_type: Any, named: dict[str, Any]) -> dict[str, Any]:
    if isinstance(avro_type, str):
        return dict(named[avro_type])
    if isinstance(avro_type, list):
        (record,) = [_find_record(b, named) for b in avro_type if b != "null"]
        return record
    if avro_type["type"] in ("array", "map"):
        return _find_record(avro_type.get("items") or avro_type["values"], named)
    return dict(avro_type)


RECORD_TYPES = [TMCError, RecoveryResult, ClusterStatus, RecoveryEvent, HealthReport, Silence]


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.__name__)
def test_typed_records_mirror_the_latest_schema_field_for_field(record_type: Any) -> None:
    parsed = catalog().families[record_type.schema].latest.parsed
    _check_mirrors(record_type, parsed, parsed["__named_schemas"])
