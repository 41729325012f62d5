"""Triage's safety gates before a recovery starts: the circuit breaker of each (strategy,
cluster) (streams/triage/breaker.py) and flap damping of each (strategy, target)
(streams/triage/flapping.py), kept in one changelogged table that only triage writes.

Rows are keyed ``<cluster>~circuit|<strategy>`` and ``<cluster>~flap|<strategy>|<target>``,
so each lives on its cluster's partition. As with the dedup state, reads hit memory and writes
wait for the partition's flush, which runs with one of its events current; after a rebalance
the state is rebuilt from the table (one scan). Flap rows leave when they say nothing any more
(a heap ordered by that time); a breaker row leaves when it is closed with nothing counted.

What feeds them: every new error for a target (a recurrence, merged or not), every new
recovery about to start (the gates), and every ending on the results topic, read by triage's
endings agent. Only endings of recoveries that acted count: an escalation that never ran an
attempt (no strategy, a gate), a shadow run and a stale error's attempt that did not act say
nothing about the strategy on the cluster.
"""

import heapq
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from schemas.records import RecoveryResult, RecoveryState
from streams.config import CircuitBreakerSettings, FlapDampingSettings
from streams.execution.lifecycle import SHADOW_RUN
from streams.execution.stale import GONE, UNVERIFIABLE
from streams.partitioning import SEPARATOR, partition_for, row_key
from streams.triage.breaker import Breaker, iso
from streams.triage.flapping import NO_RECORD, FlapRecord

Rows = MutableMapping[str, bytes]
Row = Breaker | FlapRecord

CIRCUIT, FLAP = "circuit|", "flap|"

