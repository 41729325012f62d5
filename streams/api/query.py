"""``GET /recoveries``: its filters, and pages that stay consistent across workers.

Rows are listed in (cluster, recovery id) order. Every worker pages its own share in that
order, and the answering worker merges the shares' pages and keeps the first ``limit``, so
the cursor (the last row handed out) means the same on every worker: opaque to callers,
it is base64 of that position.
"""

import base64
import binascii
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.records import RecoveryResult, RecoveryState
from streams.api.exceptions import BadRequest
from streams.api.views import row_view
from streams.status.projection import cluster_of

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
Position = tuple[str, str]  # (cluster, recovery id)


def encode_cursor(after: Position) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode()


def decode_cursor(cursor: str) -> Position:
    try:
        cluster, recovery_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadRequest(f"cursor {cursor!r} was not given by this API") from exc
    return str(cluster), str(recovery_id)


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"since={value!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _state(value: str) -> RecoveryState:
    try:
        return RecoveryState(value)
    except ValueError as exc:
        known = ", ".join(s.value for s in RecoveryState)
        raise BadRequest(f"state={value!r} is not one of {known}") from exc


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit={value!r} must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


@dataclass(frozen=True)
class RecoveryQuery:
    cluster: str | None = None
    logical_cluster: str | None = None
    strategy: str | None = None
    state: RecoveryState | None = None
    error_type: str | None = None
    event_id: str | None = None
    recovery_id: str | None = None
    since: datetime | None = None
    after: Position | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "RecoveryQuery":
        """The query of a request's parameters; a bad value is a BadRequest naming it."""
        text = {name: params.get(name) or None for name in _TEXT_FILTERS}
        state, since = params.get("state"), params.get("since")
        cursor, limit = params.get("cursor"), params.get("limit")
        return cls(
            **text,
            state=None if not state else _state(state),
            since=None if not since else _since(since),
            after=None if not cursor else decode_cursor(cursor),
            limit=DEFAULT_LIMIT if not limit else _limit(limit),
        )

    def params(self) -> dict[str, str]:
        """The parameters that ask another worker this same query."""
        out = {name: getattr(self, name) for name in _TEXT_FILTERS if getattr(self, name)}
        if self.state is not None:
            out["state"] = self.state.value
        if self.since is not None:
            out["since"] = self.since.isoformat()
        if self.after is not None:
            out["cursor"] = encode_cursor(self.after)
        return {**out, "limit": str(self.limit)}

    def wants_key(self, cluster: str, recovery_id: str) -> bool:
        """Whether a row under this key may match: checked before the row is decoded."""
        if self.cluster is not None and cluster != self.cluster:
            return False
        if self.recovery_id is not None and recovery_id != self.recovery_id:
            return False
        return self.after is None or (cluster, recovery_id) > self.after

    def matches(self, row: RecoveryResult, joined: Collection[str] = ()) -> bool:
        """``joined``: the recoveries triage remembers ``event_id`` going to (LocalShare),
        which finds a merge past the ids the row keeps."""
        error = row.error
        return (
            (self.logical_cluster is None or error.logical_cluster == self.logical_cluster)
            and (self.strategy is None or row.strategy == self.strategy)
            and (self.state is None or row.state == self.state)
            and (self.error_type is None or error.type_name == self.error_type)
            and (self.since is None or row.start_time >= self.since)
            and (
                self.event_id is None
                or error.event_id == self.event_id
                or self.event_id in row.merged_error_ids
                or row.id in joined
            )
        )

    def page(self, rows: Iterable[RecoveryResult], joined: Collection[str] = ()) -> dict[str, Any]:
        """One worker's page of ``rows`` (already narrowed by :meth:`wants_key`)."""
        found = sorted(
            ((cluster_of(row), row.id), row) for row in rows if self.matches(row, joined)
        )
        return self.merge([{"recoveries": [row_view(row) for _, row in found], "next": None}])

    def merge(self, pages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """The first ``limit`` rows of every share's page, and the cursor past them when
        any share has more."""
        pages = list(pages)
        rows = sorted(
            (row for page in pages for row in page["recoveries"]),
            key=lambda row: (row["cluster"], row["id"]),
        )
        more = len(rows) > self.limit or any(page["next"] for page in pages)
        kept = rows[: self.limit]
        last = (kept[-1]["cluster"], kept[-1]["id"]) if kept else None
        return {"recoveries": kept, "next": encode_cursor(last) if more and last else None}


_TEXT_FILTERS = ("cluster", "logical_cluster", "strategy", "error_type", "event_id", "recovery_id")
