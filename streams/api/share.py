"""This worker's share of the status and summaries tables: the partitions it owns now.

Reads only (status is the tables' one writer). A table holds standby copies of other
workers' partitions too, possibly behind; only owned partitions are answered for, and only
once this worker is ready (joined, tables recovered, caught up with the results topic).
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from schemas.records import ClusterStatus, RecoveryResult
from streams.api.exceptions import NotFound, NotServing
from streams.api.health import HealthInputs, assess
from streams.api.query import RecoveryQuery
from streams.api.views import cluster_view, status_view
from streams.context import Shared
from streams.partitioning import partition_for
from streams.triage.guards import circuit_views


class LocalShare:
    def __init__(
        self, shared: Shared, ready: Callable[[], bool], load: Callable[[], tuple[int, int]]
    ) -> None:
        """``ready``: whether the worker serves its partitions; ``load``: how many
        recoveries hold an execution slot now, and the bound in force."""
        self.shared = shared
        self._ready = ready
        self._load = load
        self._partitions = shared.settings.topics.partitions

    def _owned(self) -> set[int]:
        if not self._ready():
            raise NotServing("this worker is not serving its partitions yet (rebalancing)")
        return self.shared.owned_partitions(self.shared.topics.results)

    def owns(self, cluster: str) -> bool:
        return partition_for(cluster.encode(), self._partitions) in self._owned()

    def summaries(self) -> Iterator[ClusterStatus]:
        owned = self._owned()
        yield from self.shared.reads.summaries_where(
            lambda cluster: partition_for(cluster.encode(), self._partitions) in owned
        )

    def status(self, now: datetime) -> dict[str, Any]:
        summaries = list(self.summaries())
        error_types = {}
        for summary in summaries:
            for active in summary.active_recoveries:
                row = self.shared.reads.row(summary.cluster_name, active.recovery_id)
                if row is not None:
                    error_types[active.recovery_id] = row.error.type_name
        return status_view(summaries, error_types, now)

    def clusters(self, now: datetime) -> dict[str, Any]:
        views = [cluster_view(s, now) for s in self.summaries()]
        return {"clusters": sorted(views, key=lambda view: str(view["cluster_name"]))}

    def cluster(self, name: str, now: datetime) -> dict[str, Any]:
        if not self.owns(name):
            raise NotServing(f"cluster {name}'s partition is not this worker's (rebalancing)")
        summary = self.shared.reads.summary(name)
        if summary is None:
            raise NotFound(f"no recoveries recorded for cluster {name}")
        view = cluster_view(summary, now)
        view["circuit_breakers"] = circuit_views(
            self.shared.guard_rows, name, self.shared.strategies.names(),
            self.shared.settings.circuit_breaker, now.timestamp(),
        )  # fmt: skip
        return view

    def recoveries(self, query: RecoveryQuery) -> dict[str, Any]:
        if query.cluster is not None and not self.owns(query.cluster):
            raise NotServing(f"cluster {query.cluster}'s partition is not this worker's")
        joined = () if query.event_id is None else self._event_recoveries(query.event_id, query)
        return query.page(self._rows(query), joined)

    def _event_recoveries(self, event_id: str, query: RecoveryQuery) -> set[str]:
        """The recoveries the event started or was merged into, as triage remembers them:
        every event id it triaged in the last ``dedup.event_id_ttl_s``, keyed by (cluster,
        event id), so found past the merged ids a row keeps. Looked up under the query's
        cluster, else under every cluster of this worker's share (those with a summary).
        Reads only: triage is the state's one writer."""
        owned, now = self._owned(), self.shared.clock()
        clusters = [query.cluster] if query.cluster is not None else self.shared.reads.clusters()
        found = set()
        for cluster in list(clusters):
            partition = partition_for(cluster.encode(), self._partitions)
            if partition in owned:
                seen = self.shared.dedup(partition, cluster).seen_before(event_id, now)
                if seen is not None:
                    found.add(seen.recovery_id)
        return found

    def _rows(self, query: RecoveryQuery) -> Iterator[RecoveryResult]:
        owned = self._owned()
        yield from self.shared.reads.rows_where(
            lambda cluster, recovery_id: (
                query.wants_key(cluster, recovery_id)
                and partition_for(cluster.encode(), self._partitions) in owned
            )
        )

    def health(self) -> dict[str, Any]:
        """The Go design's rules over this worker's share (streams/api/health.py)."""
        try:
            summaries = list(self.summaries())
        except NotServing:
            summaries, consuming = [], False
        else:
            consuming = True
        running, max_concurrent = self._load()
        return assess(
            HealthInputs(
                consuming=consuming,
                running=running,
                max_concurrent=max_concurrent,
                attempts=sum(s.counts.started for s in summaries),
                successes=sum(s.counts.completed for s in summaries),
                failures=sum(s.counts.escalated for s in summaries),
            )
        )