#: The ``gate`` label of tmc_triage_gate_escalations_total.
CIRCUIT_OPEN, RECOVERY_LOOP = "circuit_open", "recovery_loop"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A recovery that must not start: which gate stopped it, and why, for the on-call."""

    gate: str
    reason: str
    next_steps: tuple[str, ...] = ()


def circuit_key(cluster: str, strategy: str) -> str:
    return row_key(cluster, f"{CIRCUIT}{strategy}")


def flap_key(cluster: str, strategy: str, target: str) -> str:
    return row_key(cluster, f"{FLAP}{strategy}|{target}")


def decode_row(key: str, raw: bytes) -> Row:
    ident = key.split(SEPARATOR, 1)[1]
    return Breaker.decode(raw) if ident.startswith(CIRCUIT) else FlapRecord.decode(raw)


#: How the last outcome of an attempt that did not act begins: a shadow run, a stale error
#: whose fault had gone, a stale error that could not be re-verified (streams/execution/).
NOT_ACTING = (SHADOW_RUN, GONE, UNVERIFIABLE)


def acted(result: RecoveryResult) -> bool:
    """Whether an attempt of the recovery acted on the cluster: it ran (a gate's escalation
    never does) and its outcome is not one of an attempt that did not act."""
    idle = result.result is not None and result.result.message.startswith(NOT_ACTING)
    return not idle and any(t.state is RecoveryState.IN_PROGRESS for t in result.transitions)


def circuit_views(
    rows: Mapping[str, bytes],
    cluster: str,
    strategies: Iterable[str],
    settings: CircuitBreakerSettings,
    now: float,
) -> list[dict[str, Any]]:
    """The cluster's breakers that have counted something, as ``GET /clusters/{name}`` shows
    them (read from the table: at most one triage batch behind)."""
    views = []
    for strategy in strategies:
        raw = rows.get(circuit_key(cluster, strategy))
        if raw is None:
            continue
        breaker = Breaker.decode(raw)
        opened = breaker.opened_at
        views.append(
            {
                "strategy": strategy,
                "state": breaker.state(now, settings).value,
                "consecutive_failures": breaker.failures,
                "opened_at": None if opened is None else iso(opened),
                "half_opens_at": None if opened is None else iso(breaker.half_opens_at(settings)),
                "trial_recovery_id": breaker.trial,
            }
        )
    return views


class PartitionGuards:
    """One partition's breaker and flap rows: reads hit memory, writes wait for :meth:`flush`."""

    def __init__(
        self, rows: Rows, breaker: CircuitBreakerSettings, flap: FlapDampingSettings
    ) -> None:
        self.rows, self.breaker_settings, self.flap_settings = rows, breaker, flap
        self._cache: dict[str, Row | None] = {}
        self._dirty: set[str] = set()
        self._expiry: list[tuple[float, str]] = []  # heap of (when it says nothing, flap key)

    def adopt(self, key: str, raw: bytes) -> None:
        """Track a stored row's expiry (when the state is rebuilt)."""
        row = decode_row(key, raw)
        if isinstance(row, FlapRecord):
            heapq.heappush(self._expiry, (row.expires(self.flap_settings), key))

    def get(self, key: str) -> Row | None:
        if key not in self._cache:
            raw = self.rows.get(key)
            self._cache[key] = None if raw is None else decode_row(key, raw)
        return self._cache[key]

    def breaker(self, key: str) -> Breaker:
        row = self.get(key)
        return row if isinstance(row, Breaker) else Breaker()

    def flap(self, key: str) -> FlapRecord:
        row = self.get(key)
        return row if isinstance(row, FlapRecord) else NO_RECORD

    def put(self, key: str, row: Row) -> None:
        """``row`` is written at the next flush; one that says nothing is deleted."""
        stored = None if row.idle else row
        if stored == self.get(key):
            return
        self._cache[key] = stored
        self._dirty.add(key)
        if isinstance(stored, FlapRecord):
            heapq.heappush(self._expiry, (stored.expires(self.flap_settings), key))

    def flush(self, now: float) -> None:
        """Write what changed, and drop flap rows that say nothing any more. Called with an
        event of this partition current, so the writes land on its changelog partition."""
        for key in self._dirty:
            row = self._cache.get(key)
            if row is None:
                self.rows.pop(key, None)
            else:
                self.rows[key] = row.encode()
        self._dirty.clear()
        while self._expiry and self._expiry[0][0] <= now:
            _, key = heapq.heappop(self._expiry)
            row = self.get(key)
            if isinstance(row, FlapRecord) and row.expires(self.flap_settings) <= now:
                self.rows.pop(key, None)
                self._cache[key] = None

    def for_cluster(self, cluster: str) -> "ClusterGuards":
        return ClusterGuards(self, cluster)


