"""The audit trail of every change made through the API: who, what, when and why.

Each entry is one record on the audit topic, written by the API and nothing else, before
the change is sent: a change that cannot be audited is not made. Its key is
``<cluster>~<recovery id>~<entry id>``, so compaction keeps every entry (no two share a key)
and the app-wide partitioner puts it on its cluster's partition; only age removes one, after
``topics.audit_retention_ms`` (the topic is ``compact,delete``, streams/topology.py). The
value is JSON, for whoever reads the trail without our schemas.

A recovery's entries are read back from its cluster's partition of the topic whenever the
recovery is shown, by whichever worker answers: the trail is small (people's changes), and
reading it needs no table, so the topic stays the trail's only copy.
"""

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from streams.context import Shared
from streams.log_reader import from_start
from streams.partitioning import SEPARATOR, partition_for, row_key


@dataclass(frozen=True)
class AuditEntry:
    user: str
    role: str
    action: str  # the mutation: cancel, retry
    cluster: str
    recovery_id: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)  # what the action produced
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def key(self) -> bytes:
        return row_key(self.cluster, f"{self.recovery_id}{SEPARATOR}{self.id}").encode()

    def value(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


class AuditLog:
    def __init__(self, shared: Shared) -> None:
        self.topic = shared.topics.audit
        self._out_of_band = shared.out_of_band
        self._bootstrap = shared.settings.kafka.bootstrap_servers
        self._partitions = shared.settings.topics.partitions

    async def record(self, entry: AuditEntry) -> None:
        """Sent and acknowledged before it returns."""
        await self._out_of_band.send(self.topic, entry.key(), entry.value())

    async def entries(self, cluster: str, recovery_id: str) -> list[dict[str, Any]]:
        """Every entry about the recovery, oldest first."""
        prefix = row_key(cluster, recovery_id + SEPARATOR).encode()
        tp = TopicPartition(
            self.topic.get_topic_name(), partition_for(cluster.encode(), self._partitions)
        )
        async with from_start(self._bootstrap, [tp]) as (consumer, ends):
            found: dict[bytes, dict[str, Any]] = {}
            while await consumer.position(tp) < ends[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if record.key is not None and record.key.startswith(prefix) and record.value:
                        found[record.key] = json.loads(record.value)
            return sorted(found.values(), key=lambda entry: str(entry["at"]))
