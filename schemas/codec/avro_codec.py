"""Encode and decode one schema family, detecting the framing of every message.

Decoding picks the writer schema from the header (a shipped version by fingerprint, or a
registry schema by id), resolves it to the family's latest version, and insists that the body
is consumed exactly: any failure is a typed :class:`DecodeError`, never a partial record.

Bodies are read strictly: whatever the Avro spec calls invalid (a negative union index, a boolean
byte of 2, a block size that lies, ...) is refused with its own reason. The fast path is fastavro
on a transformed writer schema (:mod:`.strict`); when it fails or cannot vouch for a body, the
exact check (:mod:`.conformance`) names the first violation, and a body that passes it is read
with fastavro's plain reader.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Mapping
from io import BytesIO
from typing import Any, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas.catalog import Catalog, SchemaName, SchemaVersion, catalog, schema_fingerprint
from schemas.codec import errors
from schemas.codec.body import BodyReader
from schemas.codec.framing import (
    CONFLUENT_HEADER_LEN,
    CONFLUENT_MAGIC,
    SINGLE_OBJECT_HEADER_LEN,
    SINGLE_OBJECT_MAGIC,
    Framing,
    confluent_header,
    single_object_header,
)
from schemas.codec.registry import (
    RegistryUnreachable,
    SchemaNotRegistered,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from schemas.codec.safety import zero_width_arrays

_SINGLE_OBJECT_FIRST = SINGLE_OBJECT_MAGIC[0]
_Read = Callable[[bytes, int], dict[str, Any]]


class AvroCodec:
    """Avro datums (dicts) of one family <-> framed bytes."""

    def __init__(
        self,
        family: SchemaName,
        *,
        framing: Framing = Framing.SINGLE_OBJECT,
        registry: SchemaRegistryClient | None = None,
        subject: str | None = None,
        schemas: Catalog | None = None,
    ) -> None:
        """``registry`` is needed to encode with Confluent framing and to decode it; ``subject``
        defaults to the record's full name (Confluent's RecordNameStrategy)."""
        if framing is Framing.CONFLUENT and registry is None:
            raise errors.CodecConfigError("Confluent framing needs a schema registry URL")
        self._catalog = schemas or catalog()
        self._latest = self._catalog.families[family].latest
        self._registry = registry
        self._subject = subject or self._latest.full_name
        self._header: bytes | None = None
        if framing is Framing.SINGLE_OBJECT:
            self._header = single_object_header(self._latest.fingerprint)
        self._by_fingerprint = {
            fp: self._writer_of(version, b"")
            for fp, version in self._catalog.by_fingerprint.items()
            if version.full_name == self._latest.full_name
        }
        self._by_id: dict[int, BodyReader] = {}
        # Header bytes -> a writer that needs no resolution, with its strict reader: the hot path.
        self._fast: dict[bytes, tuple[_Read, int, BodyReader]] = {
            single_object_header(fp): (writer.fast, SINGLE_OBJECT_HEADER_LEN, writer)
            for fp, writer in self._by_fingerprint.items()
            if writer.reader is None
        }

    @property
    def schema(self) -> SchemaVersion:
        """The schema this codec writes and reads into (the family's latest version)."""
        return self._latest

    def prepare(self) -> bytes:
        """The header to write; with Confluent framing the first call registers the schema (it
        blocks on the registry, so async callers run it in a thread before encoding)."""
        if self._header is None:
            assert self._registry is not None
            schema_id = self._registry.register(self._subject, self._latest.text)
            self._header = confluent_header(schema_id)
        return self._header

    def encode(self, datum: Mapping[str, Any]) -> bytes:
        out = BytesIO()
        out.write(self._header or self.prepare())
        try:
            schemaless_writer(out, self._latest.parsed, datum)
        except Exception as exc:  # fastavro raises many types for a datum that doesn't fit
            raise errors.EncodeError(
                f"{self._latest.full_name}: record does not fit the schema: {exc!r}"
            ) from exc
        return out.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record in ``data``, as the latest schema sees it; may block on a registry miss."""
        fast = self._fast
        known = fast.get(data[:SINGLE_OBJECT_HEADER_LEN]) or fast.get(data[:CONFLUENT_HEADER_LEN])
        if known is not None:
            read, offset, writer = known
            try:
                return read(data, offset)
            except Exception:  # garbage makes fastavro raise anything from IndexError on
                return cast(dict[str, Any], writer.read_checked(data, offset))
        writer, offset = self._locate(data)
        return cast(dict[str, Any], writer.read(data, offset))

    def fields_reader(self, names: Collection[str]) -> Callable[[bytes], dict[str, Any]]:
        """A reader of only the top-level fields ``names``, for a scan of stored records
        that needs a few fields of each (the status table's expiry index reads three).

        A record of the latest version under this codec's own header is read with a reader
        schema of just those fields, which skips the rest: a third of a full decode's CPU
        for a status row. Anything else, or a body that projection cannot read, goes
        through :meth:`decode` and its typed errors. The projection does not check that the
        body ends where the record does; a full decode still does when the record is read."""
        wanted = set(names)
        projection = parse_schema(
            {
                **self._latest.raw,
                "fields": [f for f in self._latest.raw["fields"] if f["name"] in wanted],
            }
        )
        header = single_object_header(self._latest.fingerprint)
        start = len(header)

        def read(data: bytes) -> dict[str, Any]:
            if data[:start] == header:
                body = BytesIO(data)
                body.seek(start)
                try:
                    return cast(
                        dict[str, Any], schemaless_reader(body, self._latest.parsed, projection)
                    )
                except Exception:  # garbage makes fastavro raise anything; decode names it
                    pass
            record = self.decode(data)
            return {name: record[name] for name in wanted}

        return read

    def field_finder(self, name: str) -> Callable[[bytes], int | None]:
        """A finder of where top-level field ``name`` starts in a record of the latest
        version under this codec's own header (None for anything else, or a body cut short),
        for a writer that changes one field of a stored record by splicing its bytes instead
        of encoding the whole record again. The fields before it are skipped, not built."""
        fields = self._latest.raw["fields"]
        before = fields[: [f["name"] for f in fields].index(name)]
        prefix = parse_schema({**self._latest.raw, "fields": before})
        skip_all = parse_schema({**self._latest.raw, "fields": []})
        header = single_object_header(self._latest.fingerprint)
        start = len(header)

        def find(data: bytes) -> int | None:
            if data[:start] != header:
                return None
            body = BytesIO(data)
            body.seek(start)
            try:
                schemaless_reader(body, prefix, skip_all)
            except Exception:  # garbage makes fastavro raise anything
                return None
            return body.tell()

        return find

    async def decode_async(self, data: bytes) -> dict[str, Any]:
        """Like :meth:`decode`, but a registry fetch runs in a thread, off the event loop."""
        schema_id = self._uncached_schema_id(data)
        if schema_id is not None:
            await asyncio.to_thread(self._fetch, schema_id, data)
        return self.decode(data)

    def _locate(self, data: bytes) -> tuple[BodyReader, int]:
        if not data:
            raise errors.TruncatedMessage(data, "empty message")
        magic = data[0]
        if magic == _SINGLE_OBJECT_FIRST:
            if len(data) < SINGLE_OBJECT_HEADER_LEN:
                if data[1:2] in (b"", SINGLE_OBJECT_MAGIC[1:]):
                    raise errors.TruncatedMessage(data, "single-object header ends early")
                raise errors.BadMagic(data, "C3 not followed by 01")
            if data[1] != SINGLE_OBJECT_MAGIC[1]:
                raise errors.BadMagic(data, "C3 not followed by 01")
            writer = self._by_fingerprint.get(data[2:SINGLE_OBJECT_HEADER_LEN])
            if writer is None:
                raise self._unknown_fingerprint(data)
            return writer, SINGLE_OBJECT_HEADER_LEN
        if magic == CONFLUENT_MAGIC:
            if len(data) < CONFLUENT_HEADER_LEN:
                raise errors.TruncatedMessage(data, "Confluent header ends early")
            schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_LEN], "big")
            writer = self._by_id.get(schema_id) or self._fetch(schema_id, data)
            return writer, CONFLUENT_HEADER_LEN
        raise errors.BadMagic(data, f"first byte {magic:#04x} is neither C3 nor 00")

    def _unknown_fingerprint(self, data: bytes) -> errors.DecodeError:
        fp = data[2:SINGLE_OBJECT_HEADER_LEN]
        other = self._catalog.by_fingerprint.get(fp)
        if other is not None:
            return errors.UnusableWriterSchema(
                data, f"a {other.full_name} v{other.version}, not a {self._latest.full_name}"
            )
        return errors.UnknownFingerprint(data, f"fingerprint {fp.hex()} is no shipped schema")

    def _uncached_schema_id(self, data: bytes) -> int | None:
        if len(data) < CONFLUENT_HEADER_LEN or data[0] != CONFLUENT_MAGIC:
            return None
        schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_LEN], "big")
        return None if schema_id in self._by_id else schema_id

    def _fetch(self, schema_id: int, data: bytes) -> BodyReader:
        if self._registry is None:
            # Not transient: without a registry this id can never be resolved.
            raise errors.UnknownSchemaId(data, f"schema id {schema_id}: no registry configured")
        try:
            text = self._registry.schema(schema_id)
        except SchemaNotRegistered as exc:
            raise errors.UnknownSchemaId(data, f"schema id {schema_id}: {exc}") from exc
        except RegistryUnreachable as exc:
            raise errors.RegistryUnavailable(data, str(exc)) from exc
        except SchemaRegistryError as exc:
            raise errors.UnknownSchemaId(data, f"schema id {schema_id}: {exc}") from exc
        writer = self._parse_registered(text, data)
        self._by_id[schema_id] = writer
        if writer.reader is None:
            header = confluent_header(schema_id)
            self._fast[header] = (writer.fast, CONFLUENT_HEADER_LEN, writer)
        return writer

    def _parse_registered(self, text: str, data: bytes) -> BodyReader:
        try:
            raw = json.loads(text)
            shipped = self._by_fingerprint.get(schema_fingerprint(raw))
            if shipped is not None:
                return shipped
            parsed = parse_schema(raw)
        except Exception as exc:  # the registry can hold anything, e.g. a JSON Schema
            raise errors.UnusableWriterSchema(data, f"registry schema: {exc!r}") from exc
        return self._writer_of(parsed, data)

    def _writer_of(self, writer: SchemaVersion | Any, data: bytes) -> BodyReader:
        parsed = writer.parsed if isinstance(writer, SchemaVersion) else writer
        if parsed is self._latest.parsed:
            return BodyReader(parsed)
        name = parsed.get("name") if isinstance(parsed, Mapping) else None
        if name != self._latest.full_name:
            raise errors.UnusableWriterSchema(data, f"writes {name}, not {self._latest.full_name}")
        unsafe = zero_width_arrays(parsed)
        if unsafe:
            raise errors.UnusableWriterSchema(data, f"arrays of zero-width items in {unsafe}")
        return BodyReader(parsed, self._latest.parsed)
