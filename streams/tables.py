"""The changelogged tables: recovery rows, cluster summaries, and dedup state.

Every table is written only inside stream iteration of a cluster-keyed topic, so its
changelog partition is that cluster's partition (NOTES.md: writes from background tasks
go astray). Dedup rows carry their partition so a per-partition tick can expire them.
"""

from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

from streams.config import TopicSettings


@dataclass(frozen=True)
class Tables:
    status: TableT[str, bytes]  # recovery id -> RecoveryResult (Avro)
    clusters: TableT[str, bytes]  # cluster -> ClusterStatus (Avro)
    seen: TableT[str, dict[str, Any]]  # event id -> SeenEvent row (JSON)
    targets: TableT[str, dict[str, Any]]  # "strategy|target" -> TargetClaim row (JSON)

    @classmethod
    def declare(cls, app: faust.App, topics: TopicSettings) -> "Tables":
        def table(name: str, changelog: str, value_type: type | None) -> TableT[Any, Any]:
            # The table writes str keys as JSON, and values raw (bytes) or as JSON (untyped);
            # its changelog topic must decode them the same way when a worker recovers it.
            value_serializer = "raw" if value_type is bytes else "json"
            return app.Table(
                name,
                key_type=str,
                value_type=value_type,
                partitions=topics.partitions,
                changelog_topic=app.topic(
                    changelog,
                    key_type=str,
                    value_type=value_type,
                    key_serializer="json",
                    value_serializer=value_serializer,
                    partitions=topics.partitions,
                    compacting=True,
                ),
            )

        return cls(
            status=table("status", topics.status, bytes),
            clusters=table("clusters", topics.clusters, bytes),
            seen=table("seen", topics.dedup_seen, None),  # JSON objects: dicts
            targets=table("targets", topics.dedup_targets, None),
        )
