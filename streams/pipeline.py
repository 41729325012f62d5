"""The recovery service: one Faust app wiring topics, tables, agents and the executor.

Lifecycle, per worker:
- before start, topics are created and verified (streams/topics.py);
- on each assignment, the worker measures how far the results topic reaches on its partitions
  and acts on nothing until the status table has projected that far (streams/status/
  assignment.py): then, and only then, every non-terminal recovery of those partitions is
  resumed, and requests are admitted; a recovery whose ending is already on the topic never
  runs again;
- when partitions are revoked, their running recoveries are released (not ended): the next
  owner resumes them, and strategies are idempotent, so re-running an attempt is safe. A
  released attempt checks its lease before every action and record, so it never acts late.

Every agent is a coroutine that never yields: Faust feeds a yielding agent's values to its
sinks and replies, which we do not use, and formats a debug line for each (about 3% of the
worker's CPU at 200 new recoveries a second).
"""

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import faust
import uvloop
from mode import ServiceT

from schemas.codec import Framing, RecordCodec, SchemaRegistryClient
from schemas.records import ClusterStatus, RecoveryResult, TMCError
from strategies.adapters.fleet import load_fleet
from strategies.base import RecoveryStrategy
from strategies.gateway import ClusterGateway
from strategies.registry import StrategyRegistry
from streams.admission.book import Rules
from streams.admission.caps import Cap
from streams.admission.gate import AdmissionGate
from streams.admission.owner import AdmissionOwner
from streams.admission.view import GrantView
from streams.api.server import ApiServer, api_server
from streams.app import create_app
from streams.config import ServiceSettings, Tunables
from streams.context import Shared
from streams.control.state import Gate
from streams.control.view import ControlView
from streams.events.agent import EventsAgent
from streams.execution.agent import RequestAgents
from streams.execution.cluster_events import ClusterEvents
from streams.execution.executor import Admission, RecoveryExecutor
from streams.health.agent import HealthMonitor
from streams.ingest.agent import IngestReader
from streams.metrics import Metrics
from streams.out_of_band import OutOfBand
from streams.partitioning import partition_for
from streams.readiness import Readiness
from streams.runtime_config.follower import ConfigFollower
from streams.runtime_config.gate import StartingConfig
from streams.runtime_config.resolve import resolve
from streams.silences.view import SilencesFirst, SilenceView
from streams.silences.writer import SilenceWriter
from streams.stall_watch import StallWatch
from streams.status.agent import ResultsAgent
from streams.status.assignment import Assignments
from streams.status.catchup import CatchUp
from streams.status.offset_probe import OffsetProbe
from streams.status.projection import project_row
from streams.status.reads import StatusReads
from streams.tables import Tables
from streams.topology import KafkaTopics
from streams.triage.agent import Triage
from streams.triage.dedup import DedupState

log = logging.getLogger(__name__)

#: Results and summaries converted recently, kept both ways (RecordCodec's memo): the results
#: topic's three readers each read every record a few milliseconds after the executor wrote it,
#: and status reads back the rows and summaries it wrote.
DECODED_KEPT = 4096


