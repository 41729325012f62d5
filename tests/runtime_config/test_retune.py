"""What a runtime apply changes, and what a refused one leaves alone: the registry, the
executor's bound and timeouts, the follower's handling of each record, and `config show`."""

import asyncio
from datetime import timedelta

import pytest

from schemas.records import ErrorType, RecoveryState, TMCError
from strategies.registry import StrategyRegistry, StrategyRegistryError
from strategies.settings import StrategySettings
from streams.config import ExecutionSettings, ServiceSettings, Tunables
from streams.execution import RecoveryExecutor
from streams.execution.slots import Slots
from streams.runtime_config.follower import ConfigFollower
from streams.runtime_config.record import Applied
from streams.runtime_config.resolve import resolve
from streams.runtime_config.show import effective_view
from tests.execution.conftest import FAST_RETRY
from tests.execution.support import HANG, Recorder, Scripted, eventually, recovery
from tests.strategies.planned import Generic, planned

SYNC = (
    TMCError.build(ErrorType.SYNC_FAILURE, "syncer", "op")
    .with_cluster("edge-1")
    .with_retryable(True)
    .build()
)


def _registry() -> StrategyRegistry:
    return StrategyRegistry(
        [
            planned("Sync", {ErrorType.SYNC_FAILURE}, 50),
            planned("SyncTurbo", {ErrorType.SYNC_FAILURE}, 40),
            Generic(),
        ]
    )


def test_reconfigure_changes_selection_and_the_shared_timeouts_in_place() -> None:
    registry = _registry()
    timeouts = registry.timeouts
    assert registry.select(SYNC).name == "Sync"  # type: ignore[union-attr]
    registry.reconfigure(
        {
            "Sync": StrategySettings(priority=10, timeout_s=5),
            "SyncTurbo": StrategySettings(max_attempts=7),
        }
    )
    chosen = registry.select(SYNC)
    assert chosen is not None
    assert (chosen.name, chosen.max_attempts) == ("SyncTurbo", 7)
    assert timeouts is registry.timeouts
    assert timeouts["Sync"] == timedelta(seconds=5)
    registry.reconfigure(
        {"Sync": StrategySettings(enabled=False), "SyncTurbo": StrategySettings(enabled=False)}
    )
    assert registry.select(SYNC).name == "Generic"  # type: ignore[union-attr]
    assert timeouts["Sync"] == timedelta(minutes=2), "back to its own"


def test_a_refused_reconfigure_changes_nothing() -> None:
    registry = _registry()
    with pytest.raises(StrategyRegistryError, match=r"strategies\.Nope names no registered"):
        registry.reconfigure({"Sync": StrategySettings(enabled=False), "Nope": StrategySettings()})
    assert registry.select(SYNC).name == "Sync"  # type: ignore[union-attr]


async def test_slots_grow_at_once_and_shrink_as_holders_leave() -> None:
    slots, inside, release = Slots(1), [], asyncio.Event()

    async def hold(name: str) -> None:
        async with slots:
            inside.append(name)
            await release.wait()
            inside.remove(name)

    tasks = [asyncio.create_task(hold(f"t{i}")) for i in range(4)]
    await eventually(lambda: len(inside) == 1)
    slots.resize(3)
    await eventually(lambda: len(inside) == 3)
    slots.resize(1)
    release.set()
    await asyncio.gather(*tasks)
    assert slots.used == 0


async def test_a_cancelled_waiter_passes_its_wake_up_on() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    first = asyncio.create_task(slots.__aenter__())
    second = asyncio.create_task(slots.__aenter__())
    await asyncio.sleep(0)
    await slots.__aexit__(None, None, None)  # wakes ``first`` ...
    first.cancel()  # ... which is cancelled before it runs
    await asyncio.wait_for(second, 1)
    assert slots.used == 1


async def test_the_executor_runs_more_at_once_after_a_resize_and_reads_timeouts_live() -> None:
    strategy, recorder = Scripted(HANG), Recorder()
    timeouts = {"Probe": timedelta(seconds=30)}
    executor = RecoveryExecutor(
        {"Probe": strategy},
        recorder,
        ExecutionSettings(max_concurrent=1),
        FAST_RETRY,
        timeouts=timeouts,
    )
    try:
        for i in range(3):
            await executor.submit(recovery(f"r{i}", target=f"c{i}"))
        await eventually(lambda: executor.running == 1)
        timeouts["Probe"] = timedelta(milliseconds=50)
        executor.resize(3)
        await eventually(lambda: executor.running == 3)
        timed_out = await recorder.reached("r2", RecoveryState.TIMEOUT)
        assert timed_out.transitions[-1].reason == "timed out after 0.05s"
    finally:
        await executor.close()


def _follower(applied: list[Tunables]) -> ConfigFollower:
    strategies = [planned("Sync", {ErrorType.SYNC_FAILURE}, 50), Generic()]

    def retune(tunables: Tunables) -> None:
        resolve(tunables, strategies)
        applied.append(tunables)

    return ConfigFollower("127.0.0.1:1", "t", 1, retune)


def test_the_follower_puts_a_good_record_in_force_and_refuses_a_bad_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    applied: list[Tunables] = []
    follower = _follower(applied)
    good = Applied({"recoveryManager": {"maxConcurrentRecoveries": 2}}, by="alice")
    assert follower.receive(good.value())
    assert follower.in_force == good
    bad = [
        Applied({"recoveryManager": {"retryAttempts": 0}}).value(),
        Applied({"strategies": {"Nope": {}}}).value(),
        b"not json",
        None,
    ]
    assert [follower.receive(raw) for raw in bad] == [False] * 4
    assert follower.in_force == good
    assert [t.recoveryManager.maxConcurrentRecoveries for t in applied] == [2]
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "recoveryManager.retryAttempts" in refusals[0]
    assert "strategies.Nope names no registered strategy" in refusals[1]


def test_show_masks_tokens_and_url_credentials() -> None:
    settings = ServiceSettings.model_validate(
        {
            "api": {"tokens": {"alice": {"token": "secret-token-0123456789", "role": "operate"}}},
            "codec": {"registry_url": "https://svc:hunter2@registry:8081"},
        }
    )
    strategies = [planned("Sync", {ErrorType.SYNC_FAILURE}, 50)]
    view = effective_view(settings, resolve(settings, strategies), None)
    assert view["api"]["tokens"]["alice"]["token"] == "**********"
    assert view["codec"]["registry_url"] == "https://**********@registry:8081"
    assert view["strategies"]["Sync"]["priority"] == 50
    assert "secret-token" not in str(view)
    assert "hunter2" not in str(view)
