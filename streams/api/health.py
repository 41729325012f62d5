"""The Go design's health rules, for one worker: pure, so each rule is tested on its own.

- not consuming (out of the group, or its tables not recovered and caught up): Unhealthy;
- success rate below 0.5: Unhealthy; below 0.8: Degraded;
- at capacity (running recoveries >= max concurrent): Degraded.
The success rate is completed / (completed + escalated) over the recoveries of the
partitions this worker owns; cancelled ones are an operator's choice, not a failure, and
with no ending yet the rate is 1.0 (a fresh worker is not unhealthy).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEGRADED_BELOW = 0.8
UNHEALTHY_BELOW = 0.5


class Health(StrEnum):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"


@dataclass(frozen=True)
class HealthInputs:
    consuming: bool
    running: int
    max_concurrent: int
    attempts: int
    successes: int
    failures: int

    @property
    def success_rate(self) -> float:
        ended = self.successes + self.failures
        return 1.0 if ended == 0 else self.successes / ended


def assess(inputs: HealthInputs) -> dict[str, Any]:
    """The health verdict, the reasons for it, and the figures it was judged on."""
    rate = inputs.success_rate
    reasons = []
    if not inputs.consuming:
        reasons.append("not consuming: out of the group, or tables not recovered")
    if rate < DEGRADED_BELOW:
        reasons.append(f"success rate {rate:.2f} below {DEGRADED_BELOW}")
    if inputs.running >= inputs.max_concurrent:
        reasons.append(f"at capacity: {inputs.running} of {inputs.max_concurrent} running")
    if not inputs.consuming or rate < UNHEALTHY_BELOW:
        verdict = Health.UNHEALTHY
    elif reasons:
        verdict = Health.DEGRADED
    else:
        verdict = Health.HEALTHY
    return {
        "status": verdict.value,
        "reasons": reasons,
        "details": {
            "consuming": inputs.consuming,
            "activeRecoveries": inputs.running,
            "maxConcurrentRecoveries": inputs.max_concurrent,
            "recoveryAttempts": inputs.attempts,
            "successfulRecoveries": inputs.successes,
            "failedRecoveries": inputs.failures,
            "successRate": round(rate, 4),
        },
    }
