"""What an attempt really did, kept as it goes, so its outcome (or its failure) reports
actions, next steps and metrics from the facts rather than from a script.

``gateway_failures`` turns the gateway's typed errors into RecoveryFailed: an unknown
cluster, a refused identity (401) or a denied one (403) cannot be fixed by retrying the
same strategy, so they fail for good with next steps; everything else is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from schemas.records import RecoveryOutcome
from strategies.base import RecoveryFailed
from strategies.gateway import Forbidden, GatewayError, Unauthorized, UnknownCluster

log = logging.getLogger(__name__)

DRY_RUN_NEXT_STEP = "run without dry-run to apply the planned actions"


@dataclass
class Journal:
    recovery_id: str
    actions: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    def did(self, action: str) -> None:
        self.actions.append(action)
        log.info("%s: %s", self.recovery_id, action)

    def count(self, metric: str, by: float = 1.0) -> None:
        self.metrics[metric] = self.metrics.get(metric, 0.0) + by

    def failed(
        self, message: str, *, retryable: bool, next_steps: tuple[str, ...] = ()
    ) -> RecoveryFailed:
        return RecoveryFailed(message, tuple(self.actions), retryable, next_steps)

    def healed(self, message: str, next_steps: tuple[str, ...] = ()) -> RecoveryOutcome:
        return RecoveryOutcome(
            success=True,
            message=message,
            actions=tuple(self.actions),
            next_steps=next_steps,
            metrics=dict(self.metrics),
        )

    def planned(self, finding: str, steps: list[str]) -> RecoveryOutcome:
        """A dry run's outcome: what was read, and each action a real attempt would take."""
        return RecoveryOutcome(
            success=True,
            message=f"dry run: {finding}; nothing was changed",
            actions=(*self.actions, *(f"would {step}" for step in steps)),
            next_steps=(DRY_RUN_NEXT_STEP,),
            metrics=dict(self.metrics),
        )


@contextmanager
def gateway_failures(journal: Journal, doing: str) -> Iterator[None]:
    """Run gateway calls for ``doing`` (e.g. "merging deployments.apps shop/web")."""
    try:
        yield
    except UnknownCluster as exc:
        steps = (f"add cluster {exc.cluster} to the fleet file, or fix the error's cluster name",)
        raise journal.failed(f"{doing}: {exc}", retryable=False, next_steps=steps) from exc
    except Unauthorized as exc:
        steps = ("issue a new token for tmc-recovery and write it where the fleet file points",)
        raise journal.failed(f"{doing}: {exc}", retryable=False, next_steps=steps) from exc
    except Forbidden as exc:
        steps = ("grant tmc-recovery's service account the RBAC the operation needs",)
        raise journal.failed(f"{doing}: {exc}", retryable=False, next_steps=steps) from exc
    except GatewayError as exc:
        raise journal.failed(f"{doing}: {exc}", retryable=True) from exc
