"""How many clusters were under recovery at once, read back from the recoveries' rows: for
the blast-radius cap's tests and benchmark (streams/admission/)."""

from datetime import datetime

from schemas.records import RecoveryResult, RecoveryState


def first_attempt(row: RecoveryResult) -> datetime | None:
    """When the recovery first acted (its first InProgress), if it did."""
    return next((t.at for t in row.transitions if t.state is RecoveryState.IN_PROGRESS), None)


def most_at_once(rows: list[RecoveryResult]) -> int:
    """The most clusters under recovery at one moment, each from its first InProgress to its
    ending: the grant comes before the one and is released after the other is stamped."""
    moments = []
    for row in rows:
        begin = first_attempt(row)
        if begin is not None and row.end_time is not None:
            moments += [(begin, 1, row.target), (row.end_time, -1, row.target)]
    under: dict[str, int] = {}
    most = 0
    for _, step, cluster in sorted(moments, key=lambda m: (m[0], m[1])):
        under[cluster] = under.get(cluster, 0) + step
        most = max(most, sum(1 for n in under.values() if n > 0))
    return most
