"""The incident rule: a component is in one incident from its first Unhealthy report until
it reports Healthy again, and only the report that opens an incident becomes an error.

Degraded and UNKNOWN reports neither open nor end an incident: a component that wavers
between Unhealthy and Degraded is still the same incident, so it is recovered once.
"""

import dataclasses
import uuid
from dataclasses import dataclass, field

from schemas.records import EmitterIdentity, ErrorType, HealthReport, HealthStatus, TMCError

#: Event ids of incident errors: uuid5 of where the opening report was read, so a redelivered
#: report yields the same event id and triage drops it as an exact duplicate.
EVENT_NAMESPACE = uuid.UUID("5a0c7d52-7f7e-4c4e-9d7b-2f1e8f0c6a11")
OPERATION = "health_check"


def report_key(report: HealthReport) -> bytes:
    """The health topic's key, the errors topic's rule: the cluster, else the component. The
    error an incident becomes has the same key, so it stays on the same partition number."""
    return (report.cluster_name or report.component).encode()


def component_of(report: HealthReport) -> str:
    """Who is in an incident: a component per cluster (a syncer runs in each)."""
    return f"{report.cluster_name or ''}~{report.component}"


@dataclass
class Incidents:
    """The components in an incident now, among those whose reports this worker reads."""

    open: set[str] = field(default_factory=set)

    def opens(self, report: HealthReport) -> bool:
        """Take ``report`` in; true when it opens an incident (its component's first
        Unhealthy report since it was last Healthy, or since this worker started)."""
        component = component_of(report)
        if report.status is HealthStatus.HEALTHY:
            self.open.discard(component)
            return False
        if report.status is not HealthStatus.UNHEALTHY or component in self.open:
            return False
        self.open.add(component)
        return True


def incident_error(report: HealthReport, source: str, emitter: EmitterIdentity) -> TMCError:
    """The ComponentUnhealthy error the report opening an incident becomes, read at
    ``source`` (topic:partition:offset), sent as ``emitter``. Retryable: an unhealthy
    component is a transient fault that the Generic strategy checks and hands back, not
    one to escalate unseen."""
    builder = (
        TMCError.build(ErrorType.COMPONENT_UNHEALTHY, report.component, OPERATION)
        .with_message(report.message or f"{report.component} reported Unhealthy")
        .with_retryable(True)
        .with_timestamp(report.observed_at)
        .with_context("health.instance", report.instance)
    )
    for check in report.checks:
        if check.status is HealthStatus.UNHEALTHY:
            builder.with_context(f"health.check.{check.name}", check.message or check.status)
    if report.cluster_name is not None:
        builder.with_cluster(report.cluster_name)
    event_id = str(uuid.uuid5(EVENT_NAMESPACE, source))
    return dataclasses.replace(builder.build(), event_id=event_id, emitter=emitter)
