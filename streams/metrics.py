"""Prometheus metrics: the seed's recovery metrics plus the pipeline's own.

One registry per service instance, so several workers (or tests) in one process do not
collide, served by the HTTP API at /metrics (streams/api/).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from strategies.adapters.throttle import THROTTLED, ThrottleCounts
from streams.quiet_logs import SUPPRESSED, SuppressedCounts


class SuppressedLogsCollector(Collector):
    """``tmc_log_warnings_suppressed_total{logger,level}``: repeated log records dropped by
    streams.quiet_logs.RateLimitFilter. Logging is process-wide, so the count is too."""

    def __init__(self, counts: SuppressedCounts = SUPPRESSED) -> None:
        self.counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "tmc_log_warnings_suppressed",
            "Repeated log records (warnings, and a flood's INFO lines) dropped by the rate limit.",
            labels=["logger", "level"],
        )
        for (logger, level), count in sorted(self.counts.snapshot().items()):
            family.add_metric([logger, level], count)
        yield family


class CircuitCollector(Collector):
    """``tmc_circuit_breakers{strategy,state}``: how many clusters' breakers of each strategy
    are open or half-open on this worker's partitions (sum() over workers: the fleet's),
    read at scrape time because a breaker half-opens by the clock, not by an event. No
    cluster label: a fleet of thousands would make thousands of series."""

    STATES = ("open", "half-open")

    def __init__(
        self, strategies: Iterable[str], counts: Callable[[], Mapping[tuple[str, str], int]]
    ) -> None:
        self.strategies, self.counts = list(strategies), counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "tmc_circuit_breakers",
            "Circuit breakers (strategy, cluster) open or half-open, per strategy.",
            labels=["strategy", "state"],
        )
        counts = self.counts()
        for strategy in self.strategies:
            for state in self.STATES:
                family.add_metric([strategy, state], counts.get((strategy, state), 0))
        yield family


class ThrottledCollector(Collector):
    """``tmc_gateway_throttled_total{reason}`` and ``tmc_gateway_throttled_seconds_total
    {reason}``: requests to cluster APIs that waited (our rate limit, a 429's Retry-After or
    back-off) or gave up at their deadline. The gateway is process-wide, so the count is too."""

    def __init__(self, counts: ThrottleCounts = THROTTLED) -> None:
        self.counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        times = CounterMetricFamily(
            "tmc_gateway_throttled",
            "Requests to cluster APIs throttled, by reason (a wait, or a give-up at the deadline).",
            labels=["reason"],
        )
        seconds = CounterMetricFamily(
            "tmc_gateway_throttled_seconds",
            "Seconds requests waited, by reason.",
            labels=["reason"],
        )
        for reason, (count, waited) in sorted(self.counts.snapshot().items()):
            times.add_metric([reason.value], count)
            seconds.add_metric([reason.value], waited)
        yield times
        yield seconds


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.attempts = Counter(
            "tmc_recovery_attempts_total", "Recovery attempts started.",
            ["error_type", "strategy"], registry=r,
        )  # fmt: skip
        self.successes = Counter(
            "tmc_recovery_successes_total", "Recoveries that completed.",
            ["error_type", "strategy"], registry=r,
        )  # fmt: skip
        self.failures = Counter(
            "tmc_recovery_failures_total", "Recoveries that escalated or were cancelled.",
            ["error_type", "strategy"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "tmc_recovery_duration_seconds", "Time from start to a terminal state.",
            ["error_type", "strategy"], registry=r,
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
        )  # fmt: skip
        self.active = Gauge(
            "tmc_active_recoveries_total",
            "Recoveries this worker is driving now (sum() over workers is the fleet's).",
            registry=r,
        )  # kept current by the service: set_function on its executor
        self.received = Counter(
            "tmc_pipeline_received_total", "Records read from the errors topic.", registry=r
        )
        self.dead_lettered = Counter(
            "tmc_pipeline_dead_lettered_total", "Records sent to the DLQ.", ["reason"], registry=r
        )
        self.deduplicated = Counter(
            "tmc_pipeline_deduplicated_total", "Errors dropped or merged by dedup.",
            ["kind"], registry=r,
        )  # fmt: skip
        # Bound once: a storm counts one of these per error, and labels() takes a lock.
        self.merged = self.deduplicated.labels("merged")
        self.duplicates = self.deduplicated.labels("duplicate")
        self.started = Counter(
            "tmc_pipeline_recoveries_started_total", "Recoveries started by triage.",
            ["strategy"], registry=r,
        )  # fmt: skip
        self.escalated = Counter(
            "tmc_pipeline_escalated_total", "Recoveries escalated.", ["strategy"], registry=r
        )
        self.gate_escalations = Counter(
            "tmc_triage_gate_escalations_total",
            "Errors escalated at triage by a safety gate instead of starting a recovery.",
            ["gate"], registry=r,
        )  # fmt: skip
        self.suppressed = Counter(
            "tmc_suppressed_errors_total",
            "Errors a silence suppressed: each new Suppressed recovery and each error merged "
            "into one.",
            ["strategy"], registry=r,
        )  # fmt: skip
        self.forwarded = Counter(
            "tmc_pipeline_repartitioned_total",
            "Errors re-keyed to the partition of their cluster.", registry=r,
        )  # fmt: skip
        self.lag = Gauge(
            "tmc_pipeline_consumer_lag",
            "Records behind the end of the errors topic, per partition: after the last "
            "record read, to the end the consumer last saw.",
            ["partition"], registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "tmc_executor_queue_depth",
            "Recoveries this worker tracks but is not running: behind their target, waiting "
            "for a slot, or due to retry later.",
            registry=r,
        )  # kept current by the service: set_function on its executor
        self.awaiting_approval = Gauge(
            "tmc_awaiting_approval",
            "Recoveries this worker holds in AwaitingApproval: a destructive action waits for "
            "an operator (execution.approval).",
            registry=r,
        )  # kept current by the service: set_function on its executor
        self.health_reports = Counter(
            "tmc_health_reports_total", "Health reports read, by reported status.",
            ["status"], registry=r,
        )  # fmt: skip
        self.health_incidents = Counter(
            "tmc_health_incidents_total",
            "Components newly Unhealthy, each sent once as a ComponentUnhealthy error.",
            registry=r,
        )
        self.suppressed_logs = SuppressedLogsCollector()
        r.register(self.suppressed_logs)
        r.register(ThrottledCollector())
        self.stale_errors = Counter(
            "tmc_stale_errors_total",
            "Recoveries whose error was older than execution.stale_after_s when they were about "
            "to act, so the fault was re-verified first.",
            ["strategy"], registry=r,
        )  # fmt: skip
        self.admission_waiting = Gauge(
            "tmc_admission_waiting",
            "Recoveries waiting for a fleet-wide grant (a cap or a storm), as the admission "
            "owner counts them: 0 on every other worker, so a sum is the fleet's.",
            registry=r,
        )  # kept current by the service: set_function on the owner
        self.storm_mode = Gauge(
            "tmc_storm_mode",
            "1 while storm mode is on (as this worker last read it).",
            registry=r,
        )  # kept current by the service: set_function on its grants view
        self.admission_grants = Counter(
            "tmc_admission_grants_total",
            "Grants the admission owner gave (a recovery may act on its cluster).", registry=r,
        )  # fmt: skip
        self.admission_denials = Counter(
            "tmc_admission_denials_total",
            "Asks the admission owner did not grant, by reason: fleet_cap, "
            "logical_cluster_cap or storm.",
            ["reason"], registry=r,
        )  # fmt: skip
        self.cluster_events = Counter(
            "tmc_cluster_events_total",
            "Recovery Events written beside their cluster's SyncTarget (execution.cluster_events), "
            "by outcome: written or failed.",
            ["outcome"], registry=r,
        )  # fmt: skip
