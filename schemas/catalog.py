"""Every schema version shipped under ``schemas/avro``, parsed and fingerprinted once.

Decoding resolves a single-object fingerprint against *all* versions ever shipped (an old producer
keeps working), while encoding and reading use each family's latest version. Fingerprints cost
about half a millisecond each, so they are computed when the catalog loads, never per message.
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


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One ``vN.avsc`` file: its text (what a registry stores), parsed form and fingerprint."""

    family: SchemaName
    version: int
    text: str
    raw: Mapping[str, Any]
    parsed: Any
    fingerprint: bytes

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
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


def _load_version(family: SchemaName, version: int, text: str) -> SchemaVersion:
    raw = json.loads(text)
    return SchemaVersion(
        family=family,
        version=version,
        text=text,
        raw=raw,
        parsed=parse_schema(raw),
        fingerprint=schema_fingerprint(raw),
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
    return Catalog(families, by_fingerprint)