class RecoveryService:
    def __init__(
        self,
        settings: ServiceSettings,
        strategies: Sequence[RecoveryStrategy],
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
        gateway: ClusterGateway | None = None,
    ) -> None:
        """``on_stop`` closes what the strategies hold (the gateway's HTTP sessions);
        ``gateway`` writes recovery Events to the clusters (``execution.cluster_events``)."""
        self.settings = settings
        self._on_stop = list(on_stop)
        effective = resolve(settings, strategies)
        self.strategies = StrategyRegistry(strategies, effective.strategies)
        self.app = create_app(settings)
        registry_client = None
        if settings.codec.registry_url:
            registry_client = SchemaRegistryClient(settings.codec.registry_url)
        framing = Framing(settings.codec.framing)
        exactly_once = settings.kafka.processing_guarantee == "exactly_once"
        self.catchup = CatchUp(exactly_once)
        self._offsets = OffsetProbe(
            settings.kafka.bootstrap_servers, settings.kafka.group_id, exactly_once
        )
        self.readiness = Readiness(settings.ready_file)
        tables = Tables.declare(self.app, settings.topics)
        results = RecordCodec(
            RecoveryResult, framing=framing, registry=registry_client, memo=DECODED_KEPT
        )
        summaries = RecordCodec(ClusterStatus, memo=DECODED_KEPT)
        self.shared = Shared(
            app=self.app,
            settings=settings,
            topics=KafkaTopics.declare(self.app, settings.topics, self.strategies.names()),
            tables=tables,
            reads=StatusReads.over(tables.status, tables.summaries, results, summaries),
            guard_rows=MappingProxyType(tables.guards),
            strategies=self.strategies,
            errors=RecordCodec(TMCError, framing=framing, registry=registry_client),
            results=results,
            summaries=summaries,
            metrics=Metrics(),
            schema_registry_configured=registry_client is not None,
            catchup=self.catchup,
            dedup_state=DedupState(
                tables.seen, tables.targets, settings.dedup, settings.topics.partitions
            ),
            out_of_band=OutOfBand(settings.kafka),
        )
        self.control = ControlView(
            settings.kafka.bootstrap_servers,
            self.shared.topics.control.get_topic_name(),
            settings.topics.partitions,
        )
        self.app.task(self.control.run)
        self.silences = SilenceView(
            settings.kafka.bootstrap_servers,
            self.shared.topics.silences.get_topic_name(),
            settings.topics.partitions,
        )
        self.silences_first = SilencesFirst(self.silences)
        self._sweep_silences(SilenceWriter(self.shared.topics.silences, self.shared.out_of_band))
        self.admission: AdmissionOwner | None = None
        grants = self._admission(settings)
        self.executor = RecoveryExecutor(
            {configured.name: configured.strategy for configured in self.strategies},
            self.shared.publish_now,
            settings.execution.model_copy(update={"max_concurrent": effective.max_concurrent}),
            settings.retry,
            admit=self._admit,
            on_stale=lambda strategy: self.shared.metrics.stale_errors.labels(strategy).inc(),
            announce=self._cluster_events(gateway),
            gates=self.control,
            timeouts=self.strategies.timeouts,
            dry_run=settings.dry_run,
            grants=grants,
            shadowed=lambda strategy: self.control.state.gate(strategy) is Gate.SHADOW,
        )
        self.shared.metrics.active.set_function(lambda: len(self.executor.tracked))
        self.shared.metrics.queue_depth.set_function(lambda: self.executor.waiting)
        self.shared.metrics.awaiting_approval.set_function(lambda: self.executor.awaiting_approval)
        self.runtime_config = ConfigFollower(
            settings.kafka.bootstrap_servers,
            self.shared.topics.runtime_config.get_topic_name(),
            settings.topics.partitions,
            self._retune,
        )
        self.app.task(self.runtime_config.run)
        self.starting_config = StartingConfig(
            self.runtime_config, self.readiness, settings.runtime_config
        )
        self.api: ApiServer | None = None
        if settings.api.enabled:
            self.api = api_server(
                settings.api,
                self.shared,
                ready=lambda: self.readiness.ready,
                load=lambda: (self.executor.running, self.executor.max_concurrent),
                control=self.control,
                silences=self.silences,
            )
        triage = Triage(self.shared, self.silences)
        triage.register()
        IngestReader(self.shared, triage).register()
        RequestAgents(self.shared, self.executor).register()
        ResultsAgent(self.shared).register()
        EventsAgent(self.shared).register()
        HealthMonitor(self.shared, registry_client).register()
        topics = self.shared.topics
        Assignments(
            self.shared,
            self._offsets,
            self.readiness,
            self._watch_for_stalls(settings, exactly_once),
            gated_topics={topics.errors.get_topic_name(), topics.triage.get_topic_name()},
            resume=self.executor.submit,
        ).register()
        self.app.on_partitions_revoked.connect(self._on_revoked)
        self.app.on_before_shutdown.connect(self._on_shutdown)

    def _sweep_silences(self, writer: SilenceWriter) -> None:
        """The group leader removes the silences that ended ``silences.retention_s`` ago."""
        settings = self.settings.silences

        async def sweep() -> None:
            now, retention = datetime.now(UTC), timedelta(seconds=settings.retention_s)
            await writer.sweep(self.silences.state, now, retention)

        self.app.timer(settings.sweep_interval_s, on_leader=True)(sweep)

    def _admission(self, settings: ServiceSettings) -> AdmissionGate | None:
        """Fleet blast radius and storm mode (streams/admission/), when enabled: every worker
        follows the owner's answers; whichever owns the admission partition answers."""
        admission = settings.admission
        if not admission.enabled:
            return None
        fleet = {} if settings.fleet_file is None else load_fleet(settings.fleet_file).clusters
        rules = Rules(
            inventory={name: cluster.logical_cluster for name, cluster in fleet.items()},
            max_clusters=Cap.parse(admission.max_clusters),
            max_per_logical_cluster=Cap.parse(admission.max_per_logical_cluster),
            storm_error_types=frozenset(admission.storm_error_types),
            storm_strategies=frozenset(admission.storm_strategies),
        )
        topics, metrics = self.shared.topics, self.shared.metrics
        view = GrantView(
            settings.kafka.bootstrap_servers, topics.grants.get_topic_name(),
            settings.topics.partitions,
        )  # fmt: skip
        self.app.task(view.run)
        self.admission = AdmissionOwner(self.shared, view, rules, admission)
        self.admission.register()
        metrics.storm_mode.set_function(lambda: float(view.storm_on))
        metrics.admission_waiting.set_function(lambda: self._waiting_for_grants())
        return AdmissionGate(
            view, topics.admission, self.shared.out_of_band, rules.storm_strategies
        )

    def _waiting_for_grants(self) -> float:
        return 0.0 if self.admission is None else float(self.admission.waiting)

    def _cluster_events(self, gateway: ClusterGateway | None) -> ClusterEvents | None:
        """The executor's Event writer (execution.cluster_events), when there is a gateway."""
        if gateway is None:
            return None
        counted = self.shared.metrics.cluster_events
        return ClusterEvents(
            gateway, self.settings.worker_id, lambda outcome: counted.labels(outcome).inc()
        )

    def _retune(self, tunables: Tunables) -> None:
        """Put an applied configuration in force (streams/runtime_config/): the next triage
        decision and the next attempt see it; recoveries already started keep their attempts."""
        effective = resolve(tunables, [configured.strategy for configured in self.strategies])
        self.strategies.reconfigure(effective.strategies)
        self.executor.resize(effective.max_concurrent)
        self.executor.stale_after_s = tunables.execution.stale_after_s
        self.executor.cluster_events = tunables.execution.cluster_events
        self.executor.approval = tunables.execution.approval

    def _watch_for_stalls(self, settings: ServiceSettings, exactly_once: bool) -> StallWatch | None:
        kafka = settings.kafka
        if not kafka.stall_check_s:
            return None
        watch = StallWatch(
            self.app, self._offsets, kafka.stall_after_s, exactly_once, time.monotonic,
            self.shared.metrics.registry,
        )  # fmt: skip
        self.app.timer(kafka.stall_check_s, name="tmc-stall-watch")(watch.tick)
        return watch

    def _partition_of(self, recovery: RecoveryResult) -> int:
        return partition_for(recovery.kafka_key(), self.settings.topics.partitions)

    async def _admit(self, recovery: RecoveryResult) -> Admission | None:
        """Leave to act once caught up, from the table's row when it is further along; none
        for a recovery that has ended or whose partition this worker does not own."""
        generation = self.catchup.generation
        if not await self.catchup.wait(self._partition_of(recovery)):
            return None
        row = self.shared.reads.row_of(recovery)
        latest = recovery if row is None else project_row(row, recovery)
        if latest.state.is_terminal:
            return None
        return Admission(latest, lambda: self.catchup.generation == generation)

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        """Every lease lapses (Faust's rebalances are eager: all partitions are revoked), so
        every recovery is released; those still owned are resumed after the catch-up."""
        self.catchup.revoke()
        self.shared.dedup_state.reset()
        if self.admission is not None:
            self.admission.revoked()
        self.readiness.mark_not_ready()
        released = await self.executor.release(lambda _: True)
        if released:
            log.info("released %d recoveries for the rebalance", len(released))

    async def _on_shutdown(self, sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        self.catchup.revoke()
        self.readiness.mark_not_ready()
        await self.executor.close()
        await self._offsets.close()
        await self.shared.out_of_band.close()
        for close in self._on_stop:
            await close()


class Worker(faust.Worker):
    """Faust's worker, with what a stop does first."""

    async def on_stop(self) -> None:
        """First thing at a stop: everything in memory now lives until the process ends, so
        it is frozen out of the cyclic collector (``gc.freeze``). Faust's RocksDB store runs
        a full collection as each table stops, and a worker holding a million dedup entries
        spent 3 s in each (15 s per stop) before it."""
        gc.freeze()
        await super().on_stop()


def run(service: RecoveryService, loglevel: str = "info") -> None:
    """Run the worker until SIGTERM/SIGINT; exits the process like any Faust worker."""
    # The API starts before the app, so it answers /livez while the app joins and recovers;
    # between them, the app waits for the configuration in force (streams/runtime_config/gate.py)
    # and for the silences (streams/silences/view.py).
    api = [] if service.api is None else [service.api]
    run_app(service.app, *api, service.starting_config, service.silences_first, loglevel=loglevel)


#: Allocations between two young-generation collections (CPython's default: 700).
GC_YOUNG_THRESHOLD = 20_000


def tune_collector() -> None:
    """Collect young objects less often. A storm allocates dozens of short-lived objects per
    error while its dedup entries pile up, so at CPython's default the collector ran a full
    collection whenever the survivors had grown by a quarter: 24 of them in a 200,000-error
    storm, 3.9 of its 30.5 s of CPU. At this threshold: 2 (0.4 s), and young collections
    of about 10 ms each."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def run_app(app: faust.App, *services: ServiceT, loglevel: str) -> None:
    """Run ``app`` and ``services`` in a Faust worker as a service runs: on uvloop, without
    the terminal spinner, with the collector tuned (:func:`tune_collector`). Exits the process.

    uvloop runs the event loop: the pipeline is dominated by small socket writes, futures
    and tasks, where it is several times cheaper than the default loop."""
    tune_collector()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    worker = Worker(app, *services, loglevel=loglevel)
    # Faust's terminal spinner turns the root logger to DEBUG at WARNING and above, so every
    # debug line of aiokafka gets built: a measurable cost, and a service has no terminal.
    worker.spinner = None
    worker.execute_from_commandline()
