"""Durable execution of recoveries: bounded concurrency, one per target, timeout, retry, cancel.

Reading map: ``agent.py`` (the request agents: submit and cancel), ``executor.py`` (drives each
recovery to a terminal state, once admitted), ``attempt.py`` (one bounded attempt),
``lifecycle.py`` (the records of each transition), ``approval.py`` (destructive actions that
wait for an operator), ``stale.py`` (old errors re-verified before acting), ``backoff.py``,
``publisher.py`` (retried publishing), ``keyed_fifo.py`` (one recovery per target at a time),
``slots.py`` (the concurrency bound, resizable at runtime) and ``cluster_events.py`` (opt-in
core/v1 Events on the cluster's SyncTarget).

The Kafka agent that receives a recovery request only calls :meth:`RecoveryExecutor.submit`,
which returns at once; the slow work runs in background tasks here, because faust agents that
ack work must stay at concurrency 1 and must not block their partition (NOTES.md, faust #606).

Lifecycle (each arrow is one published RecoveryResult with an appended StateTransition):

- Pending → InProgress (attempt 1) → Completed, with the strategy's outcome.
- An attempt that raises (RecoveryFailed or any exception), or returns success=False, records
  Failed. One that outlives its timeout (the strategy's ``timeout``, or the configured value
  passed in ``timeouts``) records Timeout; the strategy sees the timeout as cancellation.
  Failed and Timeout are per-attempt outcomes, never endings; each is followed at once by:
  - RetryScheduled, with ``retry_due_at`` = now + backoff, when attempts remain
    (``context.max_attempts`` is authoritative) and the failure is retryable; then, once due,
    InProgress for attempt + 1;
  - Escalated otherwise, e.g. "Migration recovery failed after 3 attempts: rollback required"
    (the last failure's message; "(not retryable)" after the count for a
    ``RecoveryFailed(retryable=False)``).
- Terminal states are Completed, Cancelled and Escalated only; ``end_time`` is set on them.
- cancel() → Cancelled from any non-terminal state; release()/close() stop without publishing.

Resuming a record read back from the status table (after a crash or a rebalance):

- Pending: as above.
- InProgress: the same attempt runs again (strategies are idempotent); nothing new is published
  until its outcome.
- RetryScheduled: waits until ``retry_due_at`` without holding a concurrency slot.
- AwaitingApproval: waits for an approve command (``approve``) until the deadline its record
  fixes, without a slot (approval.py); then the same attempt runs again, or it escalates.
- Failed/Timeout (a crash between the two records): retry or escalate as above; retryability
  is read back from the Failed reason (prefix "not retryable: ").
- Terminal, or a state this version does not know: nothing to do.

Scheduling: at most ``max_concurrent`` attempts run at once, each holding a slot from its
InProgress record until its outcome is published; the rest wait in a backlog, never rejected.
Recoveries for the same (strategy, target) run one after another in submission order, the
first holding its target through its retry waits; different targets only share the
concurrency bound, so a hung cluster delays no other. An unknown strategy name escalates at
once.

Gates: just before each attempt the executor asks the operators' switches (streams/control/).
While the fleet is paused the attempt waits, its recovery recorded once as held (Waiting
before its first attempt, else the same state again; the reason names who paused and why),
and runs after the resume; a strategy in shadow mode runs dry (``ExecutionContext.dry_run``)
and its outcome says it was a shadow run. With ``admission.enabled``, a recovery that acts
(not dry, not shadow) first waits for a fleet-wide grant (streams/admission/), outside the
concurrency slots: held by a cap or a storm it shows as Waiting with the reason; the one
whose ask tipped a storm ends Escalated (gate ``storm``); its grant is released just before
its terminal record.

Stale errors (``stale.py``): a recovery whose error was older than
``execution.stale_after_s`` at its first attempt re-verifies the fault (read-only,
``RecoveryStrategy.verify``) at the start of every attempt, within the attempt's timeout; its
InProgress reason says so, and ``tmc_stale_errors_total{strategy}`` counts it once. A fault
that is gone completes the recovery without acting ("fault no longer present (stale error
re-verified): ..."); one still present lets the attempt act, its first action saying what was
seen; a strategy that cannot tell fails the attempt for good ("stale: could not re-verify"),
which escalates.

Throttling: each attempt's gateway calls wait for their turn (a rate limit, a 429) only until
the attempt's timeout (``strategies.gateway.calls_until``), then fail as ``Throttled``.

Publishing: the executor writes no table and no topic itself; it hands each record to the
``publish`` callback, in order per recovery. A failing publish is logged with the recovery id
and retried with backoff a bounded number of times; then the record is kept in ``unpublished``
and the lifecycle goes on: every record carries the full transition history, so the next
published one heals the gap.
"""

from streams.execution.backoff import retry_delay
from streams.execution.executor import RecoveryExecutor
from streams.execution.publisher import Publish

__all__ = ["Publish", "RecoveryExecutor", "retry_delay"]
