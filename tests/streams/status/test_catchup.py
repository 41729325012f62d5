"""The catch-up gate: pure bookkeeping of offsets and rebalances, no Kafka."""

import asyncio

from streams.status.catchup import CatchUp


async def _opened(catchup: CatchUp, partition: int) -> bool | None:
    """What ``wait`` answered, or None if it is still waiting."""
    waiter = asyncio.ensure_future(catchup.wait(partition))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    if not waiter.done():
        waiter.cancel()
        return None
    return waiter.result()


async def test_opens_only_once_recovered_and_projected_to_the_end_offset() -> None:
    catchup = CatchUp()
    catchup.revoke()
    catchup.assign({0, 1})
    catchup.set_targets({0: 5, 1: 0}, {0: 2, 1: None})
    assert await _opened(catchup, 0) is None
    assert await _opened(catchup, 1) is None, "tables not recovered yet"

    assert not catchup.is_open(1)
    catchup.recovered()
    assert await _opened(catchup, 1) is True
    assert catchup.is_open(1)
    assert await _opened(catchup, 0) is None
    assert not catchup.is_open(0)
    assert catchup.is_open(7), "not owned: nothing of it is read"
    catchup.projected(0, 3)
    assert await _opened(catchup, 0) is None, "offset 4 is still unprojected"
    catchup.projected(0, 4)
    assert await _opened(catchup, 0) is True
    assert await _opened(catchup, 1) is True, "every owned partition is caught up"


async def test_a_committed_offset_at_the_end_needs_no_records() -> None:
    catchup = CatchUp()
    catchup.assign({3})
    catchup.recovered()  # Faust may report recovery before the targets are known
    catchup.set_targets({3: 40}, {3: 40})
    assert await _opened(catchup, 3) is True


async def test_under_exactly_once_the_last_offset_is_a_commit_marker() -> None:
    catchup = CatchUp(exactly_once=True)
    catchup.assign({0})
    catchup.recovered()
    catchup.set_targets({0: 10}, {0: None})
    catchup.projected(0, 7)
    assert await _opened(catchup, 0) is None
    catchup.projected(0, 8)  # offset 9 is the marker, never delivered
    assert await _opened(catchup, 0) is True


async def test_a_rebalance_tells_waiters_the_partition_is_not_theirs() -> None:
    catchup = CatchUp()
    catchup.assign({0})
    waiter = asyncio.ensure_future(catchup.wait(0))
    await asyncio.sleep(0)
    generation = catchup.generation

    catchup.revoke()
    catchup.assign({0})  # the same partition again: a new gate, closed
    assert await waiter is False
    assert catchup.generation != generation
    assert await _opened(catchup, 0) is None
    assert await _opened(catchup, 7) is False, "never owned"


async def test_records_of_unowned_partitions_and_late_targets_are_ignored() -> None:
    catchup = CatchUp()
    catchup.assign({0})
    catchup.recovered()
    catchup.projected(5, 100)
    catchup.revoke()
    catchup.set_targets({0: 1}, {0: 1})  # measured for an assignment that is gone
    assert await _opened(catchup, 0) is False, "no longer owned"


async def test_lagging_partitions_say_how_far_they_are_and_wait_all_times_out() -> None:
    catchup = CatchUp()
    catchup.assign({0, 1, 2})
    catchup.recovered()
    assert catchup.lagging() == {0: (0, None), 1: (0, None), 2: (0, None)}
    catchup.set_targets({0: 2, 1: 2, 2: 4}, {0: 2, 1: 2, 2: 1})
    assert catchup.lagging() == {2: (1, 4)}
    assert await catchup.wait_all({0, 1, 2}, timeout_s=0.01) is False
    catchup.projected(2, 3)
    assert catchup.lagging() == {}
    assert await catchup.wait_all({0, 1, 2}, timeout_s=0.01) is True
