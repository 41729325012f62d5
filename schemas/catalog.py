"""Every schema version shipped under ``schemas/avro``, parsed and fingerprinted once.

Decoding resolves a single-object fingerprint against *all* versions ever shipped (an old producer
keeps working), while encoding and reading use each family's latest version. Fingerprints cost
about half a millisecond each, so they are computed when the catalog loads, never per message.

Not every Avro library computes the spec's fingerprint. The single-object header carries the
CRC-64-AVRO of the schema's Parsing Canonical Form, and three popular emitters build that form
their own way, so an emitter using them out of the box would be "unknown-fingerprint" here:

- goavro (github.com/linkedin/goavro/v2, checked on v2.15.0, ``Codec.SingleFromNative``) keeps a
  primitive that carries a logical type as ``{"type":"long"}`` instead of ``"long"`` (its issue
  #174), and prefixes an explicit namespace of a nested named type with the enclosing one
  (``io.kcp.tmc.io.kcp.tmc.TMCError`` inside RecoveryResult);
- hamba/avro (github.com/hamba/avro/v2, checked on v2.31.0, package ``soe``) keeps the logical
  type: ``{"type":"long","logicalType":"timestamp-millis"}``;
- the Apache ``avro`` Python package (1.12) writes ``{"type":"long"}`` like goavro.

Java's ``SchemaNormalization`` and fastavro follow the spec. The catalog computes each dialect's
form for every version and maps all their fingerprints to that version (encoding always writes
the spec's). tests/schemas/foreign holds what the libraries themselves print, as the oracle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.errors import TmcRecoveryError

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")


class SchemaName(StrEnum):
    """A schema family: one folder under ``schemas/avro``, one Avro record name."""

    TMC_ERROR = "tmc_error"
    RECOVERY_RESULT = "recovery_result"
    CLUSTER_STATUS = "cluster_status"
    RECOVERY_EVENT = "recovery_event"
    HEALTH_REPORT = "health_report"
    SILENCE = "silence"


class SchemaCatalogError(TmcRecoveryError):
    """The shipped schema files break a rule the codec relies on."""


class Dialect(StrEnum):
    """Whose Parsing Canonical Form, hence whose fingerprint, a single-object header carries."""

    SPEC = "spec"  # the Avro spec: Java's SchemaNormalization and fastavro
    GOAVRO = "goavro"
    HAMBA = "hamba"
    AVRO_PY = "avro-py"


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One ``vN.avsc`` file: its text (what a registry stores), parsed form and fingerprint."""

    family: SchemaName
    version: int
    text: str
    raw: Mapping[str, Any]
    parsed: Any
    fingerprint: bytes
    #: Every dialect's fingerprint (SPEC's is ``fingerprint``), in single-object header order.
    fingerprints: Mapping[Dialect, bytes]

    @property
    def full_name(self) -> str:
        return f"{self.raw['namespace']}.{self.raw['name']}"


@dataclass(frozen=True, slots=True)
class SchemaFamily:
    name: SchemaName
    versions: tuple[SchemaVersion, ...]

    @property
    def latest(self) -> SchemaVersion:
        return self.versions[-1]


@dataclass(frozen=True, slots=True)
class Catalog:
    families: Mapping[SchemaName, SchemaFamily]
    by_fingerprint: Mapping[bytes, SchemaVersion]


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, in single-object header byte order."""
    return _crc64(to_parsing_canonical_form(schema))


def _crc64(canonical: str) -> bytes:
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def canonical_form(schema: Any, dialect: Dialect) -> str:
    """``schema``'s (JSON) Parsing Canonical Form as ``dialect`` writes it."""
    if dialect is Dialect.SPEC:
        return str(to_parsing_canonical_form(schema))
    if dialect is Dialect.GOAVRO:
        return _goavro_form(schema, "", {})
    return _spec_like_form(schema, "", dialect)


