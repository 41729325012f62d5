"""Injected faults: what an endpoint does to the requests it receives.

A fault applies to the next ``for_requests`` requests (all of them when unset), after which
the endpoint is healthy again, so "down for 3 probes" models a cluster that recovers while a
strategy retries. ``flap`` alternates down and healthy, starting down. ``throttle`` answers
429 TooManyRequests to each affected request; ``rate_limit`` only to requests beyond ``qps``
a second (bursts of ``qps``, at least one), as an API server's priority and fairness would.
Both say ``Retry-After: delay_s`` in whole seconds (``retry_after: date`` as an HTTP date,
``none`` leaves the header out).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FaultMode(StrEnum):
    HEALTHY = "healthy"
    DOWN = "down"  # 503 ServiceUnavailable, like a load balancer with no live API server
    HANG = "hang"  # accepts the request and never answers (until the simulator stops)
    SLOW = "slow"  # answers normally after delay_s
    FLAP = "flap"  # down, healthy, down, ...
    ERROR500 = "error500"  # 500: readyz checks failing (etcd), InternalError elsewhere
    CONFLICT = "conflict"  # control plane only: writes get 409 Conflict
    THROTTLE = "throttle"  # 429 TooManyRequests with Retry-After: delay_s (whole seconds)
    RATE_LIMIT = "rate_limit"  # throttle only what exceeds qps requests a second


class FaultSpec(BaseModel):
    """The admin API's request body (``POST /_sim/.../faults``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: FaultMode
    for_requests: int | None = Field(default=None, ge=1)
    delay_s: float = Field(default=1.0, ge=0, le=300)
    qps: float = Field(default=1.0, gt=0, le=10_000)
    retry_after: Literal["seconds", "date", "none"] = "seconds"


@dataclass
class Fault:
    """A FaultSpec being served, with the count of requests it has affected."""

    spec: FaultSpec
    served: int = 0
    _tokens: float = field(default=-1.0, repr=False)  # rate_limit's bucket; full at first
    _updated: float = field(default_factory=time.monotonic, repr=False)

    def take(self, *, write: bool) -> FaultMode:
        """How to treat the next request; conflicts only affect (and count) writes."""
        spec = self.spec
        if spec.mode is FaultMode.CONFLICT and not write:
            return FaultMode.HEALTHY
        if spec.mode is FaultMode.HEALTHY or (
            spec.for_requests is not None and self.served >= spec.for_requests
        ):
            return FaultMode.HEALTHY
        self.served += 1
        if spec.mode is FaultMode.FLAP:
            return FaultMode.DOWN if self.served % 2 else FaultMode.HEALTHY
        if spec.mode is FaultMode.RATE_LIMIT:
            return FaultMode.HEALTHY if self._admit() else FaultMode.THROTTLE
        return spec.mode

    def _admit(self) -> bool:
        """rate_limit: whether a token of its bucket (``qps`` a second) is left for this one."""
        burst = max(1.0, self.spec.qps)
        now = time.monotonic()
        if self._tokens < 0:
            self._tokens = burst
        self._tokens = min(burst, self._tokens + (now - self._updated) * self.spec.qps)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def active(self) -> bool:
        """Whether the fault still affects requests (it has not worn off)."""
        spec = self.spec
        if spec.mode in (FaultMode.HEALTHY, FaultMode.CONFLICT):
            return False
        return spec.for_requests is None or self.served < spec.for_requests

    def describe(self) -> dict[str, object]:
        return {**self.spec.model_dump(mode="json"), "served": self.served}


def healthy() -> Fault:
    return Fault(FaultSpec(mode=FaultMode.HEALTHY))
