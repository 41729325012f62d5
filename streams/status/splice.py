"""A row whose only change is its merges is written by splicing its stored bytes.

In a storm most status writes are merges into rows that are otherwise unchanged, and encoding
a whole row (its error, context, result and transitions) cost 65-140 µs, whatever its
merges: the largest part of closing a status batch in the 200,000-error storm over 2,000
targets. The merged ids and count sit between the row's result and its transitions, so
the new bytes are the stored ones with that span replaced. The output is exactly what a full
encode gives: the span found must hold the stored row's own merges, encoded by the same
schema, or nothing is spliced.
"""

from collections import OrderedDict
from dataclasses import fields
from io import BytesIO

from fastavro import parse_schema, schemaless_writer

from schemas.codec.records import RecordCodec
from schemas.records import RecoveryResult

MERGE_FIELDS = ("merged_error_ids", "merged_count")
_OTHER_FIELDS = tuple(f.name for f in fields(RecoveryResult) if f.name not in MERGE_FIELDS)


def only_merges_differ(before: RecoveryResult, after: RecoveryResult) -> bool:
    return all(getattr(before, name) == getattr(after, name) for name in _OTHER_FIELDS)


class MergeSplicer:
    """Splices rows encoded by ``codec``; remembers where the merges lie in the last ``size``
    rows' bytes it made, so a row merged into again is neither searched nor checked again."""

    def __init__(self, codec: RecordCodec[RecoveryResult], size: int) -> None:
        schema = codec.avro.schema.raw
        self._find = codec.avro.field_finder(MERGE_FIELDS[0])
        merges = [f for f in schema["fields"] if f["name"] in MERGE_FIELDS]
        self._merges = parse_schema({"type": "record", "name": "Merges", "fields": merges})
        self._spans: OrderedDict[bytes, tuple[int, int]] = OrderedDict()
        self.size = size

    def splice(self, raw: bytes, before: RecoveryResult, after: RecoveryResult) -> bytes | None:
        """``after`` encoded, from ``raw`` (``before`` encoded); None when anything but the
        merges changed or ``raw`` is not laid out as this codec writes."""
        if not only_merges_differ(before, after):
            return None
        span = self._spans.pop(raw, None) or self._span_of(raw, before)
        if span is None:
            return None
        at, end = span
        merges = self._encode(after)
        spliced = raw[:at] + merges + raw[end:]
        self._spans[spliced] = (at, at + len(merges))
        if len(self._spans) > self.size:
            self._spans.popitem(last=False)
        return spliced

    def _span_of(self, raw: bytes, before: RecoveryResult) -> tuple[int, int] | None:
        """Where ``before``'s merges lie in ``raw``, if they are where this codec puts them."""
        at = self._find(raw)
        if at is None:
            return None
        old = self._encode(before)
        end = at + len(old)
        return (at, end) if raw[at:end] == old else None

    def _encode(self, row: RecoveryResult) -> bytes:
        out = BytesIO()
        datum = {"merged_error_ids": list(row.merged_error_ids), "merged_count": row.merged_count}
        schemaless_writer(out, self._merges, datum)
        return out.getvalue()
