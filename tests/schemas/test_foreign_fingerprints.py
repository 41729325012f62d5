"""Emitters built on other Avro libraries work on the first try: the catalog knows the fingerprint
each library puts in a single-object header, for every shipped version, and their records decode.
The oracle is what the libraries themselves printed (tests/schemas/foreign/fingerprints.json)."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import to_parsing_canonical_form

from schemas.catalog import (
    Dialect,
    SchemaCatalogError,
    SchemaName,
    SchemaVersion,
    _spec_like_form,
    canonical_form,
    catalog,
    load_catalog,
)
from schemas.codec import AvroCodec, RecordCodec, UnusableWriterSchema
from schemas.codec import body as body_module
from tests.schemas.avro_canon import canonical
from tests.schemas.test_catalog import RECORD_TYPES

FOREIGN = json.loads((Path(__file__).parent / "foreign" / "fingerprints.json").read_text())
ENTRIES = FOREIGN["versions"]
LIBRARIES = {"goavro": Dialect.GOAVRO, "hamba": Dialect.HAMBA, "avro-py": Dialect.AVRO_PY}


def _version(entry: dict[str, Any]) -> SchemaVersion:
    return catalog().families[SchemaName(entry["family"])].versions[int(entry["version"][1:]) - 1]


def _ids(entry: dict[str, Any]) -> str:
    return f"{entry['family']}-{entry['version']}"


def test_the_oracle_covers_every_shipped_version() -> None:
    shipped = {
        (v.family.value, f"v{v.version}")
        for family in catalog().families.values()
        for v in family.versions
    }
    recorded = {(e["family"], e["version"]) for e in ENTRIES}
    assert recorded == shipped, "new schema version: regenerate tests/schemas/foreign (README.md)"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_java_computes_the_spec_fingerprint(entry: dict[str, Any]) -> None:
    assert _version(entry).fingerprint.hex() == entry["java"]["fingerprint"]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_each_library_s_fingerprint_maps_to_the_same_version(
    entry: dict[str, Any], library: str
) -> None:
    version = _version(entry)
    fingerprint = bytes.fromhex(entry[library]["fingerprint"])
    assert fingerprint != version.fingerprint  # every shipped version has a timestamp-millis
    assert catalog().by_fingerprint[fingerprint] is version


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_the_catalog_reproduces_each_library_s_canonical_form(
    entry: dict[str, Any], library: str
) -> None:
    version = _version(entry)
    dialect = LIBRARIES[library]
    assert canonical_form(json.loads(version.text), dialect) == entry[library]["canonical"]
    assert version.fingerprints[dialect].hex() == entry[library]["fingerprint"]


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_the_spec_walker_under_the_dialects_is_the_spec(entry: dict[str, Any]) -> None:
    raw = json.loads(_version(entry).text)
    assert _spec_like_form(raw, "", Dialect.SPEC) == to_parsing_canonical_form(raw)


@pytest.mark.parametrize("library", ["goavro", "hamba"])
@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_a_go_emitter_s_single_object_record_decodes(entry: dict[str, Any], library: str) -> None:
    version = _version(entry)
    data = bytes.fromhex(entry[library]["single_object"])
    assert data[:10] == b"\xc3\x01" + bytes.fromhex(entry[library]["fingerprint"])
    canon = canonical(version.parsed, data[10:])
    assert canon is not None
    if library == "hamba" and entry["family"] != "silence":  # no arrays or maps in Silence
        assert canon.alternatives["negative-block-count"] > 0
    # A complete record of the family, typed: a default the reader filled in is as good as
    # a value written (a timestamp-millis default reads as raw milliseconds in a datum).
    record_type: Any = next(t for t in RECORD_TYPES if t.schema is version.family)  # type: ignore[attr-defined]
    latest: RecordCodec[Any] = RecordCodec(record_type)
    typed = latest.decode(data)
    assert latest.decode(latest.encode(typed)) == typed


def test_a_goavro_record_of_another_family_is_still_refused() -> None:
    entry = next(e for e in ENTRIES if e["family"] == "recovery_result")
    data = bytes.fromhex(entry["goavro"]["single_object"])
    with pytest.raises(UnusableWriterSchema, match="RecoveryResult"):
        AvroCodec(SchemaName.TMC_ERROR).decode(data)


def test_a_dialect_fingerprint_that_is_another_version_s_is_refused(tmp_path: Path) -> None:
    """goavro doubles an explicit nested namespace, so its form of one version can be the spec's
    form of another: a header would then be ambiguous, and the catalog refuses to load."""
    root = tmp_path / "avro"
    shutil.copytree(Path(__file__).resolve().parents[2] / "schemas" / "avro", root)

    def silence(inner_name: str, namespace: str | None) -> str:
        inner: dict[str, Any] = {"type": "record", "name": inner_name, "fields": []}
        inner["fields"].append({"name": "a", "type": "string"})
        if namespace:
            inner["namespace"] = namespace
        fields = [{"name": "inner", "type": inner}]
        schema = {"type": "record", "name": "Silence", "namespace": "io.kcp.tmc", "fields": fields}
        return json.dumps(schema)

    (root / "silence" / "v2.avsc").write_text(silence("Inner", "io.kcp.tmc"))
    (root / "silence" / "v3.avsc").write_text(silence("io.kcp.tmc.io.kcp.tmc.Inner", None))
    with pytest.raises(SchemaCatalogError, match=r"goavro fingerprint \w+ is another version's"):
        load_catalog(root)


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_hamba_s_block_sizes_are_checked_array_by_array_not_the_whole_body(
    entry: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """hamba writes every array and map with a byte size: the fast path checks those arrays
    exactly, and never needs the (ten times slower) check of the whole body."""
    data = bytes.fromhex(entry["hamba"]["single_object"])
    monkeypatch.setattr(body_module, "check_body", lambda *args: pytest.fail("whole body checked"))
    AvroCodec(_version(entry).family).decode(data)
