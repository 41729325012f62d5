"""Every shipped version is fully compatible with every earlier one, and breaking changes fail."""

import copy
import dataclasses
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastavro import parse_schema
from fastavro.read import SchemaResolutionError

from schemas.catalog import SchemaName, catalog
from schemas.codec import AvroCodec, RecordCodec
from schemas.records import (
    ActiveRecovery,
    ClusterStatus,
    ErrorType,
    RecoveryState,
    Silence,
    StrategyOutcome,
    to_avro,
)
from tests.schemas.compat import assert_fully_compatible, read_with, write
from tests.schemas.examples import T0, all_records, custom_error, recovery_result, tmc_error

PAIRS = [
    pytest.param(older, newer, id=f"{family.value}-v{older.version}-v{newer.version}")
    for family in SchemaName
    for older, newer in itertools.combinations(catalog().families[family].versions, 2)
]


def test_there_is_an_evolved_schema_to_check() -> None:
    assert len(catalog().families[SchemaName.TMC_ERROR].versions) >= 2
    assert PAIRS


@pytest.mark.parametrize(("older", "newer"), PAIRS)
def test_each_version_is_fully_compatible_with_earlier_ones(older: Any, newer: Any) -> None:
    assert_fully_compatible(dict(older.raw), dict(newer.raw))


def _tmc_error(version: int = 1) -> dict[str, Any]:
    text = catalog().families[SchemaName.TMC_ERROR].versions[version - 1].text
    return dict(json.loads(text))


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def _with_new_error_type(schema: dict[str, Any], symbol: str) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    _field(changed, "type")["type"]["symbols"].append(symbol)
    return changed


def test_an_unknown_error_type_reads_as_the_default_in_every_shipped_version() -> None:
    newer = _with_new_error_type(_tmc_error(2), "QuantumFlux")
    writer = parse_schema(newer)
    datum = {
        "type": "QuantumFlux",
        "severity": "High",
        "component": "syncer",
        "operation": "heartbeat",
        "message": "m",
        "timestamp": 1_700_000_000_000,
        "retryable": True,
    }
    data = write(writer, datum)
    for version in catalog().families[SchemaName.TMC_ERROR].versions:
        assert read_with(data, writer, version.parsed)["type"] == "UNKNOWN"


def test_adding_an_error_type_is_a_compatible_change() -> None:
    assert_fully_compatible(_tmc_error(2), _with_new_error_type(_tmc_error(2), "QuantumFlux"))


def _new_field_without_default() -> dict[str, Any]:
    schema = _tmc_error()
    schema["fields"].append({"name": "tenant", "type": "string"})
    return schema


def _field_type_changed() -> dict[str, Any]:
    schema = _tmc_error()
    _field(schema, "operation")["type"] = "int"
    return schema


def _field_renamed() -> dict[str, Any]:
    schema = _tmc_error()
    _field(schema, "component")["name"] = "source"
    return schema


def _required_field_removed() -> dict[str, Any]:
    schema = _tmc_error()
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "retryable"]
    return schema


def _enum_without_default_gains_a_symbol() -> tuple[dict[str, Any], dict[str, Any]]:
    older = _tmc_error()
    del _field(older, "severity")["type"]["default"]
    newer = copy.deepcopy(older)
    _field(newer, "severity")["type"]["symbols"].append("Catastrophic")
    return older, newer


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        pytest.param(_tmc_error(), _new_field_without_default(), id="new-field-without-default"),
        pytest.param(_tmc_error(), _field_type_changed(), id="field-type-changed"),
        pytest.param(_tmc_error(), _field_renamed(), id="field-renamed"),
        pytest.param(_tmc_error(), _required_field_removed(), id="required-field-removed"),
        pytest.param(*_enum_without_default_gains_a_symbol(), id="enum-without-default"),
    ],
)
def test_a_breaking_change_fails_the_check(older: dict[str, Any], newer: dict[str, Any]) -> None:
    with pytest.raises(SchemaResolutionError):
        assert_fully_compatible(older, newer)


