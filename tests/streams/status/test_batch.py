"""The status projection in batches, over plain dicts standing in for the tables: every
record of a batch is applied, and closing it writes each row and each summary once."""

import dataclasses
from collections import Counter
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from schemas.codec import RecordCodec
from schemas.records import ClusterStatus, RecoveryResult, RecoveryState
from streams.config import ServiceSettings
from streams.metrics import Metrics
from streams.partitioning import row_key
from streams.status.agent import ResultsAgent
from streams.status.catchup import CatchUp
from streams.status.reads import StatusReads
from tests.schemas.examples import T0, recovery_result

S = RecoveryState
RESULTS = RecordCodec(RecoveryResult)
SUMMARIES = RecordCodec(ClusterStatus)


class CountingTable(dict[str, bytes]):
    """A table that counts the writes of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: Counter[str] = Counter()

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes[key] += 1
        super().__setitem__(key, value)


def shared() -> Any:
    status, summaries = CountingTable(), CountingTable()
    no_claims = SimpleNamespace(current_claim=lambda strategy, target: None)
    return SimpleNamespace(
        settings=ServiceSettings(),
        metrics=Metrics(),
        clock=lambda: T0.timestamp() + 60,
        tables=SimpleNamespace(status=status, summaries=summaries),
        results=RESULTS,
        summaries=SUMMARIES,
        dedup=lambda partition, cluster: no_claims,
        reads=StatusReads.over(status, summaries, RESULTS, SUMMARIES),
        catchup=CatchUp(),
    )


def steps(recovery_id: str) -> list[RecoveryResult]:
    """A recovery's Pending, InProgress and Completed records, as the results topic has them."""
    done = recovery_result(recovery_id=recovery_id, state=S.COMPLETED)
    done = dataclasses.replace(done, merged_error_ids=(), merged_count=0)
    pending = dataclasses.replace(
        done, state=S.PENDING, end_time=None, result=None, transitions=done.transitions[:1]
    )
    running = dataclasses.replace(pending, state=S.IN_PROGRESS, transitions=done.transitions[:2])
    return [pending, running, done]


class Consumer:
    """Notes the messages abandoned to it."""

    def __init__(self) -> None:
        self.abandoned: list[Any] = []

    def abandon(self, message: Any) -> None:
        self.abandoned.append(message)


class Event:
    def __init__(self, partition: int, offset: int) -> None:
        tp = TP("tmc.recovery.results", partition)
        self.message = SimpleNamespace(tp=tp, partition=partition, offset=offset)
        self.app = SimpleNamespace(consumer=Consumer())
        self.acked = False

    def ack(self) -> None:
        self.acked = True


async def test_a_batch_writes_each_row_and_summary_once_then_acks() -> None:
    p = shared()
    agent = ResultsAgent(p)
    batch = agent._batch()
    records = [*steps("rec-1"), *steps("rec-2")]
    events = [Event(0, offset) for offset in range(len(records))]
    for offset, (record, event) in enumerate(zip(records, events, strict=True)):
        agent.apply(batch, record, partition=0)
        batch.projected[0] = offset
        await agent._add(batch, event)  # type: ignore[arg-type]
    assert p.tables.status == {}, "nothing is written before the close"
    assert not any(e.acked for e in events)

    await agent._close_open()

    rows = {key: RESULTS.decode(raw) for key, raw in p.tables.status.items()}
    assert {row.id: row.state for row in rows.values()} == {
        "rec-1": S.COMPLETED,
        "rec-2": S.COMPLETED,
    }
    assert p.tables.status.writes == {row_key("edge-1", "rec-1"): 1, row_key("edge-1", "rec-2"): 1}
    assert p.tables.summaries.writes == {"edge-1": 1}, "six records, one summary write"
    summary = SUMMARIES.decode(p.tables.summaries["edge-1"])
    assert summary.active_recoveries == ()
    assert all(e.acked for e in events)


async def test_escalations_go_out_only_once_their_rows_are_on_the_broker() -> None:
    """A worker killed between the two would send an escalation whose row it lost; the next
    owner, projecting the record again, would page a second time."""
    p = shared()
    done: list[str] = []

    class Journal(CountingTable):
        def __setitem__(self, key: str, value: bytes) -> None:
            done.append("row written")
            super().__setitem__(key, value)

    async def producer_flush() -> None:
        done.append("producer flushed")

    async def send(key: bytes, value: bytes) -> None:
        done.append(f"sent escalation {RESULTS.decode(value).id}")

    p.tables.status = Journal()
    p.app = SimpleNamespace(producer=SimpleNamespace(flush=producer_flush))
    p.topics = SimpleNamespace(escalations=SimpleNamespace(send=send))
    agent = ResultsAgent(p)
    escalated = dataclasses.replace(steps("rec-1")[2], state=S.ESCALATED)

    await project(agent, escalated)

    assert done == ["row written", "producer flushed", "sent escalation rec-1"]


async def test_a_batch_begun_before_a_rebalance_writes_and_acks_nothing_and_abandons() -> None:
    """Its events are read again by their partitions' next owner; the consumer stops waiting
    for them, or the next revoke would wait for good (streams/safe_offsets.py)."""
    p = shared()
    agent = ResultsAgent(p)
    batch = agent._batch()
    event = Event(0, 0)
    agent.apply(batch, steps("rec-1")[0], partition=0)
    await agent._add(batch, event)  # type: ignore[arg-type]
    p.catchup.revoke()

    await agent._close_open()

    assert (p.tables.status, p.tables.summaries, event.acked) == ({}, {}, False)
    assert event.app.consumer.abandoned == [event.message]
    assert agent._batch() is not batch


async def project(agent: ResultsAgent, *records: RecoveryResult) -> None:
    """One batch of ``records`` on partition 0, closed."""
    batch = agent._batch()
    for offset, record in enumerate(records):
        agent.apply(batch, record, partition=0)
        await agent._add(batch, Event(0, offset))  # type: ignore[arg-type]
    await agent._close_open()


async def test_a_record_read_again_mends_a_summary_that_lost_a_live_row() -> None:
    """A crash kept the row's write and lost the summary's; a restart resumes only what the
    summaries list as active, so the row must be listed again when its record comes back."""
    p = shared()
    agent = ResultsAgent(p)
    pending = steps("rec-1")[0]
    await project(agent, pending)
    del p.tables.summaries["edge-1"]  # the summary's changelog write never got out

    await project(agent, pending)  # the record is read again: the row is unchanged

    summary = SUMMARIES.decode(p.tables.summaries["edge-1"])
    assert [a.recovery_id for a in summary.active_recoveries] == ["rec-1"]
    assert summary.counts.started == 1


async def test_a_record_read_again_counts_an_ending_its_summary_missed_once() -> None:
    p = shared()
    agent = ResultsAgent(p)
    pending, running, done = steps("rec-1")
    await project(agent, pending, running)
    before_the_ending = p.tables.summaries["edge-1"]
    await project(agent, done)
    p.tables.summaries["edge-1"] = before_the_ending  # the ending's summary write was lost

    await project(agent, done)
    await project(agent, done)  # and once more: nothing left to mend

    summary = SUMMARIES.decode(p.tables.summaries["edge-1"])
    assert summary.active_recoveries == ()
    assert (summary.counts.started, summary.counts.completed) == (1, 1)
    assert p.tables.summaries.writes["edge-1"] == 4, "the last read-again changed nothing"
