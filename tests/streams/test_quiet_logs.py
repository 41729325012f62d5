"""Repeated warnings are rate-limited and counted; with real loggers and handlers."""

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError, NodeNotReadyError

from streams.metrics import Metrics, SuppressedLogsCollector
from streams.quiet_logs import (
    COORDINATOR_LOGGER,
    CoordinatorWarmupFilter,
    RateLimitFilter,
    SuppressedCounts,
    message_shape,
)

PRODUCER = "faust.transport.producer"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def counts() -> SuppressedCounts:
    return SuppressedCounts()


@pytest.fixture
def out(clock: Clock, counts: SuppressedCounts) -> Iterator[Collect]:
    """A handler with the filter on it, attached to a private logger tree."""
    handler = Collect()
    handler.addFilter(RateLimitFilter(60, counts=counts, clock=clock))
    root = logging.getLogger("quietlogs")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    root.propagate = False
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def test_first_warning_passes_then_repeats_are_counted(
    out: Collect, clock: Clock, counts: SuppressedCounts
) -> None:
    log = logging.getLogger("quietlogs.producer")
    for size in range(101, 401):
        log.warning("producer buffer full size %d", size)
        clock.now += 0.1
    assert out.lines == ["quietlogs.producer WARNING producer buffer full size 101"]
    assert counts.snapshot() == {("quietlogs.producer", "WARNING"): 299}


def test_after_the_interval_one_line_carries_the_suppressed_count(
    out: Collect, clock: Clock
) -> None:
    log = logging.getLogger("quietlogs.producer")
    log.warning("producer buffer full size 101")
    for _ in range(40):
        clock.now += 1
        log.warning("producer buffer full size 150")
    clock.now += 30  # 70 s after the first: a new window
    log.warning("producer buffer full size 180")
    log.warning("producer buffer full size 181")
    assert out.lines == [
        "quietlogs.producer WARNING producer buffer full size 101",
        "quietlogs.producer WARNING producer buffer full size 180 "
        "(40 similar suppressed in the last 70s)",
    ]


def test_distinct_messages_loggers_and_levels_are_limited_separately(out: Collect) -> None:
    logging.getLogger("quietlogs.a").warning("heartbeat failed")
    logging.getLogger("quietlogs.b").warning("heartbeat failed")
    logging.getLogger("quietlogs.a").error("heartbeat failed")
    logging.getLogger("quietlogs.a").warning("coordinator dead")
    logging.getLogger("quietlogs.a").warning("heartbeat failed")
    assert len(out.lines) == 4


def test_info_passes_untouched_except_from_noisy_loggers(
    clock: Clock, counts: SuppressedCounts
) -> None:
    limit = RateLimitFilter(60, counts=counts, clock=clock, noisy_loggers=[PRODUCER])

    def record(name: str, level: int, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, None, None)

    assert all(limit.filter(record("faust.worker", logging.INFO, "Ready")) for _ in range(5))
    flushes = [
        limit.filter(record(PRODUCER, logging.INFO, f"flush took {i / 7}")) for i in range(5)
    ]
    assert flushes == [True, False, False, False, False]
    assert counts.snapshot() == {(PRODUCER, "INFO"): 4}


def test_numbers_are_blanked_in_the_message_shape() -> None:
    assert message_shape("producer flush took 0.01234") == message_shape("producer flush took 2")
    assert message_shape("size 101 of 7") == "size # of #"
    assert message_shape("disk full") != message_shape("disk fuller")


def test_bad_format_arguments_pass_through_to_the_handler(clock: Clock) -> None:
    limit = RateLimitFilter(60, counts=SuppressedCounts(), clock=clock)
    broken = logging.LogRecord("x", logging.WARNING, __file__, 1, "%d items", ("many",), None)
    assert limit.filter(broken)


def test_the_metric_exports_the_counts(counts: SuppressedCounts) -> None:
    metrics = Metrics()
    metrics.registry.unregister(metrics.suppressed_logs)
    metrics.registry.register(SuppressedLogsCollector(counts))
    counts.add(PRODUCER, "WARNING")
    counts.add(PRODUCER, "WARNING")
    labels = {"logger": PRODUCER, "level": "WARNING"}
    value = metrics.registry.get_sample_value("tmc_log_warnings_suppressed_total", labels)
    assert value == 2


def coordinator_not_available(grace_s: float, clock: Clock, *loggers: str) -> list[str]:
    """What a handler filtered by CoordinatorWarmupFilter prints of aiokafka's warm-up error,
    logged once by each of ``loggers`` (the call GroupCoordinator.ensure_coordinator_known
    makes), the clock moving 10 s after each."""
    handler = Collect()
    handler.addFilter(CoordinatorWarmupFilter(grace_s, clock=clock))
    for name in set(loggers):
        logging.getLogger(name).addHandler(handler)
    try:
        for name in loggers:
            error = GroupCoordinatorNotAvailableError()
            logging.getLogger(name).error("Group Coordinator Request failed: %s", error)
            clock.now += 10
    finally:
        for name in set(loggers):
            logging.getLogger(name).removeHandler(handler)
    return handler.lines


def test_the_coordinator_warmup_error_is_one_info_line_for_its_grace_period(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lines = coordinator_not_available(25, clock, *[COORDINATOR_LOGGER] * 4, "quietlogs.x")
    levels = [line.split()[1] for line in lines]
    assert levels == ["INFO", "ERROR", "ERROR"], "retries within 25 s are silent"
    assert lines[0].endswith(
        "[Error 15] GroupCoordinatorNotAvailableError "
        "(expected while Kafka creates the group coordinator)"
    ), lines[0]
    other = logging.getLogger(COORDINATOR_LOGGER)
    handler = Collect()
    handler.addFilter(CoordinatorWarmupFilter(clock=clock))
    other.addHandler(handler)
    try:
        other.error("Group Coordinator Request failed: %s", NodeNotReadyError())
    finally:
        other.removeHandler(handler)
    assert [line.split()[1] for line in handler.lines] == ["ERROR"], "only that error"

    caplog.set_level(logging.WARNING)
    assert coordinator_not_available(25, clock, COORDINATOR_LOGGER) == [], "below the log level"


def test_the_worker_logging_config_limits_faust_producer_warnings() -> None:
    """The app's logging_config, applied by mode as the worker applies it (own process)."""
    script = """
import logging, mode.utils.logging as ml
from streams.app import create_app
from streams.config import ServiceSettings
from streams.metrics import Metrics
config = dict(create_app(ServiceSettings()).conf.logging_config)
ml.setup_logging(loglevel="INFO", logging_config=config)
log = logging.getLogger("faust.transport.producer")
for size in range(101, 401):
    log.warning(f"producer buffer full size {size}")
    log.info(f"producer flush took {size / 1000}")
logging.getLogger("faust.worker").info("still heard")
from aiokafka.errors import GroupCoordinatorNotAvailableError
logging.getLogger("aiokafka.consumer.group_coordinator").error(
    "Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError()
)
value = Metrics().registry.get_sample_value(
    "tmc_log_warnings_suppressed_total",
    {"logger": "faust.transport.producer", "level": "WARNING"},
)
print("SUPPRESSED", int(value))
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    output = run.stdout + run.stderr
    assert output.count("producer buffer full size") == 1, output
    assert output.count("producer flush took") == 1, output
    assert "still heard" in output
    assert "SUPPRESSED 299" in output
    (warmup,) = [line for line in output.splitlines() if "GroupCoordinatorNotAvailable" in line]
    assert "[INFO]" in warmup, "demoted: expected while Kafka creates the coordinator"