_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
# avro-py keeps a primitive as an object when it has a property outside these.
_AVRO_PY_RESERVED = frozenset(
    {"type", "name", "namespace", "fields", "items", "size", "symbols", "values", "doc"}
)
# The logical types hamba/avro knows (others it drops, printing the bare primitive).
_HAMBA_LOGICAL = {
    "string": {"uuid"},
    "int": {"date", "time-millis"},
    "long": {
        "time-micros",
        "timestamp-millis",
        "timestamp-micros",
        "local-timestamp-millis",
        "local-timestamp-micros",
    },
}


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _spec_like_form(node: Any, namespace: str, dialect: Dialect) -> str:
    """The spec's canonical form, with the primitive-object quirk of hamba or avro-py."""
    if isinstance(node, list):
        return "[" + ",".join(_spec_like_form(b, namespace, dialect) for b in node) + "]"
    if isinstance(node, str):
        name = node if node in _PRIMITIVES else _full_name(node, namespace)
        return json.dumps(name, ensure_ascii=False)
    kind = node["type"]
    if not isinstance(kind, str):  # {"type": {...}}: the inner schema
        return _spec_like_form(kind, namespace, dialect)
    if kind in _PRIMITIVES:
        return _primitive_form(node, kind, dialect)
    if kind in _NAMED:
        full = _full_name(node["name"], node.get("namespace") or namespace)
        inner = full.rpartition(".")[0]
        head = f'"name":{json.dumps(full, ensure_ascii=False)},"type":"{kind}"'
        if kind == "enum":
            symbols = json.dumps(node["symbols"], ensure_ascii=False, separators=(",", ":"))
            return "{" + head + ',"symbols":' + symbols + "}"
        if kind == "fixed":
            logical = _hamba_fixed_logical(node) if dialect is Dialect.HAMBA else ""
            return "{" + head + f',"size":{int(node["size"])}{logical}' + "}"
        fields = ",".join(
            f'{{"name":{json.dumps(f["name"], ensure_ascii=False)},'
            f'"type":{_spec_like_form(f["type"], inner, dialect)}}}'
            for f in node["fields"]
        )
        return "{" + head + ',"fields":[' + fields + "]}"
    key = "items" if kind == "array" else "values"
    return f'{{"type":"{kind}","{key}":{_spec_like_form(node[key], namespace, dialect)}}}'


def _primitive_form(node: Mapping[str, Any], kind: str, dialect: Dialect) -> str:
    logical = node.get("logicalType")
    if dialect is Dialect.AVRO_PY and any(k not in _AVRO_PY_RESERVED for k in node):
        return f'{{"type":"{kind}"}}'
    if dialect is Dialect.HAMBA:
        if logical in _HAMBA_LOGICAL.get(kind, ()):
            return f'{{"type":"{kind}","logicalType":"{logical}"}}'
        if kind == "bytes" and logical == "decimal":
            return f'{{"type":"bytes",{_hamba_decimal(node)}}}'
    return f'"{kind}"'


def _hamba_decimal(node: Mapping[str, Any]) -> str:
    scale = int(node.get("scale", 0))
    return f'"logicalType":"decimal","precision":{int(node.get("precision", 0))}' + (
        f',"scale":{scale}' if scale > 0 else ""
    )


def _hamba_fixed_logical(node: Mapping[str, Any]) -> str:
    logical = node.get("logicalType")
    if logical == "duration" and int(node["size"]) == 12:
        return ',"logicalType":"duration"'
    if logical == "decimal":
        return "," + _hamba_decimal(node)
    return ""


_GOAVRO_ORDER = {
    "name": 1,
    "type": 2,
    "fields": 3,
    "symbols": 4,
    "items": 5,
    "values": 6,
    "size": 7,
}


