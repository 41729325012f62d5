"""The incident rule alone: one error per component and incident, and what that error says."""

from datetime import UTC, datetime

from schemas.codec import RecordCodec
from schemas.records import (
    EmitterIdentity,
    ErrorType,
    HealthCheck,
    HealthReport,
    HealthStatus,
    TMCError,
)
from streams.health.incidents import Incidents, incident_error, report_key

AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MONITOR = EmitterIdentity("tmc-health-monitor", "w1")
H, D, U, X = (
    HealthStatus.HEALTHY,
    HealthStatus.DEGRADED,
    HealthStatus.UNHEALTHY,
    HealthStatus.UNKNOWN,
)


def report(status: HealthStatus, component: str = "syncer", cluster: str | None = "edge-1"):
    return HealthReport(component, status, AT, instance="syncer-0", cluster_name=cluster)


def opened(statuses: list[HealthStatus], incidents: Incidents | None = None) -> list[bool]:
    incidents = incidents or Incidents()
    return [incidents.opens(report(status)) for status in statuses]


def test_only_the_first_unhealthy_report_of_an_incident_opens_it() -> None:
    assert opened([U] + [U] * 10) == [True] + [False] * 10


def test_healthy_ends_the_incident_and_the_next_unhealthy_is_a_new_one() -> None:
    assert opened([H, U, U, H, H, U, U]) == [False, True, False, False, False, True, False]


def test_degraded_and_unknown_neither_open_nor_end_an_incident() -> None:
    assert opened([D, X, U, D, U, X, U]) == [False, False, True, False, False, False, False]


def test_components_are_apart_per_cluster() -> None:
    incidents = Incidents()
    assert incidents.opens(report(U, "syncer", "edge-1"))
    assert incidents.opens(report(U, "syncer", "edge-2"))
    assert incidents.opens(report(U, "placement", "edge-1"))
    assert incidents.opens(report(U, "placement", None))
    assert not incidents.opens(report(U, "syncer", "edge-2"))


def test_the_error_is_component_unhealthy_retryable_and_keyed_like_the_report() -> None:
    checks = (HealthCheck("apiserver", U, "timeout"), HealthCheck("leader", H))
    unhealthy = HealthReport(
        "syncer", U, AT, instance="syncer-0", cluster_name="edge-1", message="lost", checks=checks
    )
    error = incident_error(unhealthy, "tmc.health.reports:1:7", MONITOR)
    assert (error.type, error.component, error.cluster_name) == (
        ErrorType.COMPONENT_UNHEALTHY, "syncer", "edge-1",
    )  # fmt: skip
    assert error.is_retryable()
    assert (error.message, error.timestamp, error.emitter) == ("lost", AT, MONITOR)
    assert error.context == {"health.instance": "syncer-0", "health.check.apiserver": "timeout"}
    assert error.kafka_key() == report_key(unhealthy) == b"edge-1"
    no_cluster = report(U, "placement", None)
    assert incident_error(no_cluster, "t:0:1", MONITOR).kafka_key() == report_key(no_cluster)


def test_a_redelivered_report_gives_the_same_event_id_and_another_report_a_new_one() -> None:
    def event_id(source: str) -> str | None:
        return incident_error(report(U), source, MONITOR).event_id

    assert event_id("t:0:7") == event_id("t:0:7") != event_id("t:0:8")


def test_the_error_encodes_as_a_tmc_error() -> None:
    codec = RecordCodec(TMCError)
    error = incident_error(report(U), "t:0:1", MONITOR)
    assert codec.decode(codec.encode(error)) == error
