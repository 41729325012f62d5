"""The health monitor's agent: HealthReports from the health topic, a ComponentUnhealthy
error on the errors topic for each incident they open.

Reports are keyed like errors (the cluster, else the component), so every report of one
component reaches one partition, read in order by one agent. Which components are in an
incident is kept in memory, per worker, not in a table: losing it (a restart, a rebalance)
costs at most one more error for an incident still going on, and triage merges that error
into the recovery the incident started (the same strategy and target, active or cooling
down), so it starts nothing; a changelogged table would cost a write per report for that.
After a rebalance the state is dropped, not kept: another worker may have seen the
component recover meanwhile, and a stale open incident would hide its next one.
"""

import logging
from typing import Any

from faust.types import StreamT

from schemas.codec import DecodeError, RecordCodec, SchemaRegistryClient
from schemas.records import EmitterIdentity, HealthReport
from streams.context import Shared
from streams.health.incidents import Incidents, incident_error
from streams.triage.ids import Source

log = logging.getLogger(__name__)


class HealthMonitor:
    def __init__(self, pipeline: Shared, registry: SchemaRegistryClient | None) -> None:
        """Reports are read in either framing, as errors are; Confluent's needs ``registry``."""
        self.p = pipeline
        self.codec = RecordCodec(HealthReport, registry=registry)
        self.incidents = Incidents()
        self.identity = EmitterIdentity("tmc-health-monitor", pipeline.settings.worker_id)

    def register(self) -> None:
        self.p.app.agent(self.p.topics.health, name="tmc-health")(self._monitor)
        self.p.app.on_partitions_revoked.connect(self._on_revoked)

    async def _monitor(self, stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            source = Source(msg.topic, msg.partition, msg.offset)
            try:  # a tombstone is undecodable too
                report = await self.codec.decode_async(msg.value or b"")
            except DecodeError as exc:  # a registry outage too: reports repeat, the next will do
                log.warning("skipped health report %s: %s", source, exc)
                self.p.metrics.health_reports.labels("undecodable").inc()
                continue
            self.p.metrics.health_reports.labels(report.status.value).inc()
            if self.incidents.opens(report):
                error = incident_error(report, str(source), self.identity)
                log.info("%s is Unhealthy: sent %s", report.component, error.event_id)
                self.p.metrics.health_incidents.inc()
                await self.p.topics.errors.send(
                    key=error.kafka_key(), value=self.p.errors.encode(error)
                )

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        self.incidents.open.clear()
