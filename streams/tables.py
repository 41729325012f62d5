"""The changelogged tables: recovery rows, cluster summaries, and dedup state. Each table's
changelog topic is the streams/topology.py entry of the same name.

Every table is written only inside stream iteration of a cluster-keyed topic, so its
changelog partition is that cluster's partition (NOTES.md: writes from background tasks
go astray). Keys are plain UTF-8 on the changelog (``<cluster>~<id>``, or the cluster for
the summaries), so any Kafka client can look a row up or write a tombstone, and the app's
partitioner places a key where its row lives. Dedup rows carry their partition so a
per-partition tick can expire them.
"""

from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.types import TableT

from streams.config import TopicSettings
from streams.topology import TOPOLOGY


@dataclass(frozen=True)
class Tables:
    status: TableT[str, bytes]  # cluster~recovery id -> RecoveryResult (Avro)
    summaries: TableT[str, bytes]  # cluster -> its summary, a ClusterStatus (Avro)
    seen: TableT[str, bytes]  # cluster~@batch -> the event ids of one triage batch
    targets: TableT[str, bytes]  # cluster~strategy|target -> TargetClaim
    guards: TableT[str, bytes]  # cluster~circuit|strategy, cluster~flap|… (triage/guards.py)

    @classmethod
    def declare(cls, app: faust.App, topics: TopicSettings) -> "Tables":
        def table(name: str, value_type: type | None) -> TableT[Any, Any]:
            changelog = topics.name(TOPOLOGY.table(name))
            # Keys raw UTF-8; values raw (bytes) or JSON (untyped): the changelog topic must
            # decode them the same way when a worker recovers the table.
            value_serializer = "raw" if value_type is bytes else "json"
            created = app.Table(
                name,
                key_type=str,
                value_type=value_type,
                partitions=topics.partitions,
                changelog_topic=app.topic(
                    changelog,
                    key_type=str,
                    value_type=value_type,
                    key_serializer="raw",
                    value_serializer=value_serializer,
                    partitions=topics.partitions,
                    compacting=True,
                ),
            )
            # Faust derives a str key's serializer (JSON) from its type and takes no argument
            # for it; the changelog must carry the UTF-8 key itself, as plain clients read it.
            cast(faust.Table[Any, Any], created).key_serializer = "raw"
            return created

        return cls(
            status=table("status", bytes),
            summaries=table("summaries", bytes),
            seen=table("seen", bytes),  # streams/triage/rows.py
            targets=table("targets", bytes),
            guards=table("guards", bytes),
        )
