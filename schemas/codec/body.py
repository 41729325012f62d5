"""Reading one Avro body strictly: the fast path, the exact check, and schema resolution."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from fastavro import schemaless_reader
from fastavro.read import SchemaResolutionError

from schemas.codec import errors
from schemas.codec.conformance import check_body
from schemas.codec.strict import StrictReader


class BodyReader:
    """Bodies written with one (fastavro-parsed) writer schema, read as ``reader`` sees them
    (None: as written). Whatever the Avro spec calls invalid raises its typed DecodeError."""

    __slots__ = ("fast", "reader", "schema")

    def __init__(self, schema: Any, reader: Any = None) -> None:
        self.schema = schema
        self.reader = reader
        self.fast = StrictReader(schema).read

    def read(self, data: bytes, offset: int) -> Any:
        """The datum in ``data[offset:]``, which must end where the datum does."""
        try:
            datum = self.fast(data, offset)
        except Exception:  # garbage makes fastavro raise anything from IndexError on
            return self.read_checked(data, offset)
        if self.reader is not None:  # the bytes are sound; now resolve them to the reader
            return self.read_plain(data, offset)
        return datum

    def read_checked(self, data: bytes, offset: int) -> Any:
        """The slow path: the exact check raises the first violation, else a plain read."""
        check_body(self.schema, data, offset)
        return self.read_plain(data, offset)

    def read_plain(self, data: bytes, offset: int) -> Any:
        """fastavro's own reader, for bytes known to be sound."""
        buf = BytesIO(data)
        buf.seek(offset)
        try:
            return schemaless_reader(buf, self.schema, self.reader)
        except SchemaResolutionError as exc:
            raise errors.UnusableWriterSchema(data, str(exc)) from exc
        except Exception as exc:  # a sound body whose value does not convert, e.g. a timestamp
            raise errors.InvalidBody(data, f"{type(exc).__name__}: {exc}") from exc
