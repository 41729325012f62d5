"""The service's configuration: a YAML file plus TMC_* environment variables (env wins).

Nested fields use ``__`` in env names, e.g. ``TMC_TOPICS__PARTITIONS=12`` or
``TMC_STRATEGIES__Migration__ENABLED=false``. Everything is validated at start;
a bad value is a ConfigError naming the field.
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from strategies.settings import StrategySettings
from streams.admission.caps import Cap
from streams.runtime_config.vocabulary import RecoveryManagerConfig, StrategyConfigs
from streams.settings_loader import ConfigError, load_settings
from streams.topology import TOPOLOGY, TopicEntry, Topology

DAY_MS = 24 * 3600 * 1000
DEFAULT_WORKER_ID = "tmc-recovery"

# Kafka's rule for group.instance.id: the legal characters and length of a topic name.
_INSTANCE_ID = re.compile(r"[A-Za-z0-9._-]{1,249}")
# Ids that every worker would share: a static member with one of them fences its peers.
_DEFAULT_LOOKING = frozenset(
    {"default", "none", "null", "nil", "undefined", "unset", "changeme", "change-me",
     "instance", "instance-id", "instance_id", "worker", "consumer", "member", DEFAULT_WORKER_ID}
)  # fmt: skip


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    """The cluster and the consumer group all workers share (scale out = more workers).

    ``instance_id`` (opt-in) makes this worker a *static* member of the group (Kafka's
    ``group.instance.id``): a worker restarted under the same id within
    ``session_timeout_s`` gets its partitions back without a rebalance, where a dynamic
    member waits out the session timeout. It must be unique per worker and stable across
    its restarts, e.g. a StatefulSet pod name (``tmc-recovery-0``). The costs: a static
    member sends no LeaveGroup, so a worker scaled in (or renamed) strands its partitions
    until ``session_timeout_s`` expires; and two workers with one id fence each other,
    which is why the worker refuses a blank or default-looking id, and an id a live member
    of the group already holds.

    ``commit_interval_s``: how often processed offsets are committed. Committed offsets
    trail processing by up to this long, so that is the lag a monitor sees on an idle
    partition, and the most a crashed worker's successor re-reads (processing is
    idempotent: a replayed error is deduplicated by its event id). A commit is one
    request per worker to the group coordinator, so 1 s costs the broker little; Faust's
    own default is 2.8 s. Under ``exactly_once`` it is also how long each transaction
    stays open, so it bounds how late read_committed consumers see results.

    ``producer_batch_bytes``: the most one record batch per partition carries. The client
    has one produce request in flight per broker, so a batch close that writes thousands of
    table rows waits one round trip per batch: at the client's usual 16 KiB, a storm's
    worker sat idle for a tenth of its time in those waits. Keep it under the broker's
    ``message.max.bytes`` (1 MiB by default), which refuses a larger batch.

    ``stall_after_s``: a partition holding records that delivers none to its idle agents
    for this long is sought back (streams/stall_watch.py, a faust-streaming bug); checked
    every ``stall_check_s``. A healthy worker fetches within a second, so 15 s is never a
    slow agent; ``stall_check_s`` = 0 turns the watch off.
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    group_id: str = "tmc-recovery"
    instance_id: str | None = None
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    session_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_interval_s: float = Field(default=3.0, gt=0)
    rebalance_timeout_s: float = Field(default=30.0, gt=0)
    commit_interval_s: float = Field(default=1.0, gt=0)
    producer_batch_bytes: int = Field(default=256 * 1024, ge=16 * 1024, le=1_000_000)
    stall_check_s: float = Field(default=5.0, ge=0)
    stall_after_s: float = Field(default=15.0, gt=0)

    @field_validator("instance_id")
    @classmethod
    def _instance_id_is_unique_looking(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            check_instance_id(value, str(info.data.get("group_id", "")))
        return value


class TopicSettingsBase(_Section):
    """Partitions and retention. All co-partitioned topics share ``partitions``. The audit
    trail keeps every entry for ``audit_retention_ms`` (its topic is compacted and deleted:
    no two entries share a key, so only age removes one).

    The topic names are fields too, one per entry of streams/topology.py, added by
    ``topic_settings``: a topic is declared once, there."""

    partitions: int = Field(default=6, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    retention_ms: int = Field(default=7 * DAY_MS, ge=60_000)
    dlq_retention_ms: int = Field(default=30 * DAY_MS, ge=60_000)
    audit_retention_ms: int = Field(default=90 * DAY_MS, ge=60_000)

    def name(self, entry: TopicEntry) -> str:
        """``entry``'s topic name as configured (for REQUESTS: the prefix)."""
        return str(getattr(self, entry.setting))

    def requests(self, strategy: str) -> str:
        return f"{self.name(TOPOLOGY.requests)}{strategy}"

    if TYPE_CHECKING:  # the generated name fields

        def __getattr__(self, setting: str) -> str: ...


def topic_settings(spec: Topology) -> type[TopicSettingsBase]:
    """The ``topics`` section for ``spec``: one name field per entry, defaulting to its name."""
    names: dict[str, Any] = {entry.setting: (str, entry.default) for entry in spec.entries}
    doc = TopicSettingsBase.__doc__
    return create_model("TopicSettings", __base__=TopicSettingsBase, __doc__=doc, **names)


if TYPE_CHECKING:
    TopicSettings = TopicSettingsBase
else:
    TopicSettings = topic_settings(TOPOLOGY)


class CodecSettings(_Section):
    """How records are framed on encode; decode accepts both framings regardless."""

    framing: Literal["single-object", "confluent"] = "single-object"
    registry_url: str | None = None


class IngestSettings(_Section):
    """Bounds on what ingest accepts; anything else is dead-lettered with the reason."""

    max_message_bytes: int = Field(default=256 * 1024, ge=1024)
    registry_retries: int = Field(default=3, ge=0)
    registry_retry_delay_s: float = Field(default=1.0, ge=0)


class DedupSettings(_Section):
    """Exact duplicates are remembered for ``event_id_ttl_s``; a (strategy, target) keeps
    merging new errors for ``cooldown_s`` after its recovery ends. Triage writes its state
    once per batch: what arrives within ``batch_linger_s`` of the batch's first error (the
    latency it adds to a lone error), or, while a backlog of mostly merging errors is being read,
    up to ``batch_max_wait_s`` and ``max_batch`` errors. Each claim a batch touches is written
    once, so a storm over many targets needs batches far larger than its targets: with 1 s
    and 1,000 errors, a storm of 200,000 errors over 2,000 targets wrote a claim for most of
    its errors. Idle partitions are swept for expired rows every ``sweep_interval_s``."""

    event_id_ttl_s: float = Field(default=3600.0, gt=0)
    cooldown_s: float = Field(default=300.0, ge=0)
    sweep_interval_s: float = Field(default=30.0, gt=0)
    max_batch: int = Field(default=20_000, ge=1, le=100_000)
    batch_linger_s: float = Field(default=0.01, ge=0, le=1.0)
    batch_max_wait_s: float = Field(default=5.0, ge=0, le=30.0)


class CircuitBreakerSettings(_Section):
    """Per (strategy, cluster): after ``failure_threshold`` recoveries in a row that acted
    and escalated, new errors for that strategy on that cluster escalate at once ("circuit
    open") instead of touching the cluster again. ``reset_timeout_s`` after it opened it goes
    half-open and lets one trial recovery through: success closes it, failure re-opens it.
    Keep the reset above ``dedup.cooldown_s``: errors merge into the open escalation until
    its cooldown ends, so a shorter reset only half-opens on paper."""

    failure_threshold: int = Field(default=3, ge=1)
    reset_timeout_s: float = Field(default=600.0, gt=0)


class FlapDampingSettings(_Section):
    """A recovery that completed holds only if no new error for its target arrives within
    ``healthy_delay_s`` (NodeHealthCheck's healthyDelay); one that did not hold is a relapse.
    ``max_recoveries`` relapses within ``window_s`` make the target flapping: the next error
    escalates ("recovery loop") instead of starting another recovery, until the relapses age
    out of the window. A recovery that holds clears the count. ``healthy_delay_s`` should
    exceed ``dedup.cooldown_s``, since errors inside the cooldown merge rather than start."""

    max_recoveries: int = Field(default=3, ge=1)
    window_s: float = Field(default=3600.0, gt=0)
    healthy_delay_s: float = Field(default=600.0, ge=0)


class SilenceSettings(_Section):
    """Silences (streams/silences/): one that has ended stays listed, as expired, for
    ``retention_s`` (Alertmanager keeps them 120 h), then the group leader's sweep, every
    ``sweep_interval_s``, removes it from the topic."""

    retention_s: float = Field(default=432_000.0, ge=0)
    sweep_interval_s: float = Field(default=600.0, gt=0)


class AdmissionSettings(_Section):
    """Fleet blast radius and storm mode (streams/admission/), off unless ``enabled``.

    ``max_clusters`` and ``max_per_logical_cluster``: how many clusters may be under
    recovery at once, fleet-wide and per logical cluster, a count ("5") or a share of the
    fleet file's clusters ("20%", rounded down, at least 1), as NodeHealthCheck's
    maxUnhealthy. Storm mode: when ``storm_threshold`` of the fleet file's clusters report
    one of ``storm_error_types`` within ``storm_window_s``, ``storm_strategies`` (the
    disruptive ones) start no attempt, one recovery escalates the suspected partition, and
    after ``storm_cooldown_s`` below the threshold they go on."""

    enabled: bool = False
    max_clusters: str = "100%"
    max_per_logical_cluster: str = "100%"
    storm_threshold: float = Field(default=0.5, gt=0, le=1)
    storm_window_s: float = Field(default=60.0, gt=0)
    storm_cooldown_s: float = Field(default=60.0, ge=0)
    storm_error_types: list[str] = Field(
        default_factory=lambda: ["ClusterUnreachable", "ClusterUnavailable"]
    )
    storm_strategies: list[str] = Field(default_factory=lambda: ["ClusterConnectivity"])
    tick_s: float = Field(default=1.0, gt=0)
    batch: int = Field(default=500, ge=1)  # asks the owner decides per round of writes

    @field_validator("max_clusters", "max_per_logical_cluster")
    @classmethod
    def _a_cap(cls, value: str) -> str:
        return str(Cap.parse(value))


class StatusSettings(_Section):
    """Completed, Cancelled and Escalated rows leave the status table ``retention_s`` after
    they ended (a tombstone on the changelog); their counts stay in the cluster summary.
    Expiry runs every ``sweep_interval_s``, so a row leaves within two intervals after its
    retention. Keep ``retention_s`` at least ``dedup.event_id_ttl_s``: triage takes a
    redelivered error whose row is gone for one whose outcome never got out.

    The projection writes in batches (streams/status/batch.py): a batch closes
    ``batch_linger_s`` after its first record, or, while the worker reads a backlog, up to
    ``batch_max_wait_s``, or at ``max_batch`` records, so the table trails the results topic
    by about the linger (by up to the wait under a backlog)."""

    retention_s: float = Field(default=7 * DAY_MS / 1000, gt=0)
    sweep_interval_s: float = Field(default=60.0, gt=0)
    batch_linger_s: float = Field(default=0.01, gt=0, le=1.0)
    batch_max_wait_s: float = Field(default=1.0, ge=0, le=30.0)
    max_batch: int = Field(default=5000, ge=1)

    @model_validator(mode="after")
    def _sweeps_within_the_retention(self) -> "StatusSettings":
        if self.sweep_interval_s > self.retention_s:
            raise ValueError("sweep_interval_s must not exceed retention_s")
        return self


class RetrySettings(_Section):
    """The Go model's default retry policy: 1 s doubling to 30 s, with jitter."""

    base_delay_s: float = Field(default=1.0, gt=0)
    max_delay_s: float = Field(default=30.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1.0)
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)


class ApprovalSettings(_Section):
    """Which destructive actions (``Action(destructive=True)``, strategies/base.py) wait for an
    operator's approval: ``required_for`` lists ``destructive`` (every strategy's) or
    strategy names (only theirs); empty, the default, holds none, so strategies act as
    they always did. One not answered within ``timeout_s`` escalates ("approval timed
    out")."""

    required_for: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=1800.0, gt=0)


