"""The one spec of the pipeline's Kafka topics, and the Faust view of its streams.

Everything else about topics derives from ``TOPOLOGY``: the ``topics.<setting>`` configuration
(streams/config.py), the creation and verification plan (streams/topics.py), the Faust topics
(``KafkaTopics`` below) and the tables' changelogs (streams/tables.py), the clients' default
names, and the test harness's per-test names. Adding a topic is one entry here.

The compacted table topics carry a format version in their names (``.v2``: plain UTF-8 keys
that start with their cluster; the dedup tables' ``.v3``: binary batch rows; the seen table's
``.v4``: its event ids in one block per cluster): a new key or value format gets new names, so
a worker never reads an older format as if it were the new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import faust
    from faust.types import TopicT

    from streams.config import TopicSettings


@dataclass(frozen=True)
class Kind:
    """How a topic is kept: its cleanup policy, and which setting holds its retention."""

    label: str
    cleanup_policy: str
    retention_setting: str | None  # a ``topics.*`` field in ms; None: compacted, kept


STREAM = Kind("stream", "delete", "retention_ms")
DEAD_LETTER = Kind("dead-letter", "delete", "dlq_retention_ms")
TABLE = Kind("table", "compact", None)
REQUESTS = Kind("requests", "delete", "retention_ms")  # one topic per strategy: prefix + name
LOG = Kind("log", "compact", None)  # compacted, every key its own: kept whole, no Faust table
# Every key its own too, so compaction loses nothing; kept whole for ``audit_retention_ms``.
AUDIT = Kind("audit log", "compact,delete", "audit_retention_ms")


@dataclass(frozen=True)
class TopicEntry:
    """One topic (or, for REQUESTS, one per strategy) and what it is for."""

    name: str  # the KafkaTopics attribute, or the Faust table it is the changelog of
    default: str  # the topic name unless configured (REQUESTS: the prefix)
    kind: Kind
    public: bool  # read or written by clients outside the worker (a contract)
    purpose: str
    configured_as: str | None = None  # the ``topics.*`` setting when not ``name`` (older key)

    @property
    def setting(self) -> str:
        """The field ``topics.<setting>`` (env ``TMC_TOPICS__<SETTING>``) naming it."""
        return self.configured_as or self.name

    def under(self, prefix: str) -> str:
        """Its name in an isolated set of topics: ``<prefix>.<name>`` (a prefix: ends in ``.``)."""
        return f"{prefix}.{self.name}" + ("." if self.kind is REQUESTS else "")


@dataclass(frozen=True)
class Topology:
    """The entries, checked for one meaning per name and one set of request topics."""

    entries: tuple[TopicEntry, ...]

    def __post_init__(self) -> None:
        for what in ("name", "setting", "default"):
            values = [getattr(entry, what) for entry in self.entries]
            if len(set(values)) != len(values):
                raise ValueError(f"topology: two entries share a {what}: {values}")
        if [entry.kind for entry in self.entries].count(REQUESTS) != 1:
            raise ValueError("topology: needs exactly one REQUESTS entry")

    def entry(self, name: str) -> TopicEntry:
        found = [entry for entry in self.entries if entry.name == name]
        if not found:
            raise KeyError(f"no topic {name!r} in the topology")
        return found[0]

    def table(self, name: str) -> TopicEntry:
        """The changelog entry of the Faust table ``name``."""
        entry = self.entry(name)
        if entry.kind is not TABLE:
            raise KeyError(f"topic {name!r} is a {entry.kind.label}, not a table")
        return entry

    @property
    def requests(self) -> TopicEntry:
        return next(entry for entry in self.entries if entry.kind is REQUESTS)

    @property
    def streams(self) -> tuple[TopicEntry, ...]:
        """The topics agents consume or send to one by one (not tables, not per strategy)."""
        return tuple(e for e in self.entries if e.kind not in (TABLE, REQUESTS))

    def under(self, prefix: str) -> dict[str, str]:
        """Every ``topics.*`` name setting for topics of their own under ``prefix`` (tests)."""
        return {entry.setting: entry.under(prefix) for entry in self.entries}


TOPOLOGY = Topology(
    (
        TopicEntry("errors", "tmc.errors", STREAM, True, "TMCErrors from components (Avro)"),
        TopicEntry(
            "dlq", "tmc.errors.dlq", DEAD_LETTER, True,
            "undecodable or invalid records: original key, value, headers plus reason and source",
        ),
        TopicEntry(
            "triage", "tmc.errors.triage", STREAM, False,
            "errors re-keyed onto their cluster's partition (a producer with another partitioner)",
        ),
        TopicEntry(
            "results", "tmc.recovery.results", STREAM, True,
            "every recovery transition (RecoveryResult, Avro): the public lifecycle",
        ),
        TopicEntry(
            "merges", "tmc.recovery.status.merges", STREAM, False,
            "status-internal: errors merged into a recovery, for its row's merge count",
        ),
        TopicEntry(
            "escalations", "tmc.recovery.escalations", STREAM, True,
            "recoveries that ended Escalated, for whoever is paged",
        ),
        TopicEntry(
            "events", "tmc.recovery.events", STREAM, True,
            "Kubernetes Events (RecoveryEvent, Avro): recoveries started and ended, by cluster",
        ),
        TopicEntry(
            "health", "tmc.health.reports", STREAM, True,
            "HealthReports from components (Avro), keyed like errors: cluster, else component",
        ),
        TopicEntry(
            "audit", "tmc.recovery.audit", AUDIT, True,
            "each change made through the API (JSON: who, what, when, why): <cluster>~<id>~<entry>",
        ),
        TopicEntry(
            "control", "tmc.recovery.control", LOG, False,
            "the operators' switches (JSON): pause, shadow~<strategy> -> on/off, who, when, why",
        ),
        TopicEntry(
            "silences", "tmc.recovery.silences", LOG, False,
            "silences (Silence, Avro), keyed by id: set, ended early, tombstoned after retention",
        ),
        TopicEntry(
            "runtime_config", "tmc.recovery.config", LOG, False,
            "configuration applied at runtime (`config apply`, JSON): one key, who, when, what",
        ),
        TopicEntry(
            "admission", "tmc.recovery.admission", STREAM, False,
            "asks for a fleet-wide grant and releases (JSON), all under one key: one owner",
        ),
        TopicEntry(
            "grants", "tmc.recovery.admission.grants", LOG, False,
            "the admission owner's answers (JSON): <cluster>~<recovery id> -> grant; ~storm",
        ),
        TopicEntry(
            "status", "tmc.recovery.status.v2", TABLE, True,
            "status table: <cluster>~<recovery id> -> latest RecoveryResult (Avro)",
        ),
        TopicEntry(
            "summaries", "tmc.recovery.clusters.v2", TABLE, True,
            "cluster table: <cluster> -> the cluster's summary, a ClusterStatus (Avro)",
            configured_as="clusters",
        ),
        TopicEntry(
            "seen", "tmc.recovery.dedup.seen.v4", TABLE, False,
            "triage's dedup table: the event ids of each triage batch (streams/triage/rows.py)",
            configured_as="dedup_seen",
        ),
        TopicEntry(
            "targets", "tmc.recovery.dedup.targets.v3", TABLE, False,
            "triage's claims: the recovery a (strategy, target) merges into, active or cooling",
            configured_as="dedup_targets",
        ),
        TopicEntry(
            "guards", "tmc.recovery.triage.guards.v1", TABLE, False,
            "triage's circuit breakers (per strategy, cluster) and flap records (per target)",
            configured_as="triage_guards",
        ),
        TopicEntry(
            "requests", "tmc.recovery.requests.", REQUESTS, False,
            "per strategy: recoveries triage admitted, keyed by cluster, for execution",
            configured_as="requests_prefix",
        ),
    )
)  # fmt: skip


class KafkaTopics:
    """The Faust topics of the spec's streams, one attribute per entry (``errors``,
    ``results``, …), and ``requests``: strategy name -> its request topic.

    Keys and values are raw bytes, encoded by schemas/ codecs. Keys are the cluster name in
    UTF-8 (the component when there is none), hashed by the producer's murmur2 partitioner, so
    a cluster's records land on the same partition number of every co-partitioned topic.
    """

    requests: dict[str, TopicT]

    def __init__(self, streams: Mapping[str, TopicT], requests: dict[str, TopicT]) -> None:
        vars(self).update(streams)
        self.requests = requests

    if TYPE_CHECKING:  # the attributes are the spec's stream names, set above

        def __getattr__(self, name: str) -> TopicT: ...

    @classmethod
    def declare(
        cls,
        app: faust.App,
        topics: TopicSettings,
        strategies: Iterable[str],
        spec: Topology = TOPOLOGY,
    ) -> KafkaTopics:
        def topic(name: str) -> TopicT:
            return app.topic(name, key_type=bytes, value_type=bytes, partitions=topics.partitions)

        return cls(
            {entry.name: topic(topics.name(entry)) for entry in spec.streams},
            {strategy: topic(topics.requests(strategy)) for strategy in strategies},
        )
