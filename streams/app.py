"""The Faust application object, configured from ServiceSettings.

Topics are created by streams/topics.py before the app starts, so Faust is told never to
declare topics itself (and not to use its leader topic, which it would have to create).

Every worker's Kafka client id names its host and process (``tmc-recovery/<host>/<pid>``),
so the group's member list says which worker is which, and a restarted static member can
tell its own previous incarnation from another worker holding its instance id
(streams/cli/membership.py).
"""

import os
import socket
from datetime import timedelta
from typing import Any

import faust
from faust.sensors import Monitor
from faust.types import TP, CollectionT, EventT, Message, PendingMessage, ProducerT, StreamT
from faust.types.tuples import RecordMetadata

from streams.config import ServiceSettings
from streams.flow_control import AbandoningFlowControl
from streams.partitioning import cluster_partitioner
from streams.quiet_logs import rate_limited_logging
from streams.transport import WorkerTransport

CLIENT_ID_PREFIX = "tmc-recovery"


def client_id(host: str | None = None, pid: int | None = None) -> str:
    """``tmc-recovery/<host>/<pid>`` for this process (or the given host and pid)."""
    host = socket.gethostname() if host is None else host
    return f"{CLIENT_ID_PREFIX}/{host}/{os.getpid() if pid is None else pid}"


def parse_client_id(value: str) -> tuple[str, int] | None:
    """(host, pid) of a worker's client id; None for any other client."""
    prefix, _, rest = value.partition("/")
    host, _, pid = rest.rpartition("/")
    if prefix != CLIENT_ID_PREFIX or not host or not pid.isdigit():
        return None
    return host, int(pid)


def broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",")]


class WorkerTopic(faust.Topic):
    """Faust's topic, whose sends skip the producer's start check once it has started.

    Faust fetches the producer for every record it sends (a table's changelog record too)
    through ``App.maybe_start_producer``, whose stampede guard awaits ``asyncio.sleep(0)``
    up to three times per call: each a whole pass of the event loop. A profile at 300 new
    recoveries/s counted 285,000 such sleeps for 6,500 errors, about 44 per error. Under
    exactly-once, and before the producer has started, Faust's own path is taken."""

    async def _get_producer(self) -> ProducerT:
        app = self.app
        if not app.in_transaction and app.producer.started:
            return app.producer
        started: ProducerT = await app.maybe_start_producer()
        return started


class UnreadMonitor(Monitor):
    """Faust's monitor without its per-record statistics. Nothing reads them (the worker
    exports its own metrics, streams/metrics.py), and in a storm they cost about 3% of the
    worker's CPU. Faust's own calls on the monitor (end and committed offsets) still land."""

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        return None

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]
    ) -> dict[str, Any] | None:
        return None

    def on_stream_event_out(
        self,
        tp: TP,
        offset: int,
        stream: StreamT[Any],
        event: EventT[Any],
        state: dict[str, Any] | None = None,
    ) -> None:
        return None

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        return None

    def on_table_get(self, table: CollectionT, key: Any) -> None:
        return None

    def on_table_set(self, table: CollectionT, key: Any, value: Any) -> None:
        return None

    def on_table_del(self, table: CollectionT, key: Any) -> None:
        return None

    def on_send_initiated(
        self,
        producer: ProducerT,
        topic: str,
        message: PendingMessage,
        keysize: int,
        valsize: int,
    ) -> Any:
        return None

    def on_send_completed(self, producer: ProducerT, state: Any, metadata: RecordMetadata) -> None:
        return None


def create_app(settings: ServiceSettings) -> faust.App:
    kafka = settings.kafka
    app = faust.App(
        kafka.group_id,
        broker=broker_urls(kafka.bootstrap_servers),
        broker_client_id=client_id(),
        consumer_group_instance_id=kafka.instance_id,
        # One partitioner for every key the app produces and every table lookup it routes: the
        # cluster part of a key decides, so rows and topic records of a cluster share a partition.
        producer_partitioner=cluster_partitioner,
        # "rocksdb" is faust's RocksDB store, which uses rocksdict when it is installed.
        store=f"{settings.store}://",
        datadir=str(settings.data_dir),
        processing_guarantee=kafka.processing_guarantee,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=kafka.heartbeat_interval_s,
        broker_rebalance_timeout=kafka.rebalance_timeout_s,
        broker_commit_interval=kafka.commit_interval_s,
        producer_acks=-1,
        producer_linger=0.005,
        producer_max_batch_size=kafka.producer_batch_bytes,
        web_enabled=False,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        table_cleanup_interval=timedelta(minutes=5).total_seconds(),
        key_serializer="raw",
        value_serializer="raw",
        logging_config=rate_limited_logging(),
        monitor=UnreadMonitor(),
        Topic=WorkerTopic,
    )
    app.transport = WorkerTransport(app.conf.broker_consumer, app)
    app.flow_control = AbandoningFlowControl()  # before any agent makes its buffer
    return app