class ExecutionSettings(_Section):
    """Per-worker bound on running recoveries (the seed's default: 5); the backlog waits.

    ``stale_after_s``: an error older than this at its recovery's first attempt (a backlog
    after an outage) is not acted on blindly: each attempt re-verifies the fault first, and
    completes without acting if it is gone (streams/execution/stale.py). Errors normally
    reach execution within seconds; five minutes is well past any healthy pipeline's lag.

    ``cluster_events``: also write each recovery's start and ending as a core/v1 Event
    beside its cluster's SyncTarget on the control plane (streams/execution/cluster_events.py),
    best effort; needs RBAC to create events there."""

    max_concurrent: int = Field(default=5, ge=1, le=10_000)
    stale_after_s: float = Field(default=300.0, gt=0)
    cluster_events: bool = False
    approval: ApprovalSettings = ApprovalSettings()


class ApiToken(_Section):
    """One user's bearer token and role (read < operate < approve)."""

    token: SecretStr = Field(min_length=16)
    role: Literal["read", "operate", "approve"] = "read"


class ApiSettings(_Section):
    """The HTTP API every worker serves (streams/api/). ``port`` 0 takes any free port (the
    worker logs ``api serving on <url>``). Peers reach a worker at ``advertised_url``,
    by default ``http://<host>:<port>`` as bound: set it when workers run on several
    machines and bind to 127.0.0.1 or 0.0.0.0. ``peer_timeout_s`` bounds each request a
    worker makes to another for a fleet-wide answer. ``tokens``: user -> bearer token and
    role, for the changes (cancel); with none, every change is refused."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=6066, ge=0, le=65535)
    advertised_url: str | None = None
    peer_timeout_s: float = Field(default=5.0, gt=0)
    tokens: dict[str, ApiToken] = Field(default_factory=dict)


class EventsSettings(_Section):
    """client-go's spam filter on the events topic (streams/events/spam.py): what one source
    says about one object may burst to ``spam_burst`` Events, then one more every
    ``spam_refill_s``; the rest are dropped and counted (client-go: 25, 300 s)."""

    spam_burst: int = Field(default=25, ge=1)
    spam_refill_s: float = Field(default=300.0, gt=0)


class RuntimeConfigSettings(_Section):
    """The starting-config gate (streams/runtime_config/gate.py): a starting worker acts on
    nothing until it has read the config topic and put the latest apply in force. If the
    topic cannot be read within ``start_timeout_s``, ``on_timeout`` says what happens:
    ``wait`` (the default) keeps the worker not ready, acting on nothing, and says so at
    every timeout; ``file`` starts it with the file and environment configuration, and the
    topic's is put in force whenever it is read."""

    start_timeout_s: float = Field(default=30.0, gt=0)
    on_timeout: Literal["wait", "file"] = "wait"


