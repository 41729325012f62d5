import asyncio

from streams.execution.keyed_fifo import KeyedFifo


async def test_holders_of_one_key_take_turns_in_arrival_order() -> None:
    fifo = KeyedFifo()
    order: list[str] = []
    first_in = asyncio.Event()
    let_go = asyncio.Event()

    async def holder(name: str) -> None:
        async with fifo.hold("cluster-a"):
            order.append(name)
            if name == "first":
                first_in.set()
                await let_go.wait()

    tasks = [asyncio.create_task(holder(name)) for name in ("first", "second", "third")]
    await first_in.wait()
    await asyncio.sleep(0.01)
    assert order == ["first"]
    let_go.set()
    await asyncio.gather(*tasks)
    assert order == ["first", "second", "third"]


async def test_a_cancelled_waiter_does_not_block_the_next() -> None:
    fifo = KeyedFifo()
    release_first = asyncio.Event()
    third_in = asyncio.Event()

    async def first() -> None:
        async with fifo.hold("k"):
            await release_first.wait()

    async def waiter(entered: asyncio.Event | None) -> None:
        async with fifo.hold("k"):
            if entered is not None:
                entered.set()

    holding = asyncio.create_task(first())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(waiter(None))
    patient = asyncio.create_task(waiter(third_in))
    await asyncio.sleep(0)
    doomed.cancel()
    release_first.set()

    await asyncio.wait_for(third_in.wait(), 5.0)
    await asyncio.gather(holding, patient)
    assert doomed.cancelled()


async def test_other_keys_are_independent() -> None:
    fifo = KeyedFifo()
    async with fifo.hold("a"):
        await asyncio.wait_for(_enter(fifo, "b"), 5.0)


async def _enter(fifo: KeyedFifo, key: str) -> None:
    async with fifo.hold(key):
        pass