class ClusterGuards:
    """The gates one error meets: its cluster's rows on its partition."""

    def __init__(self, state: PartitionGuards, cluster: str) -> None:
        self.state, self.cluster = state, cluster

    def recurred(self, strategy: str, target: str, now: float) -> None:
        """A new error for (strategy, target): the last recovery of it, if any, relapsed or held."""
        key = flap_key(self.cluster, strategy, target)
        self.state.put(key, self.state.flap(key).recurred(now, self.state.flap_settings))

    def admit(self, strategy: str, target: str, recovery_id: str, now: float) -> Refusal | None:
        """None if ``recovery_id`` may start (it may become the breaker's trial), else why not."""
        flap = self.state.flap_settings
        loop = self.state.flap(flap_key(self.cluster, strategy, target)).loop(now, flap)
        if loop is not None:
            reason = (
                f"recovery loop: {strategy} recovered {target} {loop} times within "
                f"{flap.window_s:g}s, and each time it broke again within "
                f"{flap.healthy_delay_s:g}s; no more automatic recoveries until that window "
                "has passed"
            )
            steps = (
                f"find why {target} breaks again after each recovery: the errors merged into "
                "this escalation say when",
                "retry this recovery by hand once the cause is fixed (an operator's retry "
                "passes the gates)",
            )
            return Refusal(RECOVERY_LOOP, reason, steps)
        key = circuit_key(self.cluster, strategy)
        breaker, why = self.state.breaker(key).admit(recovery_id, now, self.state.breaker_settings)
        if why is None:
            self.state.put(key, breaker)
            return None
        state = breaker.state(now, self.state.breaker_settings)
        reason = (
            f"circuit {state}: {strategy} on cluster {self.cluster} after {breaker.failures} "
            f"failed recoveries in a row; {why}"
        )
        steps = (
            f"find why {strategy} keeps failing on cluster {self.cluster}: its last "
            "escalations say what each attempt did",
            "retry this recovery by hand once the cause is fixed (an operator's retry passes "
            "the breaker)",
        )
        return Refusal(CIRCUIT_OPEN, reason, steps)

    def ended(self, result: RecoveryResult, offset: int) -> None:
        """Count ``result`` (a terminal record, read at results ``offset``) if it acted."""
        assert result.end_time is not None
        key = circuit_key(self.cluster, result.strategy)
        breaker = self.state.breaker(key)
        if result.state is RecoveryState.CANCELLED:
            self.state.put(key, breaker.cancelled(result.id, offset))
            return
        if not acted(result):
            return
        at = result.end_time.timestamp()
        if result.state is RecoveryState.ESCALATED:
            self.state.put(key, breaker.failed(result.id, at, offset, self.state.breaker_settings))
            return
        self.state.put(key, breaker.succeeded(offset))
        fkey = flap_key(self.cluster, result.strategy, result.target)
        self.state.put(fkey, self.state.flap(fkey).completed(at, offset))


class Guards:
    """Every partition's gates on this worker, read from the table as they are used after a
    rebalance (``epoch`` is the dedup state's, which a rebalance moves on); the flap rows'
    expiry is read by the next sweep (:meth:`read_expiry`)."""

    def __init__(
        self,
        rows: Rows,
        breaker: CircuitBreakerSettings,
        flap: FlapDampingSettings,
        partitions: int,
        epoch: Callable[[], int],
    ) -> None:
        self.rows, self.breaker_settings, self.flap_settings = rows, breaker, flap
        self.partitions, self._epoch = partitions, epoch
        self._loaded_at: int | None = None
        self._parts: dict[int, PartitionGuards] = {}
        self._expiry_read = False

    def partition(self, partition: int) -> PartitionGuards:
        if self._loaded_at != self._epoch():
            self._parts, self._loaded_at, self._expiry_read = {}, self._epoch(), False
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = self._new()
        return part

    def for_cluster(self, partition: int, cluster: str) -> ClusterGuards:
        return self.partition(partition).for_cluster(cluster)

    def circuit_counts(self, owned: set[int], now: float) -> dict[tuple[str, str], int]:
        """(strategy, state) -> how many breakers of the ``owned`` partitions are in that
        state, as the table holds them (at most one batch behind memory)."""
        counts: dict[tuple[str, str], int] = {}
        for key, raw in list(self.rows.items()):
            ident = key.split(SEPARATOR, 1)[1]
            if ident.startswith(CIRCUIT) and partition_for(key.encode(), self.partitions) in owned:
                state = Breaker.decode(raw).state(now, self.breaker_settings)
                label = (ident.removeprefix(CIRCUIT), state.value)
                counts[label] = counts.get(label, 0) + 1
        return counts

    def _new(self) -> PartitionGuards:
        return PartitionGuards(self.rows, self.breaker_settings, self.flap_settings)

    def read_expiry(self) -> None:
        """Put every stored flap row on its partition's expiry heap, once per rebalance. Left
        out of the first batch after a restart, which would wait for the scan, and called by
        the sweep: a flap row that says nothing any more damps nothing, removed or not."""
        if self._loaded_at != self._epoch() or self._expiry_read:
            return
        self._expiry_read = True
        for key, raw in list(self.rows.items()):
            self.partition(partition_for(key.encode(), self.partitions)).adopt(key, raw)