class Tunables(_Section):
    """What ``tmc-recovery config apply`` changes on running workers: concurrency and the
    strategies' knobs, in either vocabulary (streams/runtime_config/resolve.py maps the Go
    design's onto the per-strategy one). The sections keep their names in the worker file."""

    execution: ExecutionSettings = ExecutionSettings()
    strategies: dict[str, StrategySettings] = Field(default_factory=dict)
    recoveryManager: RecoveryManagerConfig = RecoveryManagerConfig()
    strategyConfigs: StrategyConfigs = Field(default_factory=dict)


class ServiceSettings(BaseSettings, Tunables):
    """Everything a worker needs to start; its ``Tunables`` are what ``config apply`` replaces."""

    model_config = SettingsConfigDict(
        env_prefix="TMC_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    worker_id: str = DEFAULT_WORKER_ID
    data_dir: Path = Path(".tmc-recovery")
    store: Literal["rocksdb", "memory"] = "rocksdb"
    """Where tables live. ``rocksdb`` keeps them in ``data_dir``, so a restart replays only
    the changelog records written since (streams/datadir.py); ``memory`` replays every
    changelog from the beginning at each start."""
    fleet_file: Path | None = None
    ready_file: Path | None = None
    """Written (atomically) once the worker serves its partitions, removed when it stops
    serving them: for a readiness probe such as ``test -f <file>``."""
    dry_run: bool = False
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    codec: CodecSettings = CodecSettings()
    ingest: IngestSettings = IngestSettings()
    dedup: DedupSettings = DedupSettings()
    circuit_breaker: CircuitBreakerSettings = CircuitBreakerSettings()
    flap_damping: FlapDampingSettings = FlapDampingSettings()
    silences: SilenceSettings = SilenceSettings()
    admission: AdmissionSettings = AdmissionSettings()
    status: StatusSettings = StatusSettings()
    retry: RetrySettings = RetrySettings()
    api: ApiSettings = ApiSettings()
    events: EventsSettings = EventsSettings()
    runtime_config: RuntimeConfigSettings = RuntimeConfigSettings()

    @model_validator(mode="after")
    def _static_members_keep_their_api_url(self) -> "ServiceSettings":
        """The group hands a restarted static member its old assignment, which names its
        old API URL; Faust refuses to run if the URL has changed since."""
        api = self.api
        if self.kafka.instance_id and api.enabled and not api.port:
            raise ValueError(
                "api.port 0 changes at every restart: a static member "
                "(kafka.instance_id) needs a fixed api.port"
            )
        return self

    @model_validator(mode="after")
    def _audit_outlives_the_rows(self) -> "ServiceSettings":
        """A row shows its audit trail, and a retry is refused once the trail has one: the
        trail must last as long as the rows do."""
        if self.topics.audit_retention_ms < self.status.retention_s * 1000:
            raise ValueError(
                f"topics.audit_retention_ms ({self.topics.audit_retention_ms}) must be at least "
                f"status.retention_s ({self.status.retention_s:g} s) in ms"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments, then the environment, then the YAML file."""
        yaml_file = init_settings.init_kwargs.pop("_config_file", None)  # type: ignore[attr-defined]
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


def check_instance_id(instance_id: str, group_id: str) -> None:
    """ValueError unless ``instance_id`` could be one worker's own static-membership id."""
    if not instance_id.strip():
        raise ValueError("must not be blank (unset it for dynamic membership)")
    if not _INSTANCE_ID.fullmatch(instance_id):
        hint = " (an unexpanded variable?)" if re.search(r"[$%{}()]", instance_id) else ""
        raise ValueError(f"must be 1-249 of the characters A-Z a-z 0-9 . _ -{hint}")
    if instance_id.lower() in _DEFAULT_LOOKING or instance_id == group_id:
        raise ValueError(
            "looks like a default every worker would share; give each worker its own id "
            "(e.g. the StatefulSet pod name)"
        )


def load_service_settings(config_file: Path | None = None, **overrides: Any) -> ServiceSettings:
    """Validated settings from ``overrides`` (command-line flags, nested as dicts), then
    TMC_* variables, then ``config_file`` (optional)."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"bad configuration: config file {config_file} does not exist")
    if config_file is not None:
        overrides["_config_file"] = config_file
    return load_settings(ServiceSettings, **overrides)