# --- v3 custom error types and v2 recovery states, as older readers see them --------------------


def _older_reads(record: Any, family: SchemaName) -> list[dict[str, Any]]:
    """``record`` as our codec writes it (the latest version), read by every older version."""
    versions = catalog().families[family].versions
    data = RecordCodec(type(record)).encode(record)
    assert data[2:10] == versions[-1].fingerprint  # the codec writes the newest version
    return [read_with(data[10:], versions[-1].parsed, old.parsed) for old in versions[:-1]]


def test_a_custom_error_reads_as_an_unknown_error_in_every_older_version() -> None:
    error = custom_error()
    assert (error.type, error.custom_type) == (ErrorType.UNKNOWN, "CustomApplication")
    older = _older_reads(error, SchemaName.TMC_ERROR)
    assert len(older) == 2  # v1 and v2
    for datum in older:
        assert datum["type"] == "UNKNOWN"
        assert "custom_type" not in datum
        assert (datum["component"], datum["retryable"]) == ("my-application", True)


def test_an_older_error_reads_with_no_custom_type() -> None:
    v1 = catalog().families[SchemaName.TMC_ERROR].versions[0]
    datum = {k: v for k, v in to_avro(tmc_error()).items() if k not in ("trace_id", "custom_type")}
    header = b"\xc3\x01" + v1.fingerprint
    decoded = AvroCodec(SchemaName.TMC_ERROR).decode(header + write(v1.parsed, datum))
    assert decoded["custom_type"] is None
    assert decoded["type"] == "ClusterUnreachable"


@pytest.mark.parametrize(
    "state",
    [RecoveryState.WAITING, RecoveryState.AWAITING_APPROVAL, RecoveryState.SUPPRESSED],
)
def test_a_v1_reader_reads_each_new_recovery_state_as_unknown(state: RecoveryState) -> None:
    result = dataclasses.replace(recovery_result(state=state), error=custom_error())
    (v1,) = _older_reads(result, SchemaName.RECOVERY_RESULT)
    assert v1["state"] == "UNKNOWN"
    assert [t["state"] for t in v1["transitions"]] == ["Pending", "InProgress", "UNKNOWN"]
    assert v1["error"]["type"] == "UNKNOWN"
    assert "custom_type" not in v1["error"]
    status = ClusterStatus(
        cluster_name="edge-1",
        updated_at=T0,
        active_recoveries=(ActiveRecovery("rec-1", "Generic", "edge-1", state, T0),),
        last_outcomes={"Generic": StrategyOutcome("rec-0", state, T0)},
    )
    (v1_status,) = _older_reads(status, SchemaName.CLUSTER_STATUS)
    assert v1_status["active_recoveries"][0]["state"] == "UNKNOWN"
    assert v1_status["last_outcomes"]["Generic"]["state"] == "UNKNOWN"


def test_only_suppressed_of_the_new_states_is_terminal() -> None:
    assert RecoveryState.SUPPRESSED.is_terminal
    assert not RecoveryState.WAITING.is_terminal
    assert not RecoveryState.AWAITING_APPROVAL.is_terminal
    assert {s for s in RecoveryState if s.is_terminal} == {
        RecoveryState.COMPLETED,
        RecoveryState.CANCELLED,
        RecoveryState.ESCALATED,
        RecoveryState.SUPPRESSED,
    }


def test_a_timestamp_default_an_older_writer_lacks_reads_as_a_datetime() -> None:
    """Silence v2's starts_at defaults to 0 ms; the typed record holds the epoch, not 0."""
    v1 = catalog().families[SchemaName.SILENCE].versions[0]
    silence = next(r for r in all_records() if isinstance(r, Silence))
    data = b"\xc3\x01" + v1.fingerprint + write(v1.parsed, to_avro(silence))  # extra keys unread
    decoded = RecordCodec(Silence).decode(data)
    assert decoded.starts_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert decoded == dataclasses.replace(silence, starts_at=decoded.starts_at)
