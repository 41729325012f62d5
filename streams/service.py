"""The recovery service: one Faust app wiring topics, tables, agents and the executor.

Lifecycle, per worker:
- before start, topics are created and verified (streams/topics.py);
- after each rebalance's table recovery, every non-terminal recovery of the partitions
  this worker now owns is resumed from the status table;
- when partitions are revoked, their running recoveries are released (not ended): the next
  owner resumes them, and strategies are idempotent, so re-running an attempt is safe.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
import uvloop
from faust.types import TP

from schemas.codec import Framing, RecordCodec, SchemaRegistryClient
from schemas.records import ClusterStatus, RecoveryResult, TMCError
from strategies.base import RecoveryStrategy
from strategies.registry import StrategyRegistry
from streams.agents.context import Pipeline
from streams.agents.requests import RequestAgents
from streams.agents.results import ResultsAgent
from streams.agents.triage import TriageAgents
from streams.app import create_app
from streams.channels import Channels
from streams.config import ServiceSettings
from streams.execution.executor import RecoveryExecutor
from streams.metrics import Metrics
from streams.partitioning import partition_for
from streams.tables import Tables

log = logging.getLogger(__name__)


class RecoveryService:
    def __init__(
        self,
        settings: ServiceSettings,
        strategies: Sequence[RecoveryStrategy],
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        """``on_stop`` closes what the strategies hold (the gateway's HTTP sessions)."""
        self.settings = settings
        self._on_stop = list(on_stop)
        self.registry = StrategyRegistry(strategies, settings.strategies)
        self.app = create_app(settings)
        registry_client = None
        if settings.codec.registry_url:
            registry_client = SchemaRegistryClient(settings.codec.registry_url)
        framing = Framing(settings.codec.framing)
        self.pipeline = Pipeline(
            app=self.app,
            settings=settings,
            channels=Channels.declare(self.app, settings.topics, self.registry.names()),
            tables=Tables.declare(self.app, settings.topics),
            registry=self.registry,
            errors=RecordCodec(TMCError, framing=framing, registry=registry_client),
            results=RecordCodec(RecoveryResult, framing=framing, registry=registry_client),
            summaries=RecordCodec(ClusterStatus),
            metrics=Metrics(),
            registry_configured=registry_client is not None,
        )
        self.executor = RecoveryExecutor(
            {configured.name: configured.strategy for configured in self.registry},
            self.pipeline.publish_now,
            settings.execution,
            settings.retry,
            timeouts={configured.name: configured.timeout for configured in self.registry},
            dry_run=settings.dry_run,
        )
        TriageAgents(self.pipeline).register()
        RequestAgents(self.pipeline, self.executor).register()
        ResultsAgent(self.pipeline).register()
        self.pipeline.tables.clusters.on_recover(self._resume)
        self.app.on_partitions_revoked.connect(self._on_revoked)
        self.app.on_before_shutdown.connect(self._on_shutdown)

    def _partition_of(self, recovery: RecoveryResult) -> int:
        return partition_for(recovery.kafka_key(), self.settings.topics.partitions)

    async def _resume(self) -> None:
        """Hand every active recovery of the owned partitions back to the executor."""
        owned = self.pipeline.owned_partitions(self.pipeline.channels.results)
        resumed = 0
        for cluster, raw in list(self.pipeline.tables.clusters.items()):
            if partition_for(cluster.encode(), self.settings.topics.partitions) not in owned:
                continue
            for active in self.pipeline.summaries.decode(raw).active_recoveries:
                row = self.pipeline.row(active.recovery_id)
                if row is not None and not row.state.is_terminal:
                    await self.executor.submit(row)
                    resumed += 1
        self.pipeline.metrics.active.set(len(self.executor.tracked))
        log.info("resumed %d recoveries on partitions %s", resumed, sorted(owned))

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        revoked: set[TP] = args[0]
        topic = self.pipeline.channels.results.get_topic_name()
        lost = {tp.partition for tp in revoked if tp.topic == topic}
        released = await self.executor.release(lambda r: self._partition_of(r) in lost)
        if released:
            log.info("released %d recoveries of partitions %s", len(released), sorted(lost))

    async def _on_shutdown(self, sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        await self.executor.close()
        for close in self._on_stop:
            await close()


def run(service: RecoveryService, loglevel: str = "info") -> None:
    """Run the worker until SIGTERM/SIGINT; exits the process like any Faust worker.

    uvloop runs the event loop: the pipeline is dominated by small socket writes, futures
    and tasks, where it is several times cheaper than the default loop."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    worker = faust.Worker(service.app, loglevel=loglevel)
    # Faust's terminal spinner turns the root logger to DEBUG at WARNING and above, so every
    # debug line of aiokafka gets built: a measurable cost, and a service has no terminal.
    worker.spinner = None
    worker.execute_from_commandline()
