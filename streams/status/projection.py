"""How a results record changes the status table: the recovery's row and its cluster's summary.

The results topic is the only writer of the table, and records can arrive twice or late (a
partition moved between workers), so the projection is idempotent and never moves a row
backwards: a stale snapshot only contributes the merged error ids it knows about.
"""

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from schemas.records import (
    ActiveRecovery,
    ClusterStatus,
    RecoveryCounts,
    RecoveryResult,
    RecoveryState,
    StrategyOutcome,
)

_COUNTED = {
    RecoveryState.COMPLETED: "completed",
    RecoveryState.FAILED: "failed",
    RecoveryState.TIMEOUT: "timed_out",
    RecoveryState.CANCELLED: "cancelled",
    RecoveryState.ESCALATED: "escalated",
}
#: The counts' fields, read one by one: ``dataclasses.asdict`` took 5 µs a summary, 0.3 here.
_COUNT_FIELDS = tuple(field.name for field in dataclasses.fields(RecoveryCounts))


def cluster_of(result: RecoveryResult) -> str:
    """The cluster a recovery belongs to (its component when it names none): the topic key."""
    return result.kafka_key().decode()


def _union(*id_lists: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for ids in id_lists for i in ids))


def is_newer(current: RecoveryResult, incoming: RecoveryResult) -> bool:
    """Whether ``incoming`` is a later snapshot than ``current`` (or the same one again).

    A terminal row is final: the first terminal state projected is the recovery's only one,
    even if a worker that lost the recovery (cancelled elsewhere) still reports another."""
    if current.state.is_terminal:
        return False
    if incoming.state.is_terminal:
        # The ending of a recovery resumed from a table row older than the results topic
        # (the old owner published records it never projected) can have fewer transitions
        # than the row by the time it arrives: it is still the recovery's ending.
        return True
    return len(incoming.transitions) >= len(current.transitions)


def with_merges(row: RecoveryResult, ids: Iterable[str], count: int) -> RecoveryResult:
    """``row`` knowing about merged errors ``ids`` (of ``count`` in all, ids may be capped);
    ``row`` itself when it knew them all, so the codec's memo still knows its bytes."""
    merged = _union(row.merged_error_ids, ids)
    total = max(row.merged_count, count, len(merged))
    if merged == row.merged_error_ids and total == row.merged_count:
        return row
    return dataclasses.replace(row, merged_error_ids=merged, merged_count=total)


def project_row(current: RecoveryResult | None, incoming: RecoveryResult) -> RecoveryResult:
    """The recovery's row after ``incoming``; what either knows of merges is kept."""
    if current is None:
        return incoming
    if not is_newer(current, incoming):
        base, other = current, incoming
    elif len(incoming.transitions) < len(current.transitions):
        # a resumed recovery's ending: after the history the row already shows
        history = (*current.transitions, incoming.transitions[-1])
        base, other = dataclasses.replace(incoming, transitions=history), current
    else:
        base, other = incoming, current
    return with_merges(base, other.merged_error_ids, other.merged_count)


def project_summary(
    summary: ClusterStatus | None,
    before: RecoveryResult | None,
    after: RecoveryResult,
    now: datetime,
) -> ClusterStatus:
    """The cluster summary after one recovery's row went from ``before`` to ``after``."""
    summary = summary or ClusterStatus(cluster_name=cluster_of(after), updated_at=now)
    counts = {name: getattr(summary.counts, name) for name in _COUNT_FIELDS}
    if before is None:
        counts["started"] += 1
    seen = 0 if before is None else len(before.transitions)
    for transition in after.transitions[seen:]:
        field = _COUNTED.get(transition.state)
        if field is not None:
            counts[field] += 1
    counts["merged_errors"] += after.merged_count - (0 if before is None else before.merged_count)
    active = tuple(a for a in summary.active_recoveries if a.recovery_id != after.id)
    outcomes = dict(summary.last_outcomes)
    if after.state.is_terminal:
        last_reason = after.transitions[-1].reason if after.transitions else None
        message = last_reason or (after.result.message if after.result else "")
        finished = after.end_time or now
        outcomes[after.strategy] = StrategyOutcome(after.id, after.state, finished, message)
    else:
        started = after.start_time
        active = (
            *active,
            ActiveRecovery(after.id, after.strategy, after.target, after.state, started),
        )
    return ClusterStatus(
        cluster_name=summary.cluster_name,
        updated_at=now,
        counts=RecoveryCounts(**counts),
        active_recoveries=active,
        last_outcomes=outcomes,
    )
