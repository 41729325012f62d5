"""What the terminal shows: the recoveries as the status table has them, live, and at the end
a summary per strategy and a verdict per incident."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rich.table import Table

from schemas.records import RecoveryResult, RecoveryState
from streams.demo.incidents import Incident


def _duration_s(row: RecoveryResult) -> float:
    end = row.end_time or row.transitions[-1].at
    return (end - row.start_time).total_seconds()


def live_table(rows: Iterable[RecoveryResult], elapsed_s: float) -> Table:
    table = Table(title=f"recoveries ({elapsed_s:.0f} s)")
    for column in ("strategy", "target", "state", "attempts", "merged errors", "duration"):
        table.add_column(column)
    for row in sorted(rows, key=lambda r: r.start_time):
        table.add_row(
            row.strategy,
            row.target,
            row.state.value,
            str(row.context.attempt),
            str(row.merged_count),
            f"{_duration_s(row):.1f} s",
        )
    return table


def summary_table(rows: Iterable[RecoveryResult]) -> Table:
    """Recovered, escalated, merged duplicates and time to recover, per strategy."""
    by_strategy: dict[str, list[RecoveryResult]] = defaultdict(list)
    for row in rows:
        by_strategy[row.strategy].append(row)
    table = Table(title="summary")
    for column in ("strategy", "recovered", "escalated", "merged duplicates", "time to recover"):
        table.add_column(column)
    for strategy, group in sorted(by_strategy.items()):
        done = [r for r in group if r.state is RecoveryState.COMPLETED]
        slowest = max((_duration_s(r) for r in done), default=0.0)
        table.add_row(
            strategy,
            str(len(done)),
            str(sum(r.state is RecoveryState.ESCALATED for r in group)),
            str(sum(r.merged_count for r in group)),
            f"{slowest:.1f} s" if done else "-",
        )
    return table


def verdicts(incidents: list[Incident], rows: Iterable[RecoveryResult]) -> tuple[Table, bool]:
    """Each incident against the outcome it needed; True when every one got it."""
    by_target = {(row.strategy, row.target): row for row in rows}
    table = Table(title="incidents")
    for column in ("incident", "expected", "got", "why"):
        table.add_column(column)
    passed = True
    for incident in incidents:
        row = by_target.get((incident.strategy, incident.target))
        got = "no recovery" if row is None else f"{row.strategy} {row.state.value}"
        ok = row is not None and row.state is incident.expected
        passed = passed and ok
        why = "" if row is None else (row.transitions[-1].reason or "")
        table.add_row(
            incident.name,
            f"{incident.strategy} {incident.expected.value}",
            f"[{'green' if ok else 'red'}]{got}[/]",
            why[:80],
        )
    return table, passed