def _goavro_form(node: Any, parent: str, names: dict[str, str]) -> str:
    """goavro v2.15.0's ``parsingCanonicalForm`` (canonical.go), step for step."""
    if isinstance(node, dict):
        return _goavro_object(node, parent, names)
    if isinstance(node, list):
        return "[" + ",".join(_goavro_form(item, parent, names) for item in node) + "]"
    if isinstance(node, str):
        return '"' + names.get(node, node) + '"'
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise SchemaCatalogError(f"goavro cannot take {node!r} in a schema")
    return str(int(node)) if float(node).is_integer() else repr(float(node))


def _goavro_object(node: Mapping[str, Any], parent: str, names: dict[str, str]) -> str:
    namespace = ""
    if "namespace" in node:
        if isinstance(node["namespace"], str):
            namespace = node["namespace"] if not parent else f"{parent}.{node['namespace']}"
            parent = namespace
    elif node.get("type") in ("record", "enum", "fixed"):
        namespace = parent
    pairs: list[tuple[int, str]] = []
    for key, value in node.items():
        if len(node) == 1 and key == "type" and isinstance(value, str):
            return '"' + value + '"'
        if key not in _GOAVRO_ORDER:
            continue
        if key == "name" and namespace and isinstance(value, str) and "." not in value:
            names[value] = value = f"{namespace}.{value}"
        if key == "size" and isinstance(value, str):
            value = int(value)
        item = _goavro_form(key, parent, names) + ":" + _goavro_form(value, parent, names)
        pairs.append((_GOAVRO_ORDER[key], item))
    return "{" + ",".join(item for _, item in sorted(pairs, key=lambda p: p[0])) + "}"


def _load_version(family: SchemaName, version: int, text: str) -> SchemaVersion:
    raw = json.loads(text)
    fingerprints = {dialect: _crc64(canonical_form(raw, dialect)) for dialect in Dialect}
    return SchemaVersion(
        family=family,
        version=version,
        text=text,
        raw=raw,
        parsed=parse_schema(raw),
        fingerprint=fingerprints[Dialect.SPEC],
        fingerprints=fingerprints,
    )


def _load_family(root: Traversable, name: SchemaName) -> SchemaFamily:
    folder = root.joinpath(name.value)
    found: dict[int, str] = {}
    for entry in folder.iterdir():
        match = _VERSION_FILE.match(entry.name)
        if match is None:
            raise SchemaCatalogError(f"{name}/{entry.name}: schema files must be named vN.avsc")
        found[int(match.group(1))] = entry.read_text(encoding="utf-8")
    if sorted(found) != list(range(1, len(found) + 1)):
        raise SchemaCatalogError(
            f"{name}: versions must run 1..N without gaps, got {sorted(found)}"
        )
    versions = tuple(_load_version(name, v, found[v]) for v in sorted(found))
    names = {v.full_name for v in versions}
    if len(names) != 1:
        raise SchemaCatalogError(f"{name}: every version must keep one record name, got {names}")
    return SchemaFamily(name, versions)


@cache
def catalog() -> Catalog:
    """The shipped schemas; loaded on first use and shared by every codec."""
    return load_catalog(files("schemas").joinpath("avro"))


def load_catalog(root: Traversable) -> Catalog:
    """Every family's versions under ``root``, checked against the rules the codec relies on."""
    families = {name: _load_family(root, name) for name in SchemaName}
    by_fingerprint: dict[bytes, SchemaVersion] = {}
    for family in families.values():
        for version in family.versions:
            if version.fingerprint in by_fingerprint:
                raise SchemaCatalogError(f"{family.name} v{version.version}: duplicate fingerprint")
            by_fingerprint[version.fingerprint] = version
    for family in families.values():  # other dialects' fingerprints: never one of another version
        for version in family.versions:
            for dialect, fp in version.fingerprints.items():
                if by_fingerprint.setdefault(fp, version) is not version:
                    raise SchemaCatalogError(
                        f"{family.name} v{version.version}: {dialect} fingerprint {fp.hex()} "
                        "is another version's"
                    )
    return Catalog(families, by_fingerprint)
