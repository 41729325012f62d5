"""The executor's side of admission: ask for a grant before acting, release it at the end.

A recovery that acts on a cluster asks once (an ``Ask`` on the admission topic) and waits
for the owner's answer on the grants topic (view.py): granted, it goes on (a disruptive one
first reads the answers to their end, so a storm declared before it acts is seen); waiting, its
reason is recorded once (the recovery shows as Waiting); escalate, it ends Escalated with
the storm's reason. While a storm is on, a disruptive recovery's later attempts wait too,
so none runs during the storm. The grant is released just before the recovery's terminal
record, so a crash in between leaves a recovery that is resumed, asks again as ``resumed``
and is granted at once: no grant outlives its recovery, and none is lost."""

import logging
from collections.abc import Awaitable, Callable, Collection

from faust.types import TopicT

from schemas.records import RecoveryResult, RecoveryState
from streams.admission.records import ADMISSION_KEY, Ask, Op, Verdict, grant_key
from streams.admission.view import GrantView
from streams.out_of_band import OutOfBand

log = logging.getLogger(__name__)

OnWait = Callable[[str], Awaitable[None]]


class AdmissionGate:
    def __init__(
        self,
        view: GrantView,
        topic: TopicT,
        out_of_band: OutOfBand,
        storm_strategies: Collection[str],
    ) -> None:
        self._view, self._topic, self._out = view, topic, out_of_band
        self._storm_strategies = storm_strategies

    async def until_granted(self, recovery: RecoveryResult, on_wait: OnWait) -> str | None:
        """None once ``recovery`` may act; else the reason it must escalate instead."""
        key = grant_key(recovery.kafka_key().decode(), recovery.id)
        disruptive = recovery.strategy in self._storm_strategies
        asked = confirmed = False
        while True:
            change = self._view.next_change(key)
            grant = self._view.grants.get(key) if self._view.loaded else None
            storm = self._view.storm if self._view.storm_on else None
            why = None
            if grant is not None and grant.verdict is Verdict.ESCALATE:
                return grant.reason
            if grant is not None and grant.verdict is Verdict.GRANTED:
                if storm is None and disruptive and not confirmed:
                    await self._view.caught_up()  # a storm declared before now is seen
                    confirmed = True
                    continue
                if storm is None or not disruptive:
                    return None
                why = f"storm mode: {storm.reason}"
            elif grant is not None:
                why = grant.reason
            elif self._view.loaded and not asked:
                await self._send(_ask(recovery))
                asked = True
            if why is not None:
                await on_wait(f"waiting: {why}")
            await change

    async def release(self, recovery: RecoveryResult) -> None:
        """A release that cannot be sent is logged and the recovery still ends; its grant
        then keeps its place in the count (the safe side: fewer start, never more)."""
        try:
            await self._send(_ask(recovery, Op.RELEASE))
        except Exception:
            log.exception("admission: release of %s not sent; its grant stays", recovery.id)

    async def _send(self, ask: Ask) -> None:
        await self._out.send(self._topic, ADMISSION_KEY, ask.encode())


def _ask(recovery: RecoveryResult, op: Op = Op.ASK) -> Ask:
    acted = any(t.state is RecoveryState.IN_PROGRESS for t in recovery.transitions)
    return Ask(
        op=op,
        recovery_id=recovery.id,
        cluster=recovery.kafka_key().decode(),
        logical_cluster=recovery.context.logical_cluster or recovery.error.logical_cluster or "",
        strategy=recovery.strategy,
        error_type=recovery.error.type.value,
        resumed=acted,
    )
